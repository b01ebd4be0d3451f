from fcn_studio.cli import main

raise SystemExit(main())

"""`python -m fcn_studio.training SOURCE ...`: the training backend the app starts, the CLI calls, and
`torchrun --nproc_per_node=N -m fcn_studio.training` runs on several GPUs."""

import sys

from fcn_studio.training.runner import main

sys.exit(main(sys.argv[1:]))

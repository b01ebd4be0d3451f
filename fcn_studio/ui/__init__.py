from fcn_studio.ui import pyside_none  # noqa: F401,E402 - before any Qt call (see the module)

"""Starts the desktop app: logging, the exception dialog, the main window, and what was asked to open."""

from __future__ import annotations

import sys
import threading
from contextlib import suppress
from pathlib import Path

from PySide6.QtWidgets import QApplication

from fcn_studio.ui.errors import install_excepthook, setup_logging


def warm_up_torch() -> None:
    """Imports PyTorch before the window shows. Imported later from a worker, its C extension holds
    the GIL for a quarter of a second at a time and the window freezes; at start-up it only delays
    the first frame."""
    import fcn_studio.inference.predictor  # noqa: F401, PLC0415
    import fcn_studio.model.factory  # noqa: F401, PLC0415


def warm_up_torchvision() -> threading.Thread:
    """Imports torchvision's models (the light backbones) in a background thread once the window shows.
    The import takes about a second and its C extension holds the GIL for up to 130 ms at once; left to
    the first model made (the default model of a new project, in a worker), it froze the window while
    an image opened. Model files never need it to load (they are built lazily), so start-up does not
    wait for it."""

    def load() -> None:
        with suppress(Exception):  # a broken torchvision is reported when a model needs it
            import torchvision.models  # noqa: F401, PLC0415

    thread = threading.Thread(target=load, name="warm-up-torchvision", daemon=True)
    thread.start()
    return thread


def run_app(paths: list[str]) -> int:
    log_file = setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FCN Studio")
    app.setOrganizationName("FCN Studio")
    install_excepthook()
    warm_up_torch()
    from fcn_studio.ui.main_window import MainWindow  # noqa: PLC0415 (after QApplication exists)

    window = MainWindow()
    window.shut_down.connect(app.quit)  # the window hides at once on quitting; the app ends with its threads
    window.show()
    warm_up_torchvision()
    window.status.showMessage(f"Log: {log_file}", 5000)
    window.session_recovery.offer()  # a session left by a crash
    if paths:
        window.open_paths([Path(p) for p in paths])
    return app.exec()

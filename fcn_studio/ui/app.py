"""Starts the desktop app: logging, the exception dialog, garbage collection in the GUI thread, the main
window, and what was asked to open."""

from __future__ import annotations

import gc
import sys
import threading
from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from fcn_studio.ui.errors import install_excepthook, setup_logging


class GuiThreadCollector(QObject):
    """Python collects garbage in whichever thread allocates past its threshold. Collected in a worker,
    a plain widget (QWidget, QDialog, QMessageBox) is deleted later in the GUI thread, and every PySide6
    release from 6.6 to 6.12 runs that deletion while holding the GIL: a destructor that waits for a
    thread needing the GIL (~QThreadPool for a Python task, a Qt lock held by a worker calling into
    Python) then hangs the app for good. So automatic collection is off while this lives, and a timer
    collects in the GUI thread, where PySide gives the GIL up around destructors; the generations are
    collected when Python's own thresholds say, at most `interval_ms` late."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 250) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(interval_ms)

    def collect_due(self) -> int:
        """Collects the oldest generation due, as Python would (nothing while the youngest is not)."""
        count, threshold = gc.get_count(), gc.get_threshold()
        if count[0] <= threshold[0]:
            return 0
        generation = next(g for g in (2, 1, 0) if count[g] > threshold[g])
        return gc.collect(generation)

    def close(self) -> None:
        """Collects what is left, here, and gives collection back to Python."""
        self.timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


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


def start_message(paths: list[str], log_file: Path) -> tuple[str, int]:
    """The status line at start: for an empty window, where to begin and where the guide is (the
    canvas says it too); with something to open, where the log is."""
    if paths:
        return f"Log: {log_file}", 5000
    return ("New here? Help > Create Sample Project to try it; F1 lists every key and links to the user "
            "guide.", 20000)


def run_app(paths: list[str]) -> int:
    log_file = setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FCN Studio")
    app.setOrganizationName("FCN Studio")
    collector = GuiThreadCollector(app)  # before any thread starts: see the class
    install_excepthook()
    warm_up_torch()
    from fcn_studio.ui.window.main_window import MainWindow  # noqa: PLC0415 (after QApplication exists)

    window = MainWindow()
    window.shut_down.connect(app.quit)  # the window hides at once on quitting; the app ends with its threads
    window.show()
    warm_up_torchvision()
    window.status.showMessage(*start_message(paths, log_file))
    window.session_recovery.offer()  # a session left by a crash
    if paths:
        window.opening.open_paths([Path(p) for p in paths])
    code = app.exec()
    collector.close()
    return code

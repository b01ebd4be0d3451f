"""Every failure is logged to a file and shown to the person, and the app keeps running: an
uncaught exception becomes a dialog, not a silent exit."""

from __future__ import annotations

import logging
import sys
import traceback

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from fcn_studio.core.logfile import log_dir, setup_logging

__all__ = ["install_excepthook", "log_dir", "setup_logging", "show_error"]

log = logging.getLogger("fcn_studio")
_dialogs = True  # False: failures and notes go to the log only (a script or a benchmark drives the window)


def log_only(on: bool = True) -> None:
    """Failures and notes go to the log file only, without message boxes: for scripts and benchmarks
    that drive a real window with nobody to click OK (and for the tests)."""
    global _dialogs
    _dialogs = not on


def show_error(parent: QWidget | None, title: str, message: str, details: str | None = None) -> None:
    log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
    if QApplication.instance() is None or not _dialogs:
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=parent)
    if details:
        box.setDetailedText(details)
    box.setModal(True)
    box.open()


def show_info(parent: QWidget | None, title: str, message: str) -> None:
    """A non-blocking note (an import finished); not shown when dialogs are off (tests, scripts)."""
    log.info("%s: %s", title, message)
    if QApplication.instance() is None or not _dialogs:
        return
    box = QMessageBox(QMessageBox.Icon.Information, title, message, parent=parent)
    box.open()


def install_excepthook() -> None:
    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        show_error(QApplication.activeWindow(), "Unexpected error",
                   f"{exc_type.__name__}: {exc}\n\nYour work is kept; the details are in {log_dir()}.", details)

    sys.excepthook = hook

"""Every failure is logged to a file and shown to the person, and the app keeps running: an
uncaught exception becomes a dialog, not a silent exit."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger("fcn_studio")


def log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(os.environ.get("FCN_STUDIO_LOG_DIR", Path(base) / "fcn-studio"))


def setup_logging() -> Path:
    folder = log_dir()
    path = folder / "fcn-studio.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("fcn_studio")
    if not any(isinstance(h, type(handler)) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def show_error(parent: QWidget | None, title: str, message: str, details: str | None = None) -> None:
    log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
    if QApplication.instance() is None or os.environ.get("FCN_STUDIO_NO_DIALOGS"):
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=parent)
    if details:
        box.setDetailedText(details)
    box.setModal(True)
    box.open()


def show_info(parent: QWidget | None, title: str, message: str) -> None:
    """A non-blocking note (an import finished); not shown when dialogs are off (tests, scripts)."""
    log.info("%s: %s", title, message)
    if QApplication.instance() is None or os.environ.get("FCN_STUDIO_NO_DIALOGS"):
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

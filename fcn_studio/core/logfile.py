"""Where FCN Studio keeps its log, for the app and the command line alike (no Qt, no torch), so a
bug report can always say where the details are."""

from __future__ import annotations

import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "fcn-studio.log"


def log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(os.environ.get("FCN_STUDIO_LOG_DIR", Path(base) / "fcn-studio"))


def setup_logging() -> Path:
    """The `fcn_studio` logger writes to the rotating log file (stderr if the folder cannot be made)."""
    folder = log_dir()
    path = folder / LOG_NAME
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


def append_to_log(text: str, level: str = "ERROR") -> Path | None:
    """Appends one entry to the log file; None if it cannot be written (the caller says so)."""
    path = log_dir() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {level} fcn_studio.cli: {text.rstrip()}\n")
    except OSError:
        return None
    return path

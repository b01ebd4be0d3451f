"""Runs a training from arguments: the project lock (one run per project), the event stream, and
turning any failure into a `failed` event a person can act on."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from fcn_studio.training.config import TrainConfig, add_arguments, config_from_args
from fcn_studio.training.events import EventWriter

LOCK_NAME = "training.lock"


class TrainingBusy(RuntimeError):
    pass


@contextmanager
def project_lock(source: Path):
    """Only one training run per project: an exclusive lock the OS drops if the process dies."""
    lock_path = Path(source) / LOCK_NAME
    if not (Path(source) / "project.sqlite").is_file():
        yield
        return
    import fcntl  # noqa: PLC0415 (POSIX; on Windows the app still starts one run at a time)

    fh = open(lock_path, "a+")  # noqa: SIM115
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip() or "?"
        fh.close()
        raise TrainingBusy(f"another training run (process {pid}) is using {source}; wait for it or stop it") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def friendly(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "out of memory" in text.lower():
        return f"the device ran out of memory; try a smaller --batch-size or --crop ({text.splitlines()[0]})"
    if isinstance(exc, OSError) and exc.errno == 28:
        return f"the disk is full ({exc.filename})"
    return text


def train_with_events(cfg: TrainConfig, events: EventWriter) -> int:
    from fcn_studio.training.trainer import run  # noqa: PLC0415 (torch after argument parsing)

    try:
        with project_lock(cfg.source):
            run(cfg, events)
        return 0
    except KeyboardInterrupt:
        events.emit("failed", message="stopped by the user", stopped=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event the GUI can show
        if int(os.environ.get("RANK", "0")) == 0:
            events.emit("failed", message=friendly(exc), details=traceback.format_exc()[-4000:])
        return 1


def _stop_requested(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m fcn_studio.training",
                                     description="Fine-tune an FCN on a project's corrected masks or a VOC folder.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    signal.signal(signal.SIGTERM, _stop_requested)  # the app's Stop: finish cleanly with an event
    events = EventWriter(sys.stdout if int(os.environ.get("RANK", "0")) == 0 else None, cfg.events)
    try:
        return train_with_events(cfg, events)
    finally:
        events.close()

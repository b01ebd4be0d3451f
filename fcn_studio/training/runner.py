"""Runs a training from arguments: the project lock (one run per project), the event stream, the
stop request, and turning any failure into a `failed` event a person can act on."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from fcn_studio.training.config import TrainConfig, add_arguments, config_from_args
from fcn_studio.training.events import EventWriter
from fcn_studio.training.stopping import StopRequested, stop_on_sigterm, watch_stdin

LOCK_NAME = "training.lock"


class TrainingBusy(RuntimeError):
    pass


def _holder(lock_path: Path) -> str:
    """The process id the holder wrote after the first byte (Windows locks byte 0 against reads)."""
    try:
        with open(lock_path, "rb") as fh:
            fh.seek(1)
            return fh.read(32).decode("ascii", "replace").strip() or "?"
    except OSError:
        return "?"


@contextmanager
def project_lock(source: Path):
    """Only one training run per project: `training.lock` in the project folder, an OS lock (through
    the cross-platform `filelock`) that the OS drops when the process dies, so a crashed run never
    blocks the next one. The file holds the holder's process id for the "busy" message. A run removes
    the file when it ends; one left by a killed run is harmless: the next run simply locks it again."""
    source = Path(source)
    if not (source / "project.sqlite").is_file():
        yield
        return
    lock_path = source / LOCK_NAME
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise TrainingBusy(f"another training run (process {_holder(lock_path)}) is using {source}; "
                           "wait for it or stop it") from None
    try:
        with suppress(OSError), open(lock_path, "r+b") as fh:
            fh.seek(1)
            fh.write(f"{os.getpid()}\n".encode())
            fh.truncate()
        yield
    finally:
        # Unlinked while still held: a waiter that opened the old file sees it unlinked and retries
        # on a fresh one (filelock checks), so the name never guards two holders. On Windows an open
        # file cannot be unlinked; filelock removes it there on release.
        with suppress(OSError):
            lock_path.unlink()
        lock.release()


def friendly(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "out of memory" in text.lower():
        return f"the device ran out of memory; try a smaller --batch-size or --crop ({text.splitlines()[0]})"
    if isinstance(exc, OSError) and exc.errno == 28:
        return f"the disk is full ({exc.filename})"
    return text


def train_with_events(cfg: TrainConfig, events: EventWriter, stop: threading.Event | None = None) -> int:
    from fcn_studio.training.trainer import run  # noqa: PLC0415 (torch after argument parsing)

    try:
        with project_lock(cfg.source):
            run(cfg, events, stop)
        return 0
    except (KeyboardInterrupt, StopRequested):
        events.emit("failed", message="stopped by the user", stopped=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event the GUI can show
        if int(os.environ.get("RANK", "0")) == 0:
            events.emit("failed", message=friendly(exc), details=traceback.format_exc()[-4000:])
        return 1


def lower_priority(threads: int | None = None) -> None:
    """Keep learning runs while a person works: below normal priority (POSIX nice; on Windows the app
    starts the process in BELOW_NORMAL_PRIORITY_CLASS) and one core fewer (or `threads`: the click
    model's lane takes one), so the GUI and interactive prediction keep a core."""
    if hasattr(os, "nice"):
        with suppress(OSError):
            os.nice(10)
    import torch  # noqa: PLC0415

    torch.set_num_threads(threads or max(1, (os.cpu_count() or 2) - 1))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m fcn_studio.training",
                                     description="Fine-tune an FCN on a project's corrected masks or a VOC folder.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    if os.environ.get("FCN_STUDIO_LOW_PRIORITY") == "1":
        lower_priority()
    stop = threading.Event()
    stop_on_sigterm(stop)
    if cfg.stop_on_stdin and int(os.environ.get("RANK", "0")) == 0:
        watch_stdin(stop)
    events = EventWriter(sys.stdout if int(os.environ.get("RANK", "0")) == 0 else None, cfg.events)
    try:
        return train_with_events(cfg, events, stop)
    finally:
        events.close()

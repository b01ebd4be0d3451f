"""Slow calls (image decoding, model creation, file scans) off the GUI thread: a QRunnable in the
global pool that reports back by queued signal. Results for stale requests are dropped by callers."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str, str)


class Task(QRunnable):
    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            try:
                result = self.fn()
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, which shows and logs it
                self.signals.failed.emit(str(exc), traceback.format_exc())
                return
            self.signals.done.emit(result)
        except RuntimeError:
            pass  # the application is gone (its objects deleted at exit): nobody is left to tell


_alive: set[Task] = set()  # PySide must not collect a task while the pool runs it


def run_in_background(fn: Callable[[], object], on_done: Callable[[object], None],
                      on_failed: Callable[[str, str], None], pool: QThreadPool | None = None) -> Task:
    task = Task(fn)
    _alive.add(task)
    task.signals.done.connect(on_done)
    task.signals.failed.connect(on_failed)
    task.signals.done.connect(lambda _r: _alive.discard(task))
    task.signals.failed.connect(lambda _m, _d: _alive.discard(task))
    (pool or QThreadPool.globalInstance()).start(task)
    return task

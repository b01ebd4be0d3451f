"""Slow calls (image decoding, model creation, file scans) off the GUI thread: a QRunnable that
reports back by queued signal. Results for stale requests are dropped by callers.

Work runs in lanes, one QThreadPool each, so that slow jobs (a model comparison, an export) can
never hold every thread while the person waits for an image to show or a smart selection."""

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


def _pool(parent: QObject, threads: int) -> QThreadPool:
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(threads)
    return pool


class Lanes(QObject):
    """The window's thread pools. `decode`: showing the chosen image (latency-critical; two threads,
    so one slow file does not hold up the next). `smart`: smart-selection tools (one at a time, as
    the person makes them). `slow`: everything else (model comparison, export, import, making a
    model), two threads so one long job leaves room for another but never for more."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.decode = _pool(self, 2)
        self.smart = _pool(self, 1)
        self.slow = _pool(self, 2)

    def idle(self) -> bool:
        """Nothing runs in any lane (quitting waits for this without blocking)."""
        return all(pool.activeThreadCount() == 0 for pool in (self.decode, self.smart, self.slow))

    def wait_for_done(self, msecs: int) -> bool:
        """At exit: lets what was started (a decode, a model save) finish, at most `msecs` a lane."""
        return all([pool.waitForDone(msecs) for pool in (self.decode, self.smart, self.slow)])


_alive: set[Task] = set()  # PySide must not collect a task while the pool runs it


def run_in_background(fn: Callable[[], object], on_done: Callable[[object], None],
                      on_failed: Callable[[str, str], None], pool: QThreadPool) -> Task:
    task = Task(fn)
    _alive.add(task)
    task.signals.done.connect(on_done)
    task.signals.failed.connect(on_failed)
    task.signals.done.connect(lambda _r: _alive.discard(task))
    task.signals.failed.connect(lambda _m, _d: _alive.discard(task))
    pool.start(task)
    return task

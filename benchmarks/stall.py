"""The GUI benchmarks' one measure of a stall: how late a 5 ms timer fires while work runs."""

from __future__ import annotations

import time

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication


def longest_stall_during(start_work, seconds: float, done=None, step=None) -> float:
    """Event-loop lateness of a 5 ms timer while work runs, in milliseconds (the worst): `start_work`
    once, then events are processed (and `step` called, if given) for `seconds` or until `done()`."""
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    worst = [0.0]

    def tick():
        now = clock.elapsed()
        worst[0] = max(worst[0], now - last[0] - 5)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    start_work()
    end = time.perf_counter() + seconds
    while (done is None and time.perf_counter() < end) or (done is not None and not done()):
        if step is not None:
            step()
        QApplication.processEvents()
        time.sleep(0.001)
    end = time.perf_counter() + 0.03  # the timer's next tick records what the last step held up
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.001)
    timer.stop()
    return worst[0]


def quit_window(window) -> None:
    """Quits a benchmark's window as a person does and lets its threads end (quitting never blocks the
    GUI thread: the window hides at once and shuts down in the background)."""
    window.close()
    while not window.quitting.done:
        QApplication.processEvents()
        time.sleep(0.01)

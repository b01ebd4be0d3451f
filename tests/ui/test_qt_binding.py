"""The Qt binding under the app, through what a person would notice: the app must not abort after a few
seconds of painting, and must not hang when Python collects a window in a worker thread. Each runs in a
process of its own, which is what a failure takes down (or hangs, until the timeout)."""

import os
import subprocess
import sys

import pytest

VOID_CALLS = """
import sys
from PySide6.QtCore import QObject, QRect
from PySide6.QtWidgets import QApplication

app = QApplication([])
obj, rect = QObject(), QRect()
before = sys.getrefcount(None)
for i in range(25_000):  # each paint of the app makes several calls like these
    obj.setObjectName("canvas")
    rect.setWidth(i)
print(before, sys.getrefcount(None))
"""


def test_tens_of_thousands_of_void_qt_calls_leave_none_alone():
    """PySide6 6.12.0 under Python 3.11 took one reference from None at each call that returns nothing;
    None starts with a few thousand, so Python aborted ("none_dealloc: deallocating None")."""
    proc = subprocess.run([sys.executable, "-c", VOID_CALLS], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, f"the process died ({proc.returncode}): {proc.stderr[-1500:]}"
    before, after = map(int, proc.stdout.split())
    assert after > before - 1000, f"None's references drained from {before} to {after}"


IN_THE_APP = r"""
import gc, sys, threading, time
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Qt, Slot
from PySide6.QtWidgets import QApplication, QDialog
from fcn_studio.ui.app import run_app


class Watcher(QObject):
    @Slot()
    def gone(self):
        print("deleted in", threading.current_thread().name, flush=True)
        QTimer.singleShot(0, QApplication.quit)


class Job(QRunnable):
    '''A Python task that needs the GIL back every few milliseconds, for a second.'''
    def __init__(self, started):
        super().__init__()
        self.started = started

    def run(self):
        self.started.set()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            time.sleep(0.002)


def garbage_in_a_worker():
    gc.collect()  # nothing else young is left for the collection below
    started = threading.Event()
    dialog = QDialog()  # a plain widget: PySide deletes those in the GUI thread
    dialog.cycle = dialog  # garbage that only the garbage collector frees
    dialog.destroyed.connect(watcher.gone, Qt.ConnectionType.DirectConnection)
    QThreadPool(dialog).start(Job(started))  # ~QDialog waits for the job
    started.wait()
    del dialog
    worker = threading.Thread(target=lambda: [[] for _ in range(100_000)], name="worker")
    worker.start()  # allocates far past Python's threshold: a collection runs there, if Python decides
    worker.join()
    print("the worker is done", flush=True)


app = QApplication(sys.argv[:1])
watcher = Watcher()
QTimer.singleShot(0, garbage_in_a_worker)
sys.exit(run_app([]))
"""


@pytest.mark.slow
def test_a_window_left_to_the_garbage_collector_in_a_worker_does_not_hang_the_app(tmp_path):
    """Every PySide6 release from 6.6 to 6.12 deletes a plain widget that a worker's garbage collection
    freed later, in the GUI thread, holding the GIL: here ~QDialog waits for a pool's Python task, which
    waits for the GIL, forever. The app collects garbage in the GUI thread only, from its start."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FCN_STUDIO_DEFAULT_BACKBONE": "mobilenet_v3_small",
           "TMPDIR": str(tmp_path)}  # no session left in /tmp by another run is offered for recovery here
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        env[name] = str(tmp_path / name.lower())
    try:
        proc = subprocess.run([sys.executable, "-c", IN_THE_APP], capture_output=True, text=True,
                              timeout=150, env=env, cwd=tmp_path)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the app hung; it printed: {exc.stdout!r}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["the worker is done", "deleted in MainThread"], proc.stdout

"""Quitting, without losing work and without blocking the GUI thread: first what would be lost
(an unsaved session, saves in flight, a failed save, a running training) is settled, then the window
hides at once and everything is asked to end (downloads, keep learning, the model's worker at its
next tile, the lanes); the window closes for good when all have ended, so no thread is destroyed
while it runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QDialog, QWidget

if TYPE_CHECKING:
    from fcn_studio.ui.datasets.session_save import SessionSaver
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace

log = logging.getLogger(__name__)
SHUTDOWN_S = 20  # at most this long for lanes and downloads to end once the window hides


class Quitting(QObject):
    """Built from (workspace, shell), the session saver, the downloads' pool, the model's worker
    thread, and the window it closes; `remember` saves the window's place on the way out."""

    ended = Signal()  # every thread stopped, the workspace closed: the window may close for good

    def __init__(self, workspace: Workspace, shell: Shell, saver: SessionSaver, downloads: QThreadPool,
                 cancel_downloads: Callable[[], None], worker: QThread, window: QWidget,
                 remember: Callable[[], None]) -> None:
        super().__init__(window)
        self.workspace, self.shell, self.saver = workspace, shell, saver
        self.downloads, self.cancel_downloads, self.worker = downloads, cancel_downloads, worker
        self.window, self.remember = window, remember
        self.done = False  # everything has ended: the next close is for good
        self._deadline = 0.0
        self._saves = QTimer(self)  # polls the autosaver while a quit waits for saves in flight
        self._saves.setInterval(50)
        self._saves.timeout.connect(self._when_saved)
        self._threads = QTimer(self)  # polls, while quitting, for the threads to end
        self._threads.setInterval(20)
        self._threads.timeout.connect(self._step)

    def close_requested(self) -> bool:
        """The window was asked to close: True once quitting has ended (close for good); otherwise the
        close is refused for now and quitting goes on (or the person said Cancel)."""
        if self.done:
            return True
        if self.shell.closed:
            return False  # ending already
        if not self.saver.on_close() or not self._safe_to_close():
            return False
        self._saves.stop()
        self.shell.closed = True
        self.remember()
        self.cancel_downloads()  # a download stops at its next chunk; its part stays for a resume
        self.worker.request_stop()  # the model's worker stops at its next tile
        self._deadline = time.monotonic() + SHUTDOWN_S
        for dialog in self.window.findChildren(QDialog):  # its dialogs (shortcuts, downloads, an offer) go too
            dialog.close()
        self.window.hide()
        self._threads.start()
        return False

    def _safe_to_close(self) -> bool:
        """Saves still in flight get a moment (the window closes by itself when they land; they are in
        the edit journal already). A save that failed needs the person's word. A running training is
        asked to stop and the window closes once it has ended (its last checkpoint is kept, and the run
        removes its training.lock; a backend destroyed with the window would be killed and leave both
        behind)."""
        ws, session = self.workspace, self.workspace.editing
        ws.clicks.stop_all()  # the click model's backends stop by themselves at their next step
        if ws.runs.active:  # a run or keep learning: every backend is asked to stop, then we close
            ws.runs.stop_all(lambda: self.shell.closed or self.window.close())
            self.shell.status("Stopping the training run before quitting (its last checkpoint is kept)...", 0)
            return False
        unsaved, failed = session.unsaved(), session.failed
        if not unsaved:
            return True
        if not failed:
            session.saver.save_now()
            self.shell.status(f"Saving {len(unsaved)} image(s) before quitting...", 0)
            self._saves.start()
            return False
        self._saves.stop()
        names = {r.id: r.name for r in ws.project.images()} if ws.project is not None else {}
        reasons = "".join(f"\n- {names.get(i, i)}: {why}" for i, why in list(failed.items())[:5])
        after = ("They are kept in the edit journal and will be restored the next time you open this project."
                 if not session.only_in_memory() else "Quitting now loses them.")
        return self.shell.ask("Quit with unsaved edits?",
                              f"{len(failed)} image(s) could not be saved:{reasons}\n\n{after}\n\nQuit anyway?")

    def _when_saved(self) -> None:
        if self.workspace.runs.active:
            return  # stopping: stop_all closes the window once every backend has ended
        session = self.workspace.editing
        unsaved = session.unsaved() if session.saver is not None else {}
        if not unsaved or session.failed:
            self._saves.stop()
            self.window.close()

    def _step(self) -> None:
        """Polled while quitting: ends once the worker thread has ended and the lanes and downloads are
        idle (those get SHUTDOWN_S at most: their results are dropped anyway)."""
        waiting = [name for name, busy in (("background work", not self.shell.lanes.idle()),
                                           ("downloads", self.downloads.activeThreadCount() > 0),
                                           ("training", bool(self.workspace.runs.active))) if busy]
        if self.worker.isRunning() or (waiting and time.monotonic() < self._deadline):
            return
        if waiting:
            log.warning("quitting without waiting longer for: %s", ", ".join(waiting))
        self._threads.stop()
        self.workspace.close(timeout=2)  # what still cannot be saved stays in the edit journal
        self.done = True
        self.window.close()
        self.ended.emit()

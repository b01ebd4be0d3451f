"""A temporary session left by a crash (its folder outlives a window that was killed) is offered for
recovery at the next start, instead of lying forgotten in the temporary folder. A running window holds
a lock in its session's folder (QLockFile: it knows a dead owner on every platform), so only sessions
nobody is using are offered; one without a person's masks, whose window died holding it, is removed."""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QLockFile

from fcn_studio.project.project import DB_NAME, SESSION_PREFIX, Project, ProjectError
from fcn_studio.project.schema import HUMAN_STATES

log = logging.getLogger(__name__)
LOCK_NAME = "session.lock"


def _lock(root: Path) -> QLockFile:
    lock = QLockFile(str(root / LOCK_NAME))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however old
    return lock


class SessionRecovery:
    """Built from (workspace, shell); `open_session(project)` makes a recovered session the open one."""

    def __init__(self, workspace, shell, open_session: Callable[[Project], None]) -> None:
        self.shell, self.open_session = shell, open_session
        self._held: QLockFile | None = None
        workspace.project_changed.connect(self._project_changed)

    def _project_changed(self, project: Project) -> None:
        if self._held is not None:
            self._held.unlock()
            self._held = None
        if project.temporary:
            lock = _lock(project.root)
            if lock.tryLock(0):
                self._held = lock

    @staticmethod
    def left_behind(folder: str | Path | None = None) -> dict[Path, bool]:
        """Session folders in `folder` (the system's temporary folder) that no running window holds:
        root -> whether a window held it and died (its lock was stale; else there was none)."""
        found = {}
        for root in sorted(Path(folder or tempfile.gettempdir()).glob(SESSION_PREFIX + "*")):
            if not (root / DB_NAME).is_file():
                continue
            lock = _lock(root)
            stale = (root / LOCK_NAME).exists()
            if lock.tryLock(0):
                lock.unlock()
                found[root] = stale
        return found

    def offer(self, folder: str | Path | None = None) -> bool:
        """Asks, for each session left behind with a person's masks, whether to recover it (yes: it
        opens as the unsaved session it was; no: it is deleted). True once one was recovered."""
        for root, held in self.left_behind(folder).items():
            try:
                project = Project(root, temporary=True)
                counts = project.counts()
            except (ProjectError, sqlite3.DatabaseError, OSError) as exc:
                log.warning("cannot read the session left in %s: %s", root, exc)
                continue
            human = sum(counts[s] for s in HUMAN_STATES)
            if not human and not held:  # no lock: maybe an older FCN Studio's session, in use
                project.temporary = False  # closed, not deleted
                project.close()
                continue
            if human and self.shell.ask(
                    "Recover the unsaved session?",
                    f"FCN Studio ended without saving a session of {len(project.images())} image(s), {human} "
                    f"of them corrected by you ({root}).\n\nRecover it? (No deletes it.)"):
                self.open_session(project)
                return True
            project.close()  # a temporary project's folder goes with it
        return False

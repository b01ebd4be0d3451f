"""Autosave: after each finished stroke the mask is queued; a background thread writes it (atomic:
temporary file, fsync, rename) at most `delay` seconds after the first unsaved stroke, keeping only
the newest version of each image. A failed save is reported at once and the image stays unsaved; nothing is
ever marked saved that is not on disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fcn_studio.project.project import Project


@dataclass
class _Pending:
    mask: np.ndarray
    version: int
    due: float
    state: str | None = None  # set once the mask is on disk (a mark); None: corrected unless reviewed


class AutoSaver:
    def __init__(self, project: Project, delay: float = 0.3,
                 on_saved: Callable[[int, int], None] | None = None,
                 on_failed: Callable[[int, int, str], None] | None = None) -> None:
        self.project = project
        self.delay = delay
        self.on_saved = on_saved
        self.on_failed = on_failed
        self._pending: dict[int, _Pending] = {}
        self._busy: int | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)
        self._thread.start()

    def schedule(self, image_id: int, mask: np.ndarray, version: int, delay: float | None = None,
                 state: str | None = None) -> None:
        """Takes a copy, so the editor may go on changing its mask. The deadline is set by the first
        unsaved stroke and later strokes do not push it back: someone painting without pause is
        still saved every `delay` seconds. `state` (a mark) is applied once the mask is on disk and
        survives later strokes queued before the write."""
        with self._cond:
            due = time.monotonic() + (self.delay if delay is None else delay)
            earlier = self._pending.get(image_id)
            if earlier is not None:
                due = min(due, earlier.due)
                state = state or earlier.state
            self._pending[image_id] = _Pending(mask.copy(), version, due, state)
            self._cond.notify()

    def pending(self) -> set[int]:
        with self._cond:
            return set(self._pending) | ({self._busy} if self._busy is not None else set())

    def flush(self, timeout: float = 30.0) -> bool:
        """Saves everything now; True when nothing is left waiting (failures are reported as usual)."""
        end = time.monotonic() + timeout
        with self._cond:
            for p in self._pending.values():
                p.due = 0.0
            self._cond.notify()
            while (self._pending or self._busy is not None) and time.monotonic() < end:
                self._cond.wait(0.05)
            return not self._pending and self._busy is None

    def close(self, timeout: float = 30.0) -> bool:
        done = self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)
        return done

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop and not self._pending:
                        return
                    now = time.monotonic()
                    due = [(p.due, i) for i, p in self._pending.items()]
                    if due and min(due)[0] <= now:
                        image_id = min(due)[1]
                        job = self._pending.pop(image_id)
                        self._busy = image_id
                        break
                    self._cond.wait(min(due)[0] - now if due else None)
            try:
                self.project.save_mask(image_id, job.mask, state=job.state)
            except Exception as exc:  # noqa: BLE001 - disk full, read-only folder, closed project
                if self.on_failed:
                    self.on_failed(image_id, job.version, _describe(exc))
            else:
                if self.on_saved:
                    self.on_saved(image_id, job.version)
            with self._cond:
                self._busy = None
                self._cond.notify_all()


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno == 28:
        return f"the disk is full ({exc.filename or ''})"
    if isinstance(exc, OSError) and exc.errno in (13, 30):
        return f"the folder is read-only ({exc.filename or exc})"
    return f"{type(exc).__name__}: {exc}"

"""The one owner of "is the person's work on disk?" for an editing window (and for the crash test's
child process, which has no Qt).

A finished edit is `record`ed: appended to the edit journal and fsynced before `record` returns, so it
survives kill -9 from that moment; the mask's PNG (and its state, in the same step) is then written by a
background thread at most `delay` seconds after the first unsaved edit, keeping only the newest version
of each image. A failed save stays pending: it is retried, reported, and counted as unsaved until it
succeeds or the person discards it. `unsaved()` answers synchronously, without waiting on any signal.

The state an image gets is the one its pixels earn: edits that bring a mask back to the prediction (or
the empty mask) it started from revert it to "predicted" ("new"), not "corrected"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from fcn_studio.core.editing.undo import TILE
from fcn_studio.project.journal import EditJournal
from fcn_studio.project.project import Project
from fcn_studio.project.schema import HUMAN_STATES

RETRY_AFTER = (2.0, 5.0, 15.0, 30.0, 60.0)  # seconds before a failed save is tried again


@dataclass
class _Job:
    mask: np.ndarray
    version: int
    due: float
    state: str | None = None  # a mark, set with the mask; None: corrected unless reviewed
    revert: bool = False  # back to the prediction: the person's mask is removed
    failures: int = 0


@dataclass
class _Track:
    """What the saver knows of one image's editor."""
    origin: np.ndarray | None = None  # the model's mask (or the empty one) it began from; None: a person's
    differing: set = field(default_factory=set)  # tiles that differ from `origin`
    disk_version: int | None = None  # the editor version whose person's mask is on disk, if any


class AutoSaver:
    def __init__(self, project: Project, delay: float = 0.3,
                 on_saved: Callable[[int, int], None] | None = None,
                 on_failed: Callable[[int, int, str], None] | None = None,
                 journal: bool = True) -> None:
        self.project = project
        self.delay = delay
        self.on_saved = on_saved
        self.on_failed = on_failed
        self.journal: EditJournal | None = None
        self.journal_problem: str | None = None  # why edits cannot be journalled (a read-only project)
        if journal:
            try:
                self.journal = EditJournal(project.root)
            except OSError as exc:
                self.journal_problem = f"the edit journal cannot be written: {describe(exc)}"
        self._tracks: dict[int, _Track] = {}
        self._pending: dict[int, _Job] = {}
        self._failed: dict[int, str] = {}
        self._unjournaled: set[int] = set()  # edits neither in the journal nor on disk: a quit loses them
        self._busy: int | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)
        self._thread.start()

    # -- what the editors tell it --------------------------------------------------------------------
    def track(self, image_id: int, mask: np.ndarray, version: int, human: bool,
              origin: np.ndarray | None = None) -> None:
        """An editor opened on `mask`: a person's mask on disk (`human`), or the model's prediction or
        an empty mask, which is then the origin that undoing every edit returns to. `origin`: a copy
        of `mask` made ahead (off the GUI thread; a read-only broadcast for an empty mask), else one
        is made here."""
        with self._cond:
            if image_id in self._pending or image_id in self._failed:
                return  # the editor in memory is newer than the disk; keep what we know
            self._tracks[image_id] = (_Track(disk_version=version) if human
                                      else _Track(origin=mask.copy() if origin is None else origin))

    def record(self, image_id: int, mask: np.ndarray, version: int, tiles: Iterable[tuple[int, int]] | None,
               state: str | None = None, delay: float | None = None) -> None:
        """A finished edit (its touched tiles, or None when unknown) or a mark (`state`, no tiles). On
        the journal when this returns; the PNG follows within `delay` seconds."""
        tiles = None if tiles is None else set(tiles)
        journal_error = None
        with self._cond:
            track = self._tracks.setdefault(image_id, _Track())
            if track.origin is not None:
                self._compare(track, mask, tiles)
            revert = track.origin is not None and not track.differing and state not in HUMAN_STATES
            if self.journal is None and self.journal_problem is not None:
                self._unjournaled.add(image_id)
            if self.journal is not None:
                try:
                    if revert:
                        self.journal.append(image_id, version, mask, (), revert=True)
                    elif (tiles is None or image_id in self._unjournaled
                          or (not self.journal.has(image_id) and track.disk_version is None)):
                        self.journal.append(image_id, version, mask, None, state)  # a whole snapshot
                    else:
                        self.journal.append(image_id, version, mask, tiles, state)
                    self._unjournaled.discard(image_id)
                except OSError as exc:
                    journal_error = f"the edit could not be recorded: {describe(exc)}"
                    self._failed[image_id] = journal_error
                    self._unjournaled.add(image_id)
            due = time.monotonic() + (self.delay if delay is None else delay)
            earlier = self._pending.get(image_id)
            if earlier is not None:
                due = min(due, earlier.due)
                if state is None and not revert:
                    state = earlier.state
            self._pending[image_id] = _Job(mask.copy(), version, due, None if revert else state, revert)
            self._cond.notify_all()
        if journal_error is not None and self.on_failed:
            self.on_failed(image_id, version, journal_error)

    def _compare(self, track: _Track, mask: np.ndarray, tiles: set | None) -> None:
        origin = track.origin
        if origin.shape != mask.shape:
            track.origin = None
            return
        if tiles is None:
            h, w = mask.shape
            tiles = {(ty, tx) for ty in range((h + TILE - 1) // TILE) for tx in range((w + TILE - 1) // TILE)}
        for ty, tx in tiles:
            sl = (slice(ty * TILE, (ty + 1) * TILE), slice(tx * TILE, (tx + 1) * TILE))
            if np.array_equal(mask[sl], origin[sl]):
                track.differing.discard((ty, tx))
            else:
                track.differing.add((ty, tx))

    def at_origin(self, image_id: int) -> bool:
        """Whether the image's editor is back where the model (or nothing) left it."""
        with self._cond:
            track = self._tracks.get(image_id)
            return track is not None and track.origin is not None and not track.differing

    def pending_state(self, image_id: int) -> str | None:
        """The mark a queued save will set, if any."""
        with self._cond:
            job = self._pending.get(image_id)
            return None if job is None else ("predicted" if job.revert else job.state)

    # -- the one question ----------------------------------------------------------------------------
    def unsaved(self) -> dict[int, str]:
        """Image id -> why it is not on disk yet ("waiting", "saving", or the failure), right now."""
        with self._cond:
            out = {i: "waiting" for i in self._pending}
            if self._busy is not None:
                out[self._busy] = "saving"
            out.update(self._failed)
            return out

    def pending(self) -> set[int]:
        return set(self.unsaved())

    def only_in_memory(self) -> set[int]:
        """Images with edits that neither the journal nor the PNG holds: quitting now loses them."""
        with self._cond:
            return set(self._unjournaled)

    def failures(self) -> dict[int, str]:
        with self._cond:
            return dict(self._failed)

    def save_now(self) -> None:
        """Everything queued (failed saves too) is due now; returns at once."""
        with self._cond:
            for job in self._pending.values():
                job.due = 0.0
            self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Saves everything now and waits; True only when nothing is left unsaved (a save that fails
        again stays pending and makes this False)."""
        end = time.monotonic() + timeout
        self.save_now()
        with self._cond:
            while time.monotonic() < end:
                now = time.monotonic()
                due_now = [j for j in self._pending.values() if j.due <= now]
                if self._busy is None and not due_now:
                    break
                self._cond.wait(0.05)
            return not self._pending and self._busy is None and not self._failed

    def discard(self, image_id: int) -> None:
        """The person gives up the unsaved edits of an image: nothing of them is written or replayed."""
        with self._cond:
            self._pending.pop(image_id, None)
            self._failed.pop(image_id, None)
            self._unjournaled.discard(image_id)
            self._tracks.pop(image_id, None)
            if self.journal is not None:
                self.journal.drop(image_id)

    def adopt(self, other: AutoSaver) -> None:
        """Takes over what a closed saver knew of its editors (where each began, what is on disk), for
        the same images in a copy of its project (a session saved as a project)."""
        with other._cond, self._cond:
            self._tracks.update(other._tracks)

    def forget(self, image_id: int) -> None:
        """The editor of a saved image is gone from memory."""
        with self._cond:
            if image_id not in self._pending and image_id not in self._failed:
                self._tracks.pop(image_id, None)

    def close(self, timeout: float = 30.0) -> bool:
        """Saves what it can; unsaved edits stay in the journal for the next opening to restore."""
        done = self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self.journal is not None:
            if done:
                self.journal.close()
            else:
                self.journal.release_for_replay()
        return done

    # -- the writing thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return
                    now = time.monotonic()
                    due = [(j.due, i) for i, j in self._pending.items()]
                    if due and min(due)[0] <= now:
                        image_id = min(due)[1]
                        job = self._pending.pop(image_id)
                        self._busy = image_id
                        break
                    self._cond.wait(min(due)[0] - now if due else None)
            try:
                if job.revert:
                    self.project.revert_mask(image_id)
                else:
                    self.project.save_mask(image_id, job.mask, state=job.state)
            except Exception as exc:  # noqa: BLE001 - disk full, read-only folder, closed project, locked db
                message = describe(exc)
                with self._cond:
                    self._failed[image_id] = message
                    if image_id not in self._pending:  # retried later unless a newer version came
                        job.failures += 1
                        job.due = time.monotonic() + RETRY_AFTER[min(job.failures, len(RETRY_AFTER)) - 1]
                        self._pending[image_id] = job
                    self._busy = None
                    self._cond.notify_all()
                self._tell(self.on_failed, image_id, job.version, message)
                continue
            with self._cond:
                self._failed.pop(image_id, None)
                if image_id not in self._pending:
                    self._unjournaled.discard(image_id)  # the PNG holds the newest version
                track = self._tracks.setdefault(image_id, _Track())
                track.disk_version = None if job.revert else job.version
                if self.journal is not None:
                    self.journal.saved(image_id, job.version)
                self._busy = None
                self._cond.notify_all()
            version, job = job.version, None  # not kept while waiting: it holds a whole copy of the mask
            self._tell(self.on_saved, image_id, version)

    @staticmethod
    def _tell(callback, *args) -> None:
        """A listener that has gone away (a closed window) must not end the saving thread."""
        if callback is None:
            return
        try:
            callback(*args)
        except RuntimeError:
            pass


def describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno == 28:
        return f"the disk is full ({exc.filename or ''})"
    if isinstance(exc, OSError) and exc.errno in (13, 30):
        return f"the folder is read-only ({exc.filename or exc})"
    return f"{type(exc).__name__}: {exc}"

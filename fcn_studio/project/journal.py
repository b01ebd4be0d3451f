"""An append-only journal of finished edits, so an edit is on disk the moment it is finished (the mouse
released), while the mask's PNG is still written a moment later by the autosaver.

Each editing owner (one app window) gets a folder `masks/.journal/<owner>/`, holds a cross-platform
lock on it for as long as it lives, and appends to one file per image: first a full snapshot of the
mask when nothing of the person's is on disk to build on, then the tiles each edit touched, as they
are after the edit. Every record is checksummed and fsynced. Tiles are absolute contents, so replaying
records on a mask that already holds some of them gives the same result: replay is idempotent.

When the PNG of a version has landed, that image's journal is dropped (if nothing newer was appended).
When a project opens, journals whose owner is gone (its lock is free: it was killed) are replayed
into masks and states, then removed. A torn last record (killed mid-append) is ignored: only the edit
in progress can be lost."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from fcn_studio.core.atomic import fsync_dir
from fcn_studio.core.editing.undo import TILE

JOURNALS = ".journal"
MAGIC = b"FJ1\n"
_HEAD = struct.Struct("<4sIII")  # magic, header length, payload length, crc32 of header + payload
LOCK_NAME = "owner.lock"


@dataclass
class Record:
    version: int
    kind: str  # "full" (whole mask), "tiles", "state" (a mark only), "revert" (back to the prediction),
    # "region" (a label pyramid's rectangle: tiles holds one (y0, x0, y1, x1))
    shape: tuple[int, int]
    state: str | None
    tiles: list[tuple[int, int]]
    data: bytes


class EditJournal:
    """The journal of one editing owner. Not thread-safe by itself: the autosaver calls it under its
    own lock."""

    def __init__(self, project_root: Path, folder: str = JOURNALS) -> None:
        """`folder`: the journals' folder under masks/ (label pyramids keep theirs apart, as their
        records are regions of a pyramid, not tiles of a PNG mask)."""
        self.base = Path(project_root) / "masks" / folder
        self.base.mkdir(parents=True, exist_ok=True)
        self.folder = self.base / f"{os.getpid()}-{secrets.token_hex(3)}"
        self.folder.mkdir()
        self._lock = FileLock(self.folder / LOCK_NAME, thread_local=False)
        self._lock.acquire(timeout=0)
        self.last_version: dict[int, int] = {}  # per image: the newest version journalled

    def path(self, image_id: int) -> Path:
        return self.folder / f"{image_id:06d}.jnl"

    def has(self, image_id: int) -> bool:
        return image_id in self.last_version

    def append(self, image_id: int, version: int, mask: np.ndarray, tiles: Iterable[tuple[int, int]] | None,
               state: str | None = None, revert: bool = False) -> None:
        """Durable when it returns. `tiles=None` writes the whole mask (a snapshot to build on)."""
        if revert:
            kind, keys, data = "revert", [], b""
        elif tiles is None:
            kind, keys, data = "full", [], np.ascontiguousarray(mask).tobytes()
        else:
            keys = sorted(set(tiles))
            kind = "tiles" if keys else "state"
            data = b"".join(np.ascontiguousarray(mask[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE]).tobytes()
                            for ty, tx in keys)
        self._append(image_id, version, kind, mask.shape, state, keys, data)

    def append_region(self, image_id: int, version: int, shape: tuple[int, int], rect: tuple[int, int, int, int],
                      patch: np.ndarray, state: str | None = None) -> None:
        """A "region" record: `patch` as it is after the edit at `rect` (y0, x0, y1, x1) of an image of
        `shape` (a label pyramid's level 0). Durable when it returns."""
        self._append(image_id, version, "region", shape, state, [list(rect)], np.ascontiguousarray(patch).tobytes())

    def _append(self, image_id: int, version: int, kind: str, shape, state: str | None, keys, data: bytes) -> None:
        header = json.dumps({"v": version, "kind": kind, "shape": list(shape), "state": state,
                             "tiles": keys}).encode()
        payload = zlib.compress(data, 1)
        crc = zlib.crc32(payload, zlib.crc32(header))
        new = not self.path(image_id).exists()
        with open(self.path(image_id), "ab") as fh:
            fh.write(_HEAD.pack(MAGIC, len(header), len(payload), crc) + header + payload)
            fh.flush()
            os.fsync(fh.fileno())
        if new:
            fsync_dir(self.folder)
        self.last_version[image_id] = version

    def saved(self, image_id: int, version: int) -> None:
        """The PNG of `version` is on disk: the journal is no longer needed unless newer edits came."""
        if self.last_version.get(image_id, -1) <= version:
            self.drop(image_id)

    def drop(self, image_id: int) -> None:
        self.last_version.pop(image_id, None)
        with contextlib.suppress(FileNotFoundError):
            self.path(image_id).unlink()

    def close(self) -> None:
        """Only when everything is saved (or discarded on purpose): the journals go with the folder."""
        self._lock.release()
        shutil.rmtree(self.folder, ignore_errors=True)

    def release_for_replay(self) -> None:
        """Leaves the journals for the next opening of the project to replay (unsaved edits)."""
        self._lock.release()


def read_records(path: Path) -> Iterator[Record]:
    """The intact records of a journal file, in order; stops at the first torn or damaged one."""
    data = path.read_bytes()
    pos = 0
    while pos + _HEAD.size <= len(data):
        magic, hlen, plen, crc = _HEAD.unpack_from(data, pos)
        start, end = pos + _HEAD.size, pos + _HEAD.size + hlen + plen
        if magic != MAGIC or end > len(data):
            return
        header, payload = data[start:start + hlen], data[start + hlen:end]
        if zlib.crc32(payload, zlib.crc32(header)) != crc:
            return
        meta = json.loads(header)
        yield Record(meta["v"], meta["kind"], tuple(meta["shape"]), meta["state"],
                     [tuple(t) for t in meta["tiles"]], zlib.decompress(payload))
        pos = end


def rebuild(records: Iterable[Record], on_disk: np.ndarray | None) -> tuple[np.ndarray | None, str | None, bool]:
    """Folds records into (mask, the last mark, reverted). `on_disk` is the person's mask the first
    tiles build on when the journal does not begin with a snapshot."""
    mask = None if on_disk is None else on_disk.copy()
    state, reverted = None, False
    for rec in records:
        if rec.kind == "revert":
            mask, state, reverted = None, None, True
            continue
        if rec.kind == "full":
            mask = np.frombuffer(rec.data, np.uint8).reshape(rec.shape).copy()
            reverted = False
        elif rec.kind == "tiles":
            if mask is None or mask.shape != rec.shape:
                break  # nothing to build on (the file it needs is gone): keep what came before
            pos = 0
            for ty, tx in rec.tiles:
                view = mask[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE]
                view[...] = np.frombuffer(rec.data, np.uint8, view.size, pos).reshape(view.shape)
                pos += view.size
            reverted = False
        if rec.state is not None:
            state = rec.state
    return mask, state, reverted


def orphaned_folders(project_root: Path, folder: str = JOURNALS) -> list[Path]:
    """Journal folders whose owner is gone (its lock can be taken)."""
    base = Path(project_root) / "masks" / folder
    if not base.is_dir():
        return []
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        lock = FileLock(folder / LOCK_NAME, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a live window is editing with it
        except OSError:
            continue
        lock.release()
        found.append(folder)
    return found


def replay_orphans(project) -> list[int]:
    """Folds the journals of killed owners into the project's masks and states; returns the image
    ids it restored. Runs when a project opens; a journal that cannot be applied is kept."""
    restored = []
    for folder in orphaned_folders(project.root):
        keep = False
        for path in sorted(folder.glob("*.jnl")):
            try:
                image_id = int(path.stem)
                records = list(read_records(path))
                if not records:
                    path.unlink()
                    continue
                on_disk = project.load_mask(image_id) if records[0].kind not in ("full", "revert") else None
                mask, state, reverted = rebuild(records, on_disk)
                if reverted and mask is None:
                    project.revert_mask(image_id)
                elif mask is not None:
                    project.save_mask(image_id, mask, state if state in ("corrected", "reviewed") else None)
                restored.append(image_id)
                path.unlink()
            except Exception:  # noqa: BLE001 - a damaged journal or a vanished image: keep it for a person
                keep = True
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return restored

"""A project's masks on disk, and the one rule that keeps them honest: writing a mask file and setting
its image's state are one step, for every writer (the person's autosave, a prediction, an import, a
label change), in any thread or process.

- `masks/<image name>.png` holds what a person made (corrected or reviewed) and nothing else; the name
  is the image's relative path with its sub-folders (fcn_studio.project.mask_names), and
  `mask_path` is the one place that maps an image to it.
- `predictions/<image name>.png` holds the model's latest prediction, apart, so it can never overwrite
  a person's mask and can always be shown, compared or accepted.

Each writer prepares its PNG beside the target first (the slow part), then, inside one `BEGIN
IMMEDIATE` transaction (SQLite's write lock, which every process of the project shares), reads the
state, renames the file into place and updates the state. Writers therefore never interleave. A
process killed between the rename and the commit leaves a file whose presence says what happened;
`_reconcile` (run under the same lock when a project opens) makes the state agree with it."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import TEMP_SUFFIX, atomic_path, fsync_dir, prepared_file
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import encode_mask, read_mask
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.label_pyramid import pyramid_path, remapped_copy, replace_folder
from fcn_studio.project.mask_names import legacy_name, mask_name_for, taken_names
from fcn_studio.project.schema import HUMAN_STATES, STATES

MASKS = "masks"
PREDICTIONS = "predictions"
CACHE = ".cache"
LAYOUT = "2"  # 1: predictions and people's masks shared masks/; 2: predictions/ apart


class MaskFiles:
    """Mixin of Project: everything that reads or writes mask files. Needs `root`, `labels`,
    `transaction()`, `image()` and `_meta`/`_set_meta` from the project."""

    root: Path

    # -- where things are ---------------------------------------------------------------------------
    def mask_name(self, image_id: int) -> str:
        """The image's file name under masks/ and predictions/ (a relative POSIX path); an image of a
        project that could not be migrated (a read-only copy) keeps its old id name."""
        row = self.db.execute("SELECT mask_name FROM images WHERE id = ?", (image_id,)).fetchone()
        return row[0] if row is not None and row[0] else legacy_name(image_id)

    def mask_path(self, image_id: int) -> Path:
        """The person's mask (exists only for corrected and reviewed images)."""
        return self.root / MASKS / self.mask_name(image_id)

    def prediction_path(self, image_id: int) -> Path:
        return self.root / PREDICTIONS / self.mask_name(image_id)

    def mask_pyramid_path(self, image_id: int) -> Path:
        """A whole slide's labels: a label pyramid (project.label_pyramid), not a PNG."""
        return pyramid_path(self.root / MASKS, self.mask_name(image_id))

    def prediction_pyramid_path(self, image_id: int) -> Path:
        """A whole slide's predicted labels, apart from the person's (tile by tile, inference.slide_predict)."""
        return pyramid_path(self.root / PREDICTIONS, self.mask_name(image_id))

    def confidence_pyramid_path(self, image_id: int) -> Path:
        """A whole slide's prediction confidence (inference.slide_predict.confidence_byte), cached."""
        return pyramid_path(self.root / CACHE / "confidence", self.mask_name(image_id))

    def has_person_mask(self, image_id: int) -> bool:
        return self.mask_path(image_id).is_file() or self.mask_pyramid_path(image_id).is_dir()

    def slide_labels_saved(self, image_id: int) -> str:
        """A person's strokes on a slide reached its label pyramid: the image is corrected (or stays
        reviewed); returns its state."""
        with self.transaction() as db:
            current = self._state_in(db, image_id)
            if current not in HUMAN_STATES:
                self._record_state(db, image_id, "corrected")
                return "corrected"
        return current

    def confidence_path(self, image_id: int) -> Path:
        return self.root / CACHE / "confidence" / self.mask_name(image_id)

    # -- reading ------------------------------------------------------------------------------------
    def load_mask(self, image_id: int, shape: tuple[int, int] | None = None) -> np.ndarray | None:
        """The person's mask, or None when no person has labelled the image."""
        path = self.mask_path(image_id)
        return read_mask(path, shape=shape, labels=self.labels) if path.is_file() else None

    def load_prediction(self, image_id: int, shape: tuple[int, int] | None = None) -> np.ndarray | None:
        path = self.prediction_path(image_id)
        return read_mask(path, shape=shape, labels=self.labels) if path.is_file() else None

    def load_shown_mask(self, image_id: int, shape: tuple[int, int] | None = None) -> tuple[np.ndarray | None, bool]:
        """What the canvas starts from: the person's mask (True), else the latest prediction (False)."""
        human = self.load_mask(image_id, shape)
        if human is not None:
            return human, True
        return self.load_prediction(image_id, shape), False

    def load_confidence(self, image_id: int, shape: tuple[int, int] | None = None) -> np.ndarray | None:
        path = self.confidence_path(image_id)
        if not path.is_file():
            return None
        try:
            with Image.open(path) as img:
                conf = np.asarray(img, dtype=np.float32) / 255.0
        except OSError:
            return None  # a cache: if it is damaged, it is simply gone
        return conf if shape is None or conf.shape == tuple(shape) else None

    # -- writing ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _placing(self, final: Path, mask: np.ndarray, image_id: int):
        """The one write step: the PNG is prepared beside `final` first (the slow part, outside the
        lock), then the body runs inside the write transaction with the image's current state and a
        `place()` that renames the file into place. Nothing is placed if the body raises."""
        tmp = prepared_file(final, lambda t: encode_mask(t, mask, self.labels, name=final))

        def place() -> None:
            os.replace(tmp, final)
            fsync_dir(final.parent)

        try:
            with self.transaction() as db:
                self._finish_label_change_in(db)
                yield db, self._state_in(db, image_id), place
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _state_in(self, db: sqlite3.Connection, image_id: int) -> str:
        row = db.execute("SELECT state FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise ProjectError(f"no image with id {image_id} in {self.root}")
        return row[0]

    @staticmethod
    def _record_state(db: sqlite3.Connection, image_id: int, state: str, action: str = "state") -> None:
        db.execute("UPDATE images SET state = ?, updated = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
                   (state, image_id))
        db.execute("INSERT INTO history (image_id, action, detail) VALUES (?, ?, ?)", (image_id, action, state))

    def save_mask(self, image_id: int, mask: np.ndarray, state: str | None = "corrected") -> str:
        """A person's mask and its state, in one step; returns the state set. `state=None` means
        "corrected, unless a person already marked it reviewed" (what an edit by the reviewer keeps)."""
        if state not in (None, *HUMAN_STATES):
            raise ValueError(f"a person's mask is corrected or reviewed, not {state!r}")
        with self._placing(self.mask_path(image_id), mask, image_id) as (db, current, place):
            new = state or ("reviewed" if current == "reviewed" else "corrected")
            place()
            self._record_state(db, image_id, new)
        return new

    def revert_mask(self, image_id: int) -> str:
        """The person's mask is gone (undone back to the prediction): the image is "predicted" again,
        or "new" when there is no prediction. Returns the state set."""
        with self.transaction() as db:
            self._finish_label_change_in(db)
            self._state_in(db, image_id)
            with contextlib.suppress(FileNotFoundError):
                self.mask_path(image_id).unlink()
            new = "predicted" if self.prediction_path(image_id).is_file() else "new"
            self._record_state(db, image_id, new, "revert to prediction")
        return new

    def set_state(self, image_id: int, state: str) -> None:
        """A mark (corrected <-> reviewed) of an image whose person's mask is on disk, or the model's
        states for one that has none: a state the pixels on disk do not earn is refused."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        with self.transaction() as db:
            self._state_in(db, image_id)
            human_file = self.has_person_mask(image_id)
            if (state in HUMAN_STATES) != human_file:
                raise ProjectError(f"image {image_id} cannot be marked {state}: "
                                   + ("no person's mask is saved for it" if not human_file else
                                      "a person's mask is saved for it (revert it instead)"))
            self._record_state(db, image_id, state)

    def save_prediction(self, image_id: int, labels: np.ndarray, confidence: np.ndarray,
                        uncertainty: float) -> bool:
        """Keeps the model's latest prediction (apart from any person's mask). Returns True when the
        image has no person's mask, so the prediction is what the image shows; its state becomes
        "predicted" then, in the same step."""
        with self._placing(self.prediction_path(image_id), labels, image_id) as (db, current, place):
            place()
            shown = current not in HUMAN_STATES
            db.execute("UPDATE images SET uncertainty = ? WHERE id = ?", (uncertainty, image_id))
            if shown and current != "predicted":
                self._record_state(db, image_id, "predicted")
        conf = np.clip(confidence * 255 + 0.5, 0, 255).astype(np.uint8)
        try:
            with atomic_path(self.confidence_path(image_id)) as ctmp:
                Image.fromarray(conf).save(ctmp, format="PNG", compress_level=1)
        except OSError:
            pass  # the confidence map is a cache; the prediction and state above are what matter
        return shown

    # -- label set changes --------------------------------------------------------------------------
    def change_labels(self, labels: LabelSet, mapping: dict[int, int] | None = None) -> int:
        """Replaces the label set; `mapping` (old index -> new index, or 255 for ignore) rewrites every
        mask and prediction. New files are written beside the old ones first and a journal is
        committed, so a crash at any point finishes the change on the next open (or at the next
        write, by any process) instead of mixing old and new indices."""
        lut = np.arange(256, dtype=np.uint8)
        for old, new in (mapping or {}).items():
            lut[old] = new
        pending = []
        if mapping:
            for rec in self.images():
                for src in (self.mask_path(rec.id), self.prediction_path(rec.id)):
                    if src.is_file():
                        tmp = src.with_name(f".{src.name}.relabel")  # hidden: never taken for a mask
                        with atomic_path(tmp) as t:
                            encode_mask(t, lut[read_mask(src, labels=self.labels)], labels, name=src)
                        pending.append([str(tmp), str(src)])
                for src in (self.mask_pyramid_path(rec.id), self.prediction_pyramid_path(rec.id)):
                    if src.is_dir():  # a whole slide's labels, chunk by chunk
                        tmp = src.with_name(f".{src.name}.relabel")
                        remapped_copy(src, tmp, lut)
                        pending.append([str(tmp), str(src)])
        journal = json.dumps({"labels": labels.to_dict(), "files": pending})
        self._set_meta("pending_label_change", journal, "change labels", ", ".join(labels.names))
        with self.transaction() as db:
            self._finish_label_change_in(db)
        self._labels = None
        return len(pending)

    def _finish_label_change_in(self, db: sqlite3.Connection) -> None:
        row = db.execute("SELECT value FROM meta WHERE key = 'pending_label_change'").fetchone()
        if row is None:
            return
        change = json.loads(row[0])
        for tmp, final in change["files"]:
            if Path(final).suffix == ".zarr":
                replace_folder(Path(tmp), Path(final))  # a label pyramid (a folder): finished if cut off
            elif Path(tmp).exists():
                os.replace(tmp, final)
        db.execute("UPDATE meta SET value = ? WHERE key = 'labels'", (json.dumps(change["labels"]),))
        db.execute("DELETE FROM meta WHERE key = 'pending_label_change'")
        self._labels = None

    # -- agreement after a crash --------------------------------------------------------------------
    def _reconcile(self) -> list[tuple[int, str, str]]:
        """Makes every image's state agree with the files (a process killed between a rename and its
        commit), moves predictions out of masks/ in projects made before they had their own folder,
        and renames id-named files after their images. Returns the (image id, old state, new state)
        it changed."""
        changed = []
        with self.transaction() as db:
            self._finish_label_change_in(db)
            layout = db.execute("SELECT value FROM meta WHERE key = 'mask_layout'").fetchone()
            rows = db.execute("SELECT id, state FROM images").fetchall()
            if layout is None:  # layout 1: a mask of an image nobody labelled was the model's
                for image_id, state in rows:
                    old = self.root / MASKS / legacy_name(image_id)
                    if state not in HUMAN_STATES and old.is_file():
                        (self.root / PREDICTIONS).mkdir(exist_ok=True)
                        os.replace(old, self.root / PREDICTIONS / legacy_name(image_id))
                db.execute("INSERT INTO meta (key, value) VALUES ('mask_layout', ?)", (LAYOUT,))
            self._name_masks_in(db)
            names = dict(db.execute("SELECT id, mask_name FROM images").fetchall())
            on_disk = self._files_in(MASKS)
            for image_id, state in rows:
                human_file = (names[image_id] or legacy_name(image_id)) in on_disk
                if human_file and state not in HUMAN_STATES:
                    new = "corrected"  # the person's save renamed its file, then the process died
                elif not human_file and state in HUMAN_STATES:
                    new = "predicted" if self.prediction_path(image_id).is_file() else "new"
                else:
                    continue
                self._record_state(db, image_id, new, "reconcile")
                changed.append((image_id, state, new))
        return changed

    def _files_in(self, folder: str) -> set[str]:
        """The mask files under a folder as relative POSIX paths (hidden files and folders aside)."""
        base = self.root / folder
        out = {p.relative_to(base).as_posix().removesuffix(".zarr") + ".png" for p in base.rglob("*.zarr")
               if p.is_dir() and not p.name.startswith(".")}  # a slide's label pyramid
        for p in base.rglob("*.png"):
            rel = p.relative_to(base).as_posix()
            if not any(part.startswith(".") for part in rel.split("/")):
                out.add(rel)
        return out

    def _name_masks_in(self, db: sqlite3.Connection) -> int:
        """Gives every image without one its mask name and moves its id-named files there, inside the
        caller's write transaction. A crash after some renames rolls the names back; the next opening
        chooses the same names (same rows, same taken set) and finds those files already moved. The
        id names of images still to move are reserved, so no move lands on a file yet to be moved."""
        unnamed = db.execute("SELECT id, path FROM images WHERE mask_name IS NULL ORDER BY id").fetchall()
        if not unnamed:
            return 0
        taken = taken_names(n for (n,) in db.execute("SELECT mask_name FROM images"))
        taken |= {legacy_name(i).casefold() for i, _ in unnamed}
        for image_id, stored in unnamed:
            name = mask_name_for(stored, taken)
            taken.add(name.casefold())
            for folder in (self.root / MASKS, self.root / PREDICTIONS, self.root / CACHE / "confidence"):
                old, new = folder / legacy_name(image_id), folder / name
                if old.is_file() and not new.exists():
                    new.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(old, new)
            db.execute("UPDATE images SET mask_name = ? WHERE id = ?", (name, image_id))
        for folder in (self.root / MASKS, self.root / PREDICTIONS):
            if folder.is_dir():
                fsync_dir(folder)
        return len(unnamed)

    def _sweep_interrupted_writes(self, older_than: float = 600.0) -> int:
        """A process killed mid-save leaves its temporary file (never a half-written mask: the rename
        did not happen); remove such leftovers when the project opens. Only old ones: other processes
        (the app, a training run) open the project too, and a fresh temporary file is a save in flight."""
        now = time.time()
        removed = 0
        for folder in (MASKS, PREDICTIONS):
            for tmp in (self.root / folder).rglob(f".*{TEMP_SUFFIX}"):
                try:
                    if now - tmp.stat().st_mtime > older_than:
                        tmp.unlink()
                        removed += 1
                except OSError:
                    pass
        return removed

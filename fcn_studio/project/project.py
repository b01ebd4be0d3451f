"""A labelling project on disk: `project.sqlite` (images and their state, label set, model, history)
beside `masks/`. Images stay where the user keeps them; paths are stored relative to the project
when that is short, so a moved data folder keeps working. Every change is one transaction; each
thread gets its own connection, so workers can save predictions while the GUI reads."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fcn_studio.core.image_io import find_image_files, is_image_file, is_zarr_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.splits import assign_sides
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.journal import replay_orphans
from fcn_studio.project.label_pyramid import LabelPyramid
from fcn_studio.project.label_pyramid import replay_orphans as replay_pyramids
from fcn_studio.project.mask_names import mask_name_for, taken_names
from fcn_studio.project.masks import CACHE, MASKS, PREDICTIONS, MaskFiles
from fcn_studio.project.schema import HUMAN_STATES, STATES, migrate

DB_NAME = "project.sqlite"
SESSION_PREFIX = "fcn-studio-session-"  # a temporary session's folder, in the system's temporary folder
__all__ = ["CACHE", "DB_NAME", "MASKS", "PREDICTIONS", "AddResult", "ImageRecord", "Project", "ProjectError"]


@dataclass(frozen=True)
class ImageRecord:
    id: int
    path: str  # as stored: relative to the project root, or absolute
    state: str
    width: int | None
    height: int | None
    uncertainty: float | None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class AddResult:
    added: int = 0
    already: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def stored_path(path: str, root: str, relative: bool = True) -> str:
    """How a resolved path is stored: relative to the project `root` when that takes at most two
    '..', else absolute (POSIX style). String operations only: adding ten thousand files must be quick."""
    if relative:
        try:
            rel = os.path.relpath(path, root)
            if rel.replace(os.sep, "/").split("/").count("..") <= 2:
                return rel.replace(os.sep, "/")
        except ValueError:
            pass  # another drive on Windows
    return Path(path).as_posix()


class Project(MaskFiles):
    def __init__(self, root: Path, temporary: bool = False) -> None:
        self.root = Path(root).resolve()
        self._root_str = str(self.root)
        self.temporary = temporary
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._labels: LabelSet | None = None
        self.closed = False
        migrate(self.db)
        try:
            self._reconcile()
        except sqlite3.OperationalError as exc:  # a read-only copy: nothing can disagree that we could fix
            if "readonly" not in str(exc).replace(" ", "").lower():
                raise
        self._sweep_interrupted_writes()
        self.restored = replay_orphans(self)  # edits journalled by a window that was killed
        self.restored += self._replay_slide_strokes()

    def _replay_slide_strokes(self) -> list[int]:
        """Strokes on slides journalled by a window that was killed before they reached the chunks."""
        try:
            restored = replay_pyramids(self.root, lambda i: LabelPyramid.open(self.mask_pyramid_path(i), sweep=True))
        except OSError:  # a read-only copy: they stay for a window that can write
            return []
        for image_id in restored:
            self.slide_labels_saved(image_id)
        return restored

    # -- opening ------------------------------------------------------------------------------
    @staticmethod
    def is_project(path: str | Path) -> bool:
        return (Path(path) / DB_NAME).is_file()

    @classmethod
    def create(cls, root: str | Path, labels: LabelSet | None = None) -> Project:
        root = Path(root)
        if cls.is_project(root):
            raise ProjectError(f"{root} is already a project")
        try:
            (root / MASKS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create a project in {root}: {exc.strerror or exc}") from exc
        project = cls(root)
        project._set_meta("labels", json.dumps((labels or LabelSet.voc()).to_dict()), "create project")
        return project

    @classmethod
    def open(cls, root: str | Path) -> Project:
        root = Path(root)
        if root.name == DB_NAME:
            root = root.parent
        if not cls.is_project(root):
            raise ProjectError(f"{root} is not a project (no {DB_NAME})")
        try:
            return cls(root)
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{root / DB_NAME}: cannot read the project database ({exc})") from exc

    @classmethod
    def temporary_session(cls, labels: LabelSet | None = None) -> Project:
        """For a loose folder the user did not make a project: nothing is written beside the images."""
        project = cls.create(Path(tempfile.mkdtemp(prefix=SESSION_PREFIX)), labels)
        project.temporary = True
        return project

    @property
    def db(self) -> sqlite3.Connection:
        if self.closed:
            raise ProjectError(f"the project {self.root} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.root / DB_NAME, isolation_level=None, timeout=10)
            except sqlite3.OperationalError as exc:
                raise ProjectError(f"{self.root / DB_NAME}: cannot open ({exc})") from exc
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        self.closed = True
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # made in a thread that is gone; sqlite closes it with the thread
            self._connections.clear()
        self._local = threading.local()
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- metadata -----------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None, action: str, detail: str | None = None) -> None:
        with self.transaction() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                           "SET value = excluded.value", (key, value))
            db.execute("INSERT INTO history (action, detail) VALUES (?, ?)", (action, detail))

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def labels(self) -> LabelSet:
        if self._labels is None:
            raw = self._meta("labels")
            self._labels = LabelSet.from_dict(json.loads(raw)) if raw else LabelSet.voc()
        return self._labels

    @property
    def model_path(self) -> Path | None:
        raw = self._meta("model")
        return None if raw is None else self._absolute(raw)

    def set_model_path(self, path: str | Path | None) -> None:
        stored = None if path is None else self._stored(Path(path))
        self._set_meta("model", stored, "set model", stored)

    @property
    def click_model_path(self) -> Path | None:
        """The click model in use (project.click_models); None: the machine's start model."""
        raw = self._meta("click_model")
        return None if raw is None else self._absolute(raw)

    def set_click_model_path(self, path: str | Path | None) -> None:
        stored = None if path is None else self._stored(Path(path))
        self._set_meta("click_model", stored, "set click model", stored)

    @property
    def click_pinned(self) -> bool:
        """Pinned: keep learning still records click-model versions but swaps none in."""
        return self._meta("click_pinned") == "on"

    def set_click_pinned(self, on: bool) -> None:
        self._set_meta("click_pinned", "on" if on else "off", "pin click model", "on" if on else "off")

    # -- images -------------------------------------------------------------------------------
    def _stored(self, path: str | Path, resolved: bool = False) -> str:
        path = str(path) if resolved else str(Path(path).resolve())
        return stored_path(path, self._root_str, relative=not self.temporary)

    def _absolute(self, stored: str) -> Path:
        if os.path.isabs(stored):
            return Path(stored)
        return Path(os.path.normpath(os.path.join(self._root_str, stored)))

    def image_path(self, record: ImageRecord | int) -> Path:
        rec = self.image(record) if isinstance(record, int) else record
        return self._absolute(rec.path)

    def add_images(self, paths: Iterable[str | Path]) -> AddResult:
        """Files and folders (recursively); duplicates are counted, not added twice. Images are not
        opened here, so adding ten thousand takes a moment; their sizes fill in when first loaded."""
        result = AddResult()
        files: list[str] = []  # resolved
        for raw in paths:
            p = Path(raw)
            if is_zarr_image(p):
                files.append(str(p.resolve()))
            elif p.is_dir():
                files.extend(find_image_files(p.resolve()))
            elif p.is_file() and is_image_file(p):
                files.append(str(p.resolve()))
            else:
                result.skipped.append((str(p), "not an image file or folder" if p.exists() else "no such file"))
        with self.transaction() as db:
            known = {p for (p,) in db.execute("SELECT path FROM images")}
            taken = taken_names(n for (n,) in db.execute("SELECT mask_name FROM images"))
            for f in files:
                stored = self._stored(f, resolved=True)
                if stored in known:
                    result.already += 1
                    continue
                name = mask_name_for(stored, taken)
                db.execute("INSERT INTO images (path, mask_name) VALUES (?, ?)", (stored, name))
                known.add(stored)
                taken.add(name.casefold())
                result.added += 1
            db.execute("INSERT INTO history (action, detail) VALUES ('add images', ?)", (f"{result.added} added",))
        return result

    def remove_images(self, ids: Iterable[int]) -> int:
        """Takes images out of the project (an import undone); their files stay where they are, their
        masks and predictions go."""
        ids = list(ids)
        with self.transaction() as db:
            for image_id in ids:
                for path in (self.mask_path(image_id), self.prediction_path(image_id), self.confidence_path(image_id)):
                    path.unlink(missing_ok=True)
                db.execute("DELETE FROM images WHERE id = ?", (image_id,))
            db.execute("INSERT INTO history (action, detail) VALUES ('remove images', ?)", (f"{len(ids)} removed",))
        return len(ids)

    def images(self, state: str | None = None) -> list[ImageRecord]:
        sql = "SELECT id, path, state, width, height, uncertainty FROM images"
        args: tuple = ()
        if state is not None:
            sql += " WHERE state = ?"
            args = (state,)
        return [ImageRecord(*row) for row in self.db.execute(sql + " ORDER BY path", args)]

    def image(self, image_id: int) -> ImageRecord:
        row = self.db.execute("SELECT id, path, state, width, height, uncertainty FROM images WHERE id = ?",
                              (image_id,)).fetchone()
        if row is None:
            raise ProjectError(f"no image with id {image_id} in {self.root}")
        return ImageRecord(*row)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        counts.update(self.db.execute("SELECT state, COUNT(*) FROM images GROUP BY state").fetchall())
        return counts

    def set_size(self, image_id: int, width: int, height: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE images SET width = ?, height = ? WHERE id = ?", (width, height, image_id))

    def most_uncertain(self, limit: int | None = None) -> list[ImageRecord]:
        """Images nobody corrected yet, the ones the model is least sure of first; never-predicted
        images come after, since the model has not looked at them."""
        sql = ("SELECT id, path, state, width, height, uncertainty FROM images WHERE state IN ('new', 'predicted') "
               "ORDER BY uncertainty IS NULL, uncertainty DESC, path")
        rows = self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [ImageRecord(*r) for r in rows]

    # -- training split ---------------------------------------------------------------------------
    def training_split(self, val_fraction: float = 0.2) -> dict[int, str]:
        """The human-labelled images as {image id: "train" | "val"}, by the one split policy
        (fcn_studio.core.splits.assign_sides): stored in the project, so every run, evaluation,
        comparison and export uses the same split; an image gets its side once and never moves, and
        fewer than 5 labelled images means no validation images yet."""
        stored = json.loads(self._meta("split") or "{}")
        labelled = [r for r in self.images() if r.state in HUMAN_STATES]
        ids = {str(r.id) for r in labelled}
        known = {k: v for k, v in stored.items() if k in ids}  # the share counts labelled images only
        sides = assign_sides(known, [str(r.id) for r in labelled], val_fraction)
        if any(k not in stored for k in sides):
            self._set_meta("split", json.dumps({**stored, **sides}), "update split")
        return {int(k): v for k, v in sides.items()}

    @property
    def keep_learning(self) -> bool:
        """Whether the window keeps a training backend learning while this project is open."""
        return self._meta("keep_learning") == "on"

    def set_keep_learning(self, on: bool) -> None:
        self._set_meta("keep_learning", "on" if on else "off", "keep learning", "on" if on else "off")

    # -- history and models -------------------------------------------------------------------
    def history(self, limit: int = 100) -> list[tuple[str, int | None, str, str | None]]:
        return self.db.execute("SELECT time, image_id, action, detail FROM history ORDER BY id DESC LIMIT ?",
                               (limit,)).fetchall()

    def model_runs(self) -> list[dict]:
        rows = self.db.execute("SELECT id, created, checkpoint, metrics, note FROM model_runs ORDER BY id DESC")
        return [{"id": i, "created": c, "checkpoint": self._absolute(p), "metrics": json.loads(m or "{}"),
                 "note": n or ""} for i, c, p, m, n in rows]

    def record_model_run(self, checkpoint: str | Path, metrics: dict | None = None, note: str = "") -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO model_runs (checkpoint, metrics, note) VALUES (?, ?, ?)",
                             (self._stored(Path(checkpoint)), json.dumps(metrics or {}), note))
            return int(cur.lastrowid)

"""A temporary session becomes a real project: its database, people's masks, the model's predictions
and the models it made are copied into a folder the person chose, with the image paths made relative
to it where that is short and the mask files renamed after the images' new paths.

Everything is built in a hidden folder beside the target first; then its entries are moved in, with
`project.sqlite` last, since that file is what makes a folder a project. A crash before that leaves no
half project (only the hidden folder, cleaned up by hand or by the next try), and the session's own
folder is untouched until the caller switches to the new project."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from fcn_studio.core.atomic import create_temp_dir, fsync_dir
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.label_pyramid import pyramid_path
from fcn_studio.project.mask_names import mask_name_for, taken_names
from fcn_studio.project.masks import CACHE, MASKS, PREDICTIONS
from fcn_studio.project.project import DB_NAME, Project, stored_path

MODELS = "models"
CARRIED = (MASKS, PREDICTIONS, CACHE, MODELS)  # besides project.sqlite; masks/.journal is not carried
NAMED_FOLDERS = (MASKS, PREDICTIONS, f"{CACHE}/confidence")  # files named by mask_name


def check_target(session: Project, target: Path) -> Path:
    """The folder the project goes into: new, or one without project files in it (a folder of images
    may become the project's home). Raises ProjectError saying why not."""
    target = Path(target).resolve()
    if target == session.root or session.root in target.parents:
        raise ProjectError("choose a folder outside the session's temporary folder")
    if Project.is_project(target):
        raise ProjectError(f"{target} is already a project; choose another folder")
    clash = [n for n in (DB_NAME, *CARRIED) if (target / n).exists()]
    if clash:
        raise ProjectError(f"{target} already has {', '.join(clash)}; choose an empty folder")
    return target


def save_as(session: Project, target: str | Path) -> Path:
    """Copies the open session into `target` (see the module). The caller has saved pending edits
    first and keeps people from editing until it has switched to the new project."""
    target = check_target(session, Path(target))
    staging = create_temp_dir(target)
    try:
        dst = sqlite3.connect(staging / DB_NAME)
        with dst:
            session.db.backup(dst)  # a consistent snapshot, whatever is in the WAL
        dst.execute("PRAGMA journal_mode = DELETE")  # one file: nothing beside it to move or lose
        for folder in CARRIED:
            src = session.root / folder
            if src.is_dir():
                shutil.copytree(src, staging / folder, ignore=shutil.ignore_patterns(".journal", ".*.tmp"))
        _rehome(dst, session, staging, target)
        dst.close()
        target.mkdir(parents=True, exist_ok=True)
        for name in (*CARRIED, DB_NAME):  # project.sqlite last: until it lands, the folder is no project
            if (staging / name).exists():
                os.replace(staging / name, target / name)
        fsync_dir(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _rehome(db: sqlite3.Connection, session: Project, staging: Path, target: Path) -> None:
    """Paths stored in the copy as they would be had the project been made at `target`: images
    relative where short, the session's own files (models) relative to the project, mask files renamed
    after the new image paths (moved through a holding folder, so no rename lands on another's file)."""
    rows = db.execute("SELECT id, path, mask_name FROM images ORDER BY id").fetchall()
    taken: set[str] = taken_names([])
    moves = []
    with db:
        for image_id, stored, old_name in rows:
            new_path = stored_path(stored, str(target)) if os.path.isabs(stored) else stored
            new_name = mask_name_for(new_path, taken)
            taken.add(new_name.casefold())
            db.execute("UPDATE images SET path = ?, mask_name = NULL WHERE id = ?", (new_path, image_id))
            moves.append((image_id, old_name, new_name))
        for image_id, _old, new_name in moves:
            db.execute("UPDATE images SET mask_name = ? WHERE id = ?", (new_name, image_id))
        for key in ("model",):
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None:
                db.execute("UPDATE meta SET value = ? WHERE key = ?", (_inside(row[0], session.root), key))
        for run_id, checkpoint in db.execute("SELECT id, checkpoint FROM model_runs").fetchall():
            db.execute("UPDATE model_runs SET checkpoint = ? WHERE id = ?", (_inside(checkpoint, session.root), run_id))
    for folder in NAMED_FOLDERS:
        base = staging / folder
        if not base.is_dir():
            continue
        holding = base.with_name(base.name + ".renaming")
        os.replace(base, holding)
        base.mkdir()
        for _image_id, old_name, new_name in moves:
            if not old_name:
                continue
            for old, new in ((holding / old_name, base / new_name),  # a mask, and a slide's label pyramid
                             (pyramid_path(holding, old_name), pyramid_path(base, new_name))):
                if old.exists():
                    new.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(old, new)
        shutil.rmtree(holding, ignore_errors=True)


def _inside(stored: str, old_root: Path) -> str:
    """A path the session stored inside its own folder, made relative (so it moves with the project)."""
    path = Path(stored)
    try:
        return path.resolve().relative_to(old_root).as_posix() if path.is_absolute() else stored
    except ValueError:
        return stored

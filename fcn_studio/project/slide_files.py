"""Which file the slide reader opens for a project's image: the image itself when it is a slide, or the
tiled pyramidal copy of a flat image too large to open whole (a 30,000 x 30,000 PNG), made once in the
background beside the project (.cache/pyramids/) instead of refusing the image. The copy is made again
when the image file changes (its size and modification time are written beside it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.progress import Progress
from fcn_studio.project.masks import CACHE
from fcn_studio.project.project import Project

FOLDER = "pyramids"


def converted_path(project: Project, image_id: int) -> Path:
    return project.root / CACHE / FOLDER / (project.mask_name(image_id).removesuffix(".png") + ".ome.tif")


def _stamp(image: Path) -> dict:
    st = image.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def current_copy(project: Project, image_id: int) -> Path | None:
    """The image's tiled copy if it was made from the image file as it is now."""
    copy = converted_path(project, image_id)
    try:
        made_from = json.loads(copy.with_suffix(".json").read_text(encoding="utf-8"))
        return copy if copy.is_file() and made_from == _stamp(project.image_path(image_id)) else None
    except (OSError, ValueError):
        return None


def slide_path(project: Project, image_id: int) -> Path:
    """What the slide reader opens for the image: its tiled copy if it has one, else the image."""
    return current_copy(project, image_id) or project.image_path(image_id)


def make_copy(project: Project, image_id: int, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> Path:
    """Makes the image's tiled copy (core.slide.convert: whole or not at all); returns its path."""
    from fcn_studio.core.slide.convert import convert_to_pyramid  # noqa: PLC0415

    image = project.image_path(image_id)
    stamp = _stamp(image)
    copy = converted_path(project, image_id)
    copy.parent.mkdir(parents=True, exist_ok=True)
    convert_to_pyramid(image, copy, progress, cancel)
    with atomic_path(copy.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(stamp), encoding="utf-8")
    return copy

"""A whole slide's labelled regions as ordinary training pairs: each WINDOW x WINDOW window of the slide
that holds a person's labels becomes an image crop and its mask, as files in the project's cache, so
training, validation (its scores and fingerprints), keep learning and the click lane read a slide with
a few corrected regions as a set of small images, through the loaders they already use. Only the
label pyramid's stored chunks are listed and only those windows' tiles are read; a window's files are
written again when its labels change, and go when its labels are erased."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.core.mask_io import MaskError, read_mask, write_mask
from fcn_studio.project.label_pyramid import LabelPyramid
from fcn_studio.project.masks import CACHE
from fcn_studio.project.project import Project
from fcn_studio.project.slide_files import slide_path

WINDOW = 1024  # the side of a training crop from a slide (level-0 pixels), two label chunks
FOLDER = "slide-crops"

Rect = tuple[int, int, int, int]


def crops_folder(project: Project, image_id: int) -> Path:
    return project.root / CACHE / FOLDER / str(image_id)


def slide_crops(project: Project, image_id: int) -> list[tuple[Path, Path, Rect]]:
    """(image file, mask file, rect) for every labelled window of the slide `image_id`, made or
    refreshed now. Raises ImageLoadError when the slide cannot be read."""
    pyramid = LabelPyramid.open(project.mask_pyramid_path(image_id))
    h, w = pyramid.shape
    ch, cw = pyramid.arrays[0].chunks
    windows = sorted({(r * ch // WINDOW, c * cw // WINDOW) for r, c in pyramid.stored_chunks(0)})
    folder = crops_folder(project, image_id)
    folder.mkdir(parents=True, exist_ok=True)
    slide = None
    found: list[tuple[Path, Path, Rect]] = []
    try:
        for wy, wx in windows:
            rect = (wy * WINDOW, wx * WINDOW, min(h, (wy + 1) * WINDOW), min(w, (wx + 1) * WINDOW))
            labels = pyramid.read(0, rect)
            image_file, mask_file = folder / f"{rect[0]}_{rect[1]}.png", folder / f"{rect[0]}_{rect[1]}_mask.png"
            if (labels == IGNORE_INDEX).all():
                continue
            if not _same(mask_file, labels):
                write_mask(mask_file, labels, project.labels)
            if not image_file.is_file():
                if slide is None:
                    from fcn_studio.core.slide import TileCache, open_slide  # noqa: PLC0415

                    slide = open_slide(slide_path(project, image_id), cache=TileCache(64 * 2**20))
                _write_rgb(image_file, slide.read_region(0, rect))
            found.append((image_file, mask_file, rect))
    finally:
        if slide is not None:
            slide.close()
    kept = {p for pair in found for p in pair[:2]}
    for stale in folder.glob("*.png"):  # windows whose labels were all erased
        if stale not in kept:
            with contextlib.suppress(OSError):
                stale.unlink()
    return found


def forget_crops(project: Project, image_id: int) -> None:
    shutil.rmtree(crops_folder(project, image_id), ignore_errors=True)


def _same(mask_file: Path, labels: np.ndarray) -> bool:
    try:
        return np.array_equal(read_mask(mask_file, labels.shape), labels)
    except (OSError, MaskError):
        return False


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image  # noqa: PLC0415

    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG", compress_level=1)

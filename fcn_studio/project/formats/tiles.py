"""`--tiles N`: every exported image cut into N x N tiles (the last row and column smaller), each tile an
image of its own in the export with its part of the mask, named <image>_<y>_<x> after its top-left
pixel; tiles with no label are left out. Whole slides are cut this way too, reading only the tiles of
their label pyramid that hold labels and the slide's pixels under them, so VOC, COCO and mask folders
take slides of any size. Tile images are written as PNG into a staging folder of the export, which the
format's writer then places like any image file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.project.formats.region_labels import region_labels
from fcn_studio.project.project import Project

STAGING = ".tiles"  # inside the export being built; gone before it is renamed into place


def tile_items(project: Project, item, side: int, staging: Path) -> Iterator[tuple[object, np.ndarray]]:
    """(ExportItem of one tile, its mask) for each labelled N x N tile of `item`'s image."""
    from PIL import Image  # noqa: PLC0415

    labels = region_labels(project, item.record)
    if labels is None:
        return
    h, w = labels.shape
    if labels.pyramid is not None:  # a slide: the tiles its stored label chunks touch
        ch, cw = labels.pyramid.arrays[0].chunks
        origins = sorted({(ty, tx) for r, c in labels.pyramid.stored_chunks(0)
                          for ty in range(r * ch // side, min(h, (r + 1) * ch) // side + 1)
                          for tx in range(c * cw // side, min(w, (c + 1) * cw) // side + 1)
                          if ty * side < h and tx * side < w})
    else:
        origins = [(ty, tx) for ty in range(-(-h // side)) for tx in range(-(-w // side))]
    read = _pixels(project, item, labels)
    staging.mkdir(parents=True, exist_ok=True)
    for ty, tx in origins:
        rect = (ty * side, tx * side, min(h, (ty + 1) * side), min(w, (tx + 1) * side))
        mask = labels.pyramid.read(0, rect) if labels.pyramid is not None else labels.mask[
            rect[0]:rect[2], rect[1]:rect[3]]
        if (mask == IGNORE_INDEX).all():
            continue
        name = f"{item.name}_{rect[0]}_{rect[1]}"
        image_file = staging / f"{name}.png"
        Image.fromarray(read(rect)).save(image_file, format="PNG", compress_level=1)
        yield replace(item, image=image_file, name=name), np.ascontiguousarray(mask)


def _pixels(project: Project, item, labels):
    """rect -> the image's RGB pixels there: a slide's read tile by tile, an ordinary image decoded once."""
    if labels.pyramid is None:
        from fcn_studio.core.image_io import load_image  # noqa: PLC0415

        image = load_image(item.image)
        return lambda rect: np.ascontiguousarray(image[rect[0]:rect[2], rect[1]:rect[3]])
    from fcn_studio.core.slide import TileCache, open_slide  # noqa: PLC0415
    from fcn_studio.project.slide_files import slide_path  # noqa: PLC0415

    slide = open_slide(slide_path(project, item.record.id), cache=TileCache(64 * 2**20))
    return lambda rect: slide.read_region(0, rect)

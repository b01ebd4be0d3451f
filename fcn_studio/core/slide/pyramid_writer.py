"""Writes a tiled pyramidal OME-TIFF from rows of pixels that come in order, without holding a level:
the one writer behind converting flat images (area means) and predicting slides (labels, nearest).

Each level is written tile row by tile row: a band of rows is asked for, cut into tiles for the file,
and its halving is put into a temporary zarr array (compressed, beside the output) from which the next
level is written the same way. Memory holds a band (tile rows x width) and the source's own. The output
appears only when whole (an atomic rename): a cancel or a failure leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fcn_studio.core.atomic import atomic_path, create_temp_dir
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.progress import Progress
from fcn_studio.core.pyramid import level_count

TILE = 512


class Cancelled(Exception):
    """The work was cancelled; nothing was written."""


class Rows(Protocol):
    """Pixels by bands of rows, asked for in order: `shape` is (height, width, channels)."""

    shape: tuple[int, int, int]
    dtype: np.dtype

    def band(self, y0: int, y1: int) -> np.ndarray: ...


def area_halve(band: np.ndarray) -> np.ndarray:
    """The 2 x 2 area mean, as the display levels make theirs (core.pyramid.halve), channels kept."""
    h, w = band.shape[:2]
    out = cv2.resize(band, (-(-w // 2), -(-h // 2)), interpolation=cv2.INTER_AREA)
    return out[..., None] if out.ndim == 2 else out


def nearest_halve(band: np.ndarray) -> np.ndarray:
    """Every other pixel: labels are sampled, never averaged into a class nobody chose."""
    return band[::2, ::2]


def label_metadata(labels: LabelSet) -> dict:
    """OME metadata for a label image: the class table (names, colours, ignore index) as JSON in the
    image's Description, so the values keep their meaning outside FCN Studio."""
    return {"Name": "labels", "Description": json.dumps({"fcn_studio_labels": labels.to_dict()})}


def write_pyramid_tiff(output: str | Path, rows: Rows, halve: Callable[[np.ndarray], np.ndarray],
                       progress: Progress | None = None, cancel: threading.Event | None = None,
                       tile: int = TILE, metadata: dict | None = None) -> Path:
    """Writes `output` from `rows`, levels down to core.pyramid's smallest, with OME `metadata`.
    `progress(done, total)` counts bands of all levels; `cancel.set()` (from any thread) stops it
    with Cancelled."""
    import tifffile
    import zarr

    output = Path(output)
    h, w, channels = rows.shape
    count = level_count(h, w)
    shapes = [(-(-h // 2**k), -(-w // 2**k)) for k in range(count)]
    total = sum(-(-lh // tile) for lh, _ in shapes)
    done = [0]
    scratch = create_temp_dir(output)
    try:
        levels = [zarr.create_array(str(scratch / f"{k}.zarr"), shape=(*shapes[k], channels),
                                    chunks=(tile // 2, shapes[k][1], channels), dtype=rows.dtype)
                  for k in range(1, count)]

        def band(k: int, y0: int) -> np.ndarray:
            if k == 0:
                data = np.asarray(rows.band(y0, min(h, y0 + tile)))
                return data[..., None] if data.ndim == 2 else data
            return np.asarray(levels[k - 1][y0:y0 + tile])

        def tiles(k: int) -> Iterator[np.ndarray]:
            lh, lw = shapes[k]
            for y0 in range(0, lh, tile):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"writing {output} cancelled")
                data = band(k, y0)
                if k + 1 < count:
                    levels[k][y0 // 2:y0 // 2 + -(-data.shape[0] // 2)] = halve(data)
                done[0] += 1  # told before its tiles go: the writer takes a level's last tile and never asks again
                if progress is not None:
                    progress(done[0], total)
                for x0 in range(0, lw, tile):
                    out = np.zeros((tile, tile, channels), rows.dtype)  # edge tiles padded, as TIFF wants
                    part = data[:, x0:x0 + tile]
                    out[:part.shape[0], :part.shape[1]] = part
                    yield out if channels > 1 else out[..., 0]

        kw = {"tile": (tile, tile), "dtype": rows.dtype, "compression": "zlib",
              "photometric": "rgb" if channels == 3 else "minisblack"}

        def level_shape(k: int) -> tuple[int, ...]:
            return (*shapes[k], channels) if channels > 1 else shapes[k]

        with atomic_path(output) as tmp, tifffile.TiffWriter(tmp, ome=True, bigtiff=True) as writer:
            writer.write(tiles(0), shape=level_shape(0), subifds=count - 1, metadata=metadata or {}, **kw)
            for k in range(1, count):
                writer.write(tiles(k), shape=level_shape(k), subfiletype=1, **kw)
        return output
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

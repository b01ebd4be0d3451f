"""A flat image too large to open (a 30,000 x 30,000 PNG, JPEG or TIFF) made once into a tiled pyramidal
OME-TIFF that the slide reader opens tile by tile, instead of being refused.

Each level is written tile row by tile row: a band of rows is read, cut into tiles for the file, and its
2 x 2 area mean is put into a temporary zarr array (compressed, beside the output) from which the next
level is written the same way. So apart from the source, memory holds a band (tile rows x width), never
a level. What the source costs depends on its format:
- TIFF (strips or tiles): read band by band through tifffile's zarr view: peak memory is a few bands;
- PNG and JPEG: neither Pillow nor OpenCV decodes them in bands, so they are decoded whole, once, by the
  app's one loader (EXIF orientation, every mode to RGB): peak memory is about the decoded image
  (3 bytes a pixel), which is why this runs once, in the background, and never again for that image.

Level 0 keeps the source's pixels exactly (deflate, lossless). The output appears only when whole (an
atomic rename): a cancel or a failure leaves nothing behind."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from fcn_studio.core.atomic import atomic_path, create_temp_dir
from fcn_studio.core.image_io import ImageLoadError, load_image
from fcn_studio.core.progress import Progress
from fcn_studio.core.pyramid import level_count

TILE = 512
CONVERT_MAX_PIXELS = 4_000_000_000  # a decompression-bomb guard still, just far above the viewer's


class Cancelled(Exception):
    """The conversion was cancelled; nothing was written."""


class _Source:
    """A flat image as (height, width, channels) read in bands of rows."""

    def __init__(self, shape: tuple[int, ...], dtype, read: Callable[[int, int], np.ndarray], close=None) -> None:
        self.shape, self.dtype, self._read, self.close = shape, np.dtype(dtype), read, close or (lambda: None)

    def band(self, y0: int, y1: int) -> np.ndarray:
        data = np.asarray(self._read(y0, y1))
        return data[..., None] if data.ndim == 2 else data


def _open_source(path: Path) -> _Source:
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile
        import zarr

        try:
            tif = tifffile.TiffFile(path)
        except Exception as exc:  # noqa: BLE001 - tifffile's many errors, as one line
            raise ImageLoadError(path, f"cannot open: {exc}") from exc
        series = tif.series[0]
        if series.axes not in ("YX", "YXS"):
            tif.close()
            raise ImageLoadError(path, f"a TIFF of axes {series.axes} cannot be converted (YX or YXS only)")
        store = series.aszarr(level=0)
        array = zarr.open_array(store, mode="r")
        shape = (*series.shape[:2], series.shape[2] if series.ndim == 3 else 1)
        return _Source(shape, series.dtype, lambda y0, y1: array[y0:y1], close=tif.close)
    rgb = _load_large(path)
    return _Source(rgb.shape, rgb.dtype, lambda y0, y1: rgb[y0:y1])


_pil_limit = threading.Lock()


def _load_large(path: Path) -> np.ndarray:
    """The whole decode, past Pillow's bomb guard (which only looks when a file is opened)."""
    from PIL import Image

    with _pil_limit:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = CONVERT_MAX_PIXELS
        try:
            return load_image(path, limit=CONVERT_MAX_PIXELS)
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _halve(band: np.ndarray) -> np.ndarray:
    """The 2 x 2 area mean, as the display levels make theirs (core.pyramid.halve), channels kept."""
    h, w = band.shape[:2]
    out = cv2.resize(band, (-(-w // 2), -(-h // 2)), interpolation=cv2.INTER_AREA)
    return out[..., None] if out.ndim == 2 else out


def convert_to_pyramid(source_path: str | Path, output: str | Path, progress: Progress | None = None,
                       cancel: threading.Event | None = None, tile: int = TILE) -> Path:
    """Writes `output` (an .ome.tif) from the flat image at `source_path`; returns `output`.
    `progress(done, total)` counts bands; `cancel.set()` (from any thread) stops it with Cancelled."""
    import tifffile
    import zarr

    source_path, output = Path(source_path), Path(output)
    source = _open_source(source_path)
    scratch = create_temp_dir(output)
    try:
        h, w, channels = source.shape
        if channels not in (1, 3):
            raise ImageLoadError(source_path, f"{channels} channels cannot be converted (grey or RGB only)")
        count = level_count(h, w)
        shapes = [(-(-h // 2**k), -(-w // 2**k)) for k in range(count)]
        total = sum(-(-lh // tile) for lh, _ in shapes)
        done = [0]
        levels = [zarr.create_array(str(scratch / f"{k}.zarr"), shape=(*shapes[k], channels),
                                    chunks=(tile // 2, shapes[k][1], channels), dtype=source.dtype)
                  for k in range(1, count)]

        def tiles(k: int) -> Iterator[np.ndarray]:
            lh, lw = shapes[k]
            for y0 in range(0, lh, tile):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"conversion of {source_path} cancelled")
                band = source.band(y0, min(lh, y0 + tile)) if k == 0 else np.asarray(levels[k - 1][y0:y0 + tile])
                if k + 1 < count:
                    levels[k][y0 // 2:y0 // 2 + -(-band.shape[0] // 2)] = _halve(band)
                done[0] += 1  # told before its tiles go: the writer takes a level's last tile and never asks again
                if progress is not None:
                    progress(done[0], total)
                for x0 in range(0, lw, tile):
                    out = np.zeros((tile, tile, channels), source.dtype)  # edge tiles padded, as TIFF wants
                    part = band[:, x0:x0 + tile]
                    out[:part.shape[0], :part.shape[1]] = part
                    yield out if channels > 1 else out[..., 0]

        photometric = "rgb" if channels == 3 else "minisblack"
        kw = {"tile": (tile, tile), "dtype": source.dtype, "photometric": photometric, "compression": "zlib"}

        def level_shape(k: int) -> tuple[int, ...]:
            return (*shapes[k], channels) if channels > 1 else shapes[k]

        with atomic_path(output) as tmp, tifffile.TiffWriter(tmp, ome=True, bigtiff=True) as writer:
            writer.write(tiles(0), shape=level_shape(0), subifds=count - 1, **kw)
            for k in range(1, count):
                writer.write(tiles(k), shape=level_shape(k), subfiletype=1, **kw)
        return output
    finally:
        source.close()
        shutil.rmtree(scratch, ignore_errors=True)

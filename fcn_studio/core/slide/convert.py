"""A flat image too large to open (a 30,000 x 30,000 PNG, JPEG or TIFF) made once into a tiled pyramidal
OME-TIFF that the slide reader opens tile by tile, instead of being refused.

The pyramid is written by core.slide.pyramid_writer, a band of tile rows at a time, so apart from the
source, memory holds a band, never a level. What the source costs depends on its format:
- TIFF (strips or tiles): read band by band through tifffile's zarr view: peak memory is a few bands;
- PNG and JPEG: neither Pillow nor OpenCV decodes them in bands, so they are decoded whole, once, by the
  app's one loader (EXIF orientation, every mode to RGB): peak memory is about the decoded image
  (3 bytes a pixel), which is why this runs once, in the background, and never again for that image.

Level 0 keeps the source's pixels exactly (deflate, lossless). The output appears only when whole (an
atomic rename): a cancel or a failure leaves nothing behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fcn_studio.core.image_io import ImageLoadError, load_image
from fcn_studio.core.progress import Progress
from fcn_studio.core.slide.pyramid_writer import TILE, Cancelled, area_halve, write_pyramid_tiff

CONVERT_MAX_PIXELS = 4_000_000_000  # a decompression-bomb guard still, just far above the viewer's
__all__ = ["Cancelled", "convert_to_pyramid"]


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


def too_large_to_open(path: str | Path) -> bool:
    """Whether `path` is a flat image (not a slide) with more pixels than the app opens whole
    (FCN_STUDIO_MAX_PIXELS): one to make into a tiled pyramid. Reads only the header; False for what
    cannot be read at all (the loader says why)."""
    from PIL import Image

    from fcn_studio.core.image_io import max_pixels, open_image_file

    with _pil_limit:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = CONVERT_MAX_PIXELS
        try:
            with open_image_file(Path(path)) as img:
                w, h = img.size
        except (ImageLoadError, OSError):
            return False
        finally:
            Image.MAX_IMAGE_PIXELS = old
    return w * h > max_pixels()


def convert_to_pyramid(source_path: str | Path, output: str | Path, progress: Progress | None = None,
                       cancel: threading.Event | None = None, tile: int = TILE) -> Path:
    """Writes `output` (an .ome.tif) from the flat image at `source_path`; returns `output`.
    `progress(done, total)` counts bands; `cancel.set()` (from any thread) stops it with Cancelled."""
    source_path, output = Path(source_path), Path(output)
    source = _open_source(source_path)
    try:
        if source.shape[2] not in (1, 3):
            raise ImageLoadError(source_path, f"{source.shape[2]} channels cannot be converted (grey or RGB only)")
        return write_pyramid_tiff(output, source, area_halve, progress=progress, cancel=cancel, tile=tile)
    finally:
        source.close()

"""Thumbnails, cached on disk by path, size and modification time, so a folder opened again fills in
at once. JPEG decoding uses Pillow's draft mode (it decodes at 1/2..1/8 scale), which makes a
thumbnail of a 24-megapixel photo cost a few milliseconds instead of a full decode. Colours come from
the one display rule (core.image_io.to_rgb), so a 16-bit scan looks in the list as on the canvas."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.cache import THUMBNAILS, cache_folder
from fcn_studio.core.image_io import ImageLoadError, is_stretched, open_image_file, to_rgb

CACHE_VERSION = 2  # raised whenever the way thumbnails look changes (2: 16-bit images stretched as shown)


def cache_key(path: Path, size: int) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{size}|v{CACHE_VERSION}"
    return hashlib.sha1(raw.encode()).hexdigest()


def make_thumbnail(path: str | Path, size: int = 96, cache_dir: Path | None = None) -> np.ndarray:
    """An RGB uint8 array whose longer side is at most `size`."""
    path = Path(path)
    cache_dir = cache_dir or cache_folder(THUMBNAILS)
    try:
        cached = cache_dir / f"{cache_key(path, size)}.jpg"
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read: {exc.strerror or exc}") from exc
    if cached.is_file():
        try:
            with Image.open(cached) as img:
                return np.asarray(img.convert("RGB"))
        except OSError:
            pass  # damaged cache entry: make it again
    from fcn_studio.core.slide import is_slide  # noqa: PLC0415

    if is_slide(path):
        rgb = slide_thumbnail(path, size)
    else:
        rgb = _flat_thumbnail(path, size)
    try:
        with atomic_path(cached) as tmp:
            Image.fromarray(rgb).save(tmp, format="JPEG", quality=85)
    except OSError:
        pass  # a read-only cache only costs speed
    return rgb


SLIDE_THUMB_SIDE = 4096  # a slide's thumbnail is made from its coarsest level when that is at most this


def slide_thumbnail(path: Path, size: int) -> np.ndarray:
    """A whole slide's thumbnail from its coarsest level (never its full resolution)."""
    import cv2  # noqa: PLC0415

    from fcn_studio.core.slide import TileCache, open_slide  # noqa: PLC0415

    with open_slide(path, cache=TileCache(64 * 2**20)) as slide:
        level = len(slide.levels) - 1
        h, w = slide.levels[level].shape
        if max(h, w) > SLIDE_THUMB_SIDE:
            raise ImageLoadError(path, f"has no level small enough for a thumbnail (the smallest is {w} x {h})")
        rgb = slide.read_region(level, (0, 0, h, w))
    scale = size / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def _flat_thumbnail(path: Path, size: int) -> np.ndarray:
    with open_image_file(path) as img:
        try:
            img.draft("RGB", (size * 2, size * 2))
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            if is_stretched(img.mode):
                img = Image.fromarray(to_rgb(img))  # the canvas's stretch, over the whole image
            img.thumbnail((size, size), Image.Resampling.BILINEAR)
            return to_rgb(img)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageLoadError(path, f"cannot decode: {exc}") from exc

"""The one image loader: every mode to RGB uint8 by a documented rule, with errors that name the file.

Rules, applied in this order:
- EXIF orientation is applied, so pixels match what viewers show (and what a mask drawn on it means).
- Multi-frame files (TIFF stacks, GIF, APNG) give their first frame.
- Transparency (RGBA, LA, PA, P with a transparent colour) is composited onto white, as viewers show it.
- 16-bit, 32-bit integer and float images (I;16, I, F) are stretched linearly from the image's own
  minimum to its maximum onto 0..255 (a constant image becomes 0), so 12-bit microscopy and 16-bit
  scans are visible rather than black; grey becomes RGB by repeating the channel.
- CMYK and YCbCr go through Pillow's conversion to RGB.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm",
                  ".svs", ".ndpi", ".scn", ".bif", ".qptiff")  # the last: scanners' whole slides (core.slide)
ZARR_SUFFIX = ".zarr"  # an OME-Zarr image is a folder, listed as one image
DEFAULT_MAX_PIXELS = 150_000_000


class ImageLoadError(ValueError):
    """An image that cannot be used; the message names the file and says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def max_pixels() -> int:
    try:
        return int(os.environ.get("FCN_STUDIO_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    except ValueError:
        return DEFAULT_MAX_PIXELS


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_zarr_image(path: str | Path) -> bool:
    """An OME-Zarr image folder (the slide reader opens it): named *.zarr, holding zarr metadata."""
    p = Path(path)
    return p.suffix.lower() == ZARR_SUFFIX and p.is_dir() and any(
        (p / name).is_file() for name in ("zarr.json", ".zattrs", ".zgroup"))


def find_image_files(folder: str | Path) -> list[str]:
    """Every image file below `folder` as sorted path strings (`folder` joined with the relative part),
    skipping hidden files and folders (.git, .thumbnails). Strings and os.walk, not pathlib, because
    a folder of ten thousand images must list in well under a second."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        zarrs = [d for d in dirnames if d.lower().endswith(ZARR_SUFFIX) and is_zarr_image(os.path.join(dirpath, d))]
        found.extend(os.path.join(dirpath, d) for d in zarrs)  # an image, not a folder to look into
        dirnames[:] = [d for d in dirnames if d not in zarrs]
        found.extend(os.path.join(dirpath, f) for f in filenames
                     if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
    found.sort()
    return found


def find_images(folder: str | Path) -> list[Path]:
    return [Path(f) for f in find_image_files(folder)]


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF rotation included), reading only the header."""
    with open_image_file(Path(path)) as img:
        w, h = img.size
        orientation = img.getexif().get(0x0112, 1)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def load_image(path: str | Path, limit: int | None = None) -> np.ndarray:
    """Returns an H x W x 3 uint8 RGB array (C-contiguous)."""
    path = Path(path)
    limit = max_pixels() if limit is None else limit
    with open_image_file(path) as img:
        w, h = img.size
        if w * h > limit:
            raise ImageLoadError(path, f"{w}x{h} is {w * h / 1e6:.0f} megapixels, more than the limit of "
                                       f"{limit / 1e6:.0f} (set FCN_STUDIO_MAX_PIXELS to allow larger)")
        if w == 0 or h == 0:
            raise ImageLoadError(path, "the image is empty (0 pixels)")
        try:
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            return to_rgb(img)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageLoadError(path, f"cannot decode: {exc}") from exc


def to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        out = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    if is_stretched(mode):
        arr = np.asarray(img)
        if arr.ndim == 3:
            arr = arr[..., 0]
        return stretch_to_rgb(arr, float(arr.min()), float(arr.max()))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.array(img, dtype=np.uint8)  # a writable copy (Pillow's own buffer is read-only)


def stretch_to_rgb(grey: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The stretch rule: `lo`..`hi` linearly onto 0..255 (all 0 when hi <= lo), grey repeated to RGB.
    Whole images pass their own minimum and maximum; a slide, read tile by tile, passes one range for
    all its tiles, so neighbouring tiles match."""
    arr = grey.astype(np.float64)
    scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
    out = np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(out[..., None], 3, axis=2))


def is_stretched(mode: str) -> bool:
    """Whether a Pillow mode is shown through the min-max stretch (16-bit, 32-bit and float images):
    its pixels must be stretched over the whole image before any resizing, or a thumbnail would stretch
    its own range (or Pillow would refuse to resize the mode at all)."""
    return mode.startswith("I") or mode == "F"


def open_image_file(path: Path) -> Image.Image:
    if not path.exists():
        raise ImageLoadError(path, "no such file")
    if path.is_dir():
        raise ImageLoadError(path, "is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(path, f"too large to open safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(path, "not an image Pillow can read (unknown or corrupt format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(path, f"cannot open: {exc}") from exc

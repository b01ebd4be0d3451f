"""Masks on disk: palette PNGs of class indices (VOC colours, 255 = ignore), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.labels import LabelSet


class MaskError(ValueError):
    """A mask that cannot be used as given; the message names the file."""


def write_mask(path: str | Path, mask: np.ndarray, labels: LabelSet | None = None) -> None:
    """Writes an H x W uint8 index mask as a palette PNG; the old file survives any failure."""
    with atomic_path(path) as tmp:
        encode_mask(tmp, mask, labels, name=path)


def encode_mask(target: str | Path, mask: np.ndarray, labels: LabelSet | None = None,
                name: str | Path | None = None) -> None:
    """Writes the palette PNG to `target` as it is (no rename): for callers that place the file
    themselves, atomically. `name` is the file the errors should name."""
    name = target if name is None else name
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MaskError(f"{name}: a mask is 2-D (H x W), got shape {mask.shape}")
    if mask.dtype != np.uint8:
        if mask.size and (mask.min() < 0 or mask.max() > 255):
            raise MaskError(f"{name}: mask values must be 0..255")
        mask = mask.astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(mask), mode="P")
    img.putpalette((labels or LabelSet.voc()).palette())
    img.save(target, format="PNG", optimize=False, compress_level=1)


def read_mask(path: str | Path, shape: tuple[int, int] | None = None,
              labels: LabelSet | None = None) -> np.ndarray:
    """Reads class indices from a palette or greyscale PNG, or an RGB colour mask via the label
    colours. `shape` (H, W) is checked so a mask never silently mismatches its image."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "L"):
                mask = np.array(img, dtype=np.uint8)
            elif mode in ("I;16", "I"):
                arr = np.array(img)
                if arr.max() > 255:
                    raise MaskError(f"{path}: label values above 255 do not fit a uint8 mask")
                mask = arr.astype(np.uint8)
            elif mode in ("RGB", "RGBA"):
                mask = _colours_to_indices(path, np.array(img.convert("RGB")), labels or LabelSet.voc())
            else:
                raise MaskError(f"{path}: mask image mode {mode} is not a label image")
    except FileNotFoundError as exc:
        raise MaskError(f"{path}: no such mask file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise MaskError(f"{path}: unreadable mask ({exc})") from exc
    if shape is not None and mask.shape != tuple(shape):
        raise MaskError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                        f"{shape[1]}x{shape[0]}")
    return mask


def _colours_to_indices(path: Path, rgb: np.ndarray, labels: LabelSet) -> np.ndarray:
    palette = np.array(labels.palette(), dtype=np.uint32).reshape(256, 3)
    keys = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
    lut = {int(k): i for i, k in reversed(list(enumerate(keys)))}
    flat = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    uniq, inverse = np.unique(flat, return_inverse=True)
    unknown = [f"#{int(u):06x}" for u in uniq if int(u) not in lut]
    if unknown:
        raise MaskError(f"{path}: colours not in the label set: {', '.join(unknown[:5])}")
    return np.array([lut[int(u)] for u in uniq], dtype=np.uint8)[inverse].reshape(flat.shape)

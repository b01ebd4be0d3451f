"""Colour overlays computed with one look-up table (palette x visibility x opacity), so toggling a
class or changing opacity costs a table rebuild and one gather, not a per-class pass."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from fcn_studio.core.labels import LabelSet


def overlay_lut(labels: LabelSet, opacity: float = 0.5, hidden: Iterable[int] = ()) -> np.ndarray:
    """256 x 4 uint8 RGBA; ignore (255) and unknown indices are transparent."""
    lut = np.zeros((256, 4), np.uint8)
    lut[: len(labels), :3] = np.array(labels.colors, np.uint8)
    lut[: len(labels), 3] = int(round(np.clip(opacity, 0.0, 1.0) * 255))
    for idx in hidden:
        lut[idx, 3] = 0
    return lut


def blend_overlay(image: np.ndarray, mask: np.ndarray, labels: LabelSet, opacity: float = 0.5,
                  hidden: Iterable[int] = ()) -> np.ndarray:
    """RGB image with the mask's colours blended in (for previews and `predict --overlay`)."""
    rgba = overlay_lut(labels, opacity, hidden)[mask]
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    out = image.astype(np.float32) * (1 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)

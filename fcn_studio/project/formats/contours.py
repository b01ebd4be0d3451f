"""Masks as polygons and back, exactly: every class region's outer boundaries, and for each hole a
polygon that resets it to unlabelled, all in painter's order (largest area first). Drawing them in
that order over an unlabelled canvas gives back the mask pixel for pixel, since a nested shape always
has a smaller area than the shape around it."""

from __future__ import annotations

import cv2
import numpy as np

IGNORE = 255


def _outer_contours(binary: np.ndarray) -> list[np.ndarray]:
    contours, _ = cv2.findContours(binary.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return list(contours)


def _filled(shape: tuple[int, int], contours: list[np.ndarray]) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.drawContours(canvas, contours, -1, 1, thickness=cv2.FILLED)
    return canvas.astype(bool)


def mask_to_shapes(mask: np.ndarray, num_classes: int) -> list[tuple[int, np.ndarray]]:
    """[(class index or 255 for "unlabelled", N x 2 int points (x, y))] in drawing order."""
    shapes: list[tuple[float, int, np.ndarray]] = []
    for cls in np.unique(mask):
        cls = int(cls)
        if cls == IGNORE or cls >= num_classes:
            continue
        region = mask == cls
        outer = _outer_contours(region)
        for c in outer:
            shapes.append((float(_filled(mask.shape, [c]).sum()), cls, c.reshape(-1, 2)))
        holes = _filled(mask.shape, outer) & ~region
        for c in _outer_contours(holes):
            shapes.append((float(_filled(mask.shape, [c]).sum()), IGNORE, c.reshape(-1, 2)))
    shapes.sort(key=lambda s: -s[0])  # larger first; a nested shape is always smaller
    ordered = [(cls, pts) for _, cls, pts in shapes]
    return _corrected(mask, ordered)


def _corrected(mask: np.ndarray, shapes: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """Where two classes touch only diagonally, both 8-connected outlines can claim the same crossing;
    the pixels that come out wrong get small shapes of their own, drawn last, until the drawing is
    exact (single pixels as the last resort)."""
    for attempt in range(4):
        drawn = shapes_to_mask(mask.shape, shapes)
        wrong = drawn != mask
        if not wrong.any():
            return shapes
        for cls in np.unique(mask[wrong]):
            part = wrong & (mask == cls)
            if attempt < 3:
                shapes += [(int(cls), c.reshape(-1, 2)) for c in _outer_contours(part)]
            else:
                shapes += [(int(cls), np.array([[x, y]])) for y, x in zip(*np.nonzero(part), strict=True)]
    return shapes


def shapes_to_mask(shape: tuple[int, int], shapes: list[tuple[int, np.ndarray]]) -> np.ndarray:
    mask = np.full(shape, IGNORE, np.uint8)
    for cls, pts in shapes:
        cv2.drawContours(mask, [np.asarray(pts, np.int32).reshape(-1, 1, 2)], -1, int(cls), thickness=cv2.FILLED)
    return mask

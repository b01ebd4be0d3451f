"""Smart selection with OpenCV's GrabCut: the object in a box. Large boxes are solved at reduced size
and the result scaled back, so a selection on a 24-megapixel photo still answers in about a second.
The caller applies the footprint to its editor (off the GUI thread the solve, on it the edit)."""

from __future__ import annotations

import cv2
import numpy as np

MAX_PIXELS = 400_000
MARGIN = 16


def grabcut_region(image: np.ndarray, box: tuple[int, int, int, int],
                   iterations: int = 4) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """`box` is (x0, y0, x1, y1) in image pixels. Returns (rect y0, x0, y1, x1) and a boolean
    foreground footprint of that rect."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    x0, x1 = sorted((max(0, min(w, int(x0))), max(0, min(w, int(x1)))))
    y0, y1 = sorted((max(0, min(h, int(y0))), max(0, min(h, int(y1)))))
    if x1 - x0 < 3 or y1 - y0 < 3:
        raise ValueError("draw a box of at least 3 x 3 pixels around the object")
    cx0, cy0 = max(0, x0 - MARGIN), max(0, y0 - MARGIN)
    cx1, cy1 = min(w, x1 + MARGIN), min(h, y1 + MARGIN)
    crop = image[cy0:cy1, cx0:cx1]
    scale = min(1.0, float(np.sqrt(MAX_PIXELS / (crop.shape[0] * crop.shape[1]))))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    sh, sw = small.shape[:2]
    gc = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    bx0, by0 = int((x0 - cx0) * scale), int((y0 - cy0) * scale)
    bx1, by1 = max(bx0 + 2, int((x1 - cx0) * scale)), max(by0 + 2, int((y1 - cy0) * scale))
    gc[by0:by1, bx0:bx1] = cv2.GC_PR_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(small[..., ::-1])
    cv2.grabCut(bgr, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1:
        fg = cv2.resize(fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    return (cy0, cx0, cy1, cx1), fg.astype(bool)


"""The editing tools as functions of a MaskEditor: brush and eraser strokes (interpolated between
mouse events, so fast strokes leave no gaps), flood fill, polygon and lasso, relabel inside a
selection, accept the prediction, clear. Each works on the bounding box of what it touches."""

from __future__ import annotations

import cv2
import numpy as np

from fcn_studio.core.editing.mask_editor import MaskEditor, Preserve, Rect
from fcn_studio.core.labels import IGNORE_INDEX


def segment_footprint(p0: tuple[float, float], p1: tuple[float, float], diameter: int) -> tuple[Rect, np.ndarray]:
    """A round brush swept from p0 to p1 (x, y), as the rectangle it covers and a boolean footprint."""
    r = max(diameter, 1) / 2.0
    x0, y0 = p0
    x1, y1 = p1
    left = int(np.floor(min(x0, x1) - r)) - 1
    top = int(np.floor(min(y0, y1) - r)) - 1
    right = int(np.ceil(max(x0, x1) + r)) + 2
    bottom = int(np.ceil(max(y0, y1) + r)) + 2
    fp = np.zeros((bottom - top, right - left), np.uint8)
    shift = 4  # sub-pixel precision for OpenCV's drawing
    scale = 1 << shift
    a = (int(round((x0 - left) * scale)), int(round((y0 - top) * scale)))
    b = (int(round((x1 - left) * scale)), int(round((y1 - top) * scale)))
    if diameter <= 1:
        cv2.line(fp, a, b, 1, 1, cv2.LINE_8, shift)
    else:
        radius = int(round(r * scale))
        cv2.circle(fp, a, radius, 1, -1, cv2.LINE_8, shift)
        cv2.circle(fp, b, radius, 1, -1, cv2.LINE_8, shift)
        if a != b:
            _fill_capsule_body(fp, a, b, r * scale, shift)
    return (top, left, bottom, right), fp.astype(bool)


def _fill_capsule_body(fp: np.ndarray, a, b, r: float, shift: int) -> None:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = float(np.hypot(dx, dy))
    nx, ny = -dy / length * r, dx / length * r
    quad = np.array([[a[0] + nx, a[1] + ny], [b[0] + nx, b[1] + ny], [b[0] - nx, b[1] - ny],
                     [a[0] - nx, a[1] - ny]]).round().astype(np.int32)
    cv2.fillPoly(fp, [quad], 1, cv2.LINE_8, shift)


class Stroke:
    """One mouse drag of the brush or eraser: one undo step however many segments it has. Should
    something close the editor's operation mid-drag (an undo key), the rest is a step of its own."""

    def __init__(self, editor: MaskEditor, value: int, diameter: int, preserve: Preserve | None = None,
                 name: str = "brush") -> None:
        self.editor, self.value, self.diameter, self.preserve = editor, value, diameter, preserve
        self.name = name
        self.last: tuple[float, float] | None = None
        editor.begin(name)

    def to(self, x: float, y: float) -> Rect | None:
        if not self.editor.in_operation:
            self.editor.begin(self.name)
        start = self.last if self.last is not None else (x, y)
        self.last = (x, y)
        rect, fp = segment_footprint(start, (x, y), self.diameter)
        return rect if self.editor.apply(rect, fp, self.value, self.preserve) else None

    def finish(self):
        return self.editor.end()


def fill_region(labels: np.ndarray, x: int, y: int) -> tuple[Rect, np.ndarray]:
    """The 4-connected region of the class under (x, y) of `labels` (uint8): its rect and boolean
    footprint there. What the Fill tool paints, on an image's mask and on a view of a slide's labels."""
    h, w = labels.shape
    region = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(labels, region, (x, y), 0, 0, 0, flags)
    # the 0/1 region read as booleans in place: no copy (at 100 MP a copy costs a quarter second)
    return (ry, rx, ry + rh, rx + rw), region[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].view(bool)


def flood_fill(editor: MaskEditor, x: int, y: int, value: int, preserve: Preserve | None = None) -> Rect | None:
    """Fills the 4-connected region of the class under (x, y) with `value`."""
    h, w = editor.shape
    if not (0 <= x < w and 0 <= y < h) or int(editor.mask[y, x]) == value:
        return None
    rect, footprint = fill_region(editor.mask, x, y)
    editor.begin("fill")
    editor.apply(rect, footprint, value, preserve)
    editor.end()
    return rect


def polygon_footprint(points: list[tuple[float, float]]) -> tuple[Rect, np.ndarray] | None:
    if len(points) < 3:
        return None
    pts = np.asarray(points, np.float64)
    left, top = np.floor(pts.min(0)).astype(int) - 1
    right, bottom = np.ceil(pts.max(0)).astype(int) + 2
    fp = np.zeros((bottom - top, right - left), np.uint8)
    cv2.fillPoly(fp, [np.round((pts - [left, top]) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return (int(top), int(left), int(bottom), int(right)), fp.astype(bool)


def fill_polygon(editor: MaskEditor, points: list[tuple[float, float]], value: int,
                 preserve: Preserve | None = None, name: str = "polygon") -> Rect | None:
    """Polygon (clicked corners) and lasso (dragged outline) alike: fill, or erase with the ignore index."""
    shape = polygon_footprint(points)
    if shape is None:
        return None
    rect, fp = shape
    editor.begin(name)
    changed = editor.apply(rect, fp, value, preserve)
    editor.end()
    return rect if changed else None


def relabel(editor: MaskEditor, source: int, target: int, points: list[tuple[float, float]] | None = None) -> bool:
    """Class `source` becomes `target` inside the polygon (or everywhere without one)."""
    if points:
        shape = polygon_footprint(points)
        if shape is None:
            return False
        rect, fp = shape
    else:
        rect, fp = (0, 0, *editor.shape), None
    editor.begin(f"relabel {source} to {target}")
    editor.apply(rect, fp, target, Preserve("class", source))
    return editor.end() is not None


def replace_all(editor: MaskEditor, values: np.ndarray | int, name: str,
                states: tuple[str, str] | None = None) -> bool:
    """Accept the prediction (an array) or clear the mask (IGNORE_INDEX): one undo step, touched tiles
    only, with the state change `states` (before, after) if given."""
    if isinstance(values, np.ndarray) and values.shape != editor.shape:
        raise ValueError(f"a {values.shape[1]}x{values.shape[0]} mask does not fit a "
                         f"{editor.shape[1]}x{editor.shape[0]} image")
    editor.begin(name, states)
    editor.apply((0, 0, *editor.shape), None, values)
    return editor.end() is not None


def class_at(editor: MaskEditor, x: int, y: int) -> int | None:
    """The class under (x, y); None outside the image or on an unlabelled pixel."""
    h, w = editor.shape
    if not (0 <= x < w and 0 <= y < h):
        return None
    value = int(editor.mask[y, x])
    return None if value == IGNORE_INDEX else value

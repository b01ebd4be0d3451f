"""labelme's shapes as pixels, drawn exactly as labelme's own `shape_to_mask` and `shapes_to_label` draw
them (PIL ImageDraw; a line 10 pixels wide, a point a disc of radius 5, a `mask` shape a base64 PNG
covering its two points' box), so an imported file means what it means in labelme; and a region as a
polygon that this drawing gives back exactly."""

from __future__ import annotations

import base64
import binascii
import io
import math

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from fcn_studio.project.formats.contours import corner_outlines

LINE_WIDTH = 10  # labelme's shape_to_mask defaults
POINT_SIZE = 5
POINT_COUNTS = {"circle": 2, "rectangle": 2, "line": 2, "point": 1}  # as labelme asserts
SHAPE_TYPES = ("polygon", "rectangle", "circle", "line", "linestrip", "point", "mask")


class ShapeError(ValueError):
    """A shape that labelme itself could not draw; the message says why."""


def shape_to_mask(size: tuple[int, int], points: list, shape_type: str | None) -> np.ndarray:
    """The pixels (H x W bool) of one drawn shape, as labelme.utils.shape_to_mask gives them."""
    shape_type = shape_type or "polygon"
    if shape_type not in SHAPE_TYPES or shape_type == "mask":
        raise ShapeError(f"shape type {shape_type!r} is not one labelme draws from points")
    xy = [(float(x), float(y)) for x, y in points]
    wanted = POINT_COUNTS.get(shape_type)
    if wanted is not None and len(xy) != wanted:
        raise ShapeError(f"a {shape_type} has {wanted} point{'s' * (wanted > 1)}, not {len(xy)}")
    if shape_type == "polygon" and len(xy) < 3:
        raise ShapeError(f"a polygon has at least 3 points, not {len(xy)}")
    canvas = Image.new("L", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(canvas)
    if shape_type == "circle":
        (cx, cy), (px, py) = xy
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif shape_type == "rectangle":
        (x1, y1), (x2, y2) = xy
        draw.rectangle([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], outline=1, fill=1)
    elif shape_type in ("line", "linestrip"):
        draw.line(xy, fill=1, width=LINE_WIDTH)
    elif shape_type == "point":
        (cx, cy), r = xy[0], POINT_SIZE
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:
        draw.polygon(xy, outline=1, fill=1)
    return np.array(canvas, dtype=bool)


def mask_shape_pixels(size: tuple[int, int], points: list, data: str) -> tuple[np.ndarray, bool]:
    """A `mask` shape's pixels (H x W bool): its PNG placed at the box of its two points, whose
    corners labelme truncates to integers and includes. Also whether the box reached past the image
    (the part outside is dropped)."""
    if len(points) != 2:
        raise ShapeError(f"a mask shape has 2 points (its box), not {len(points)}")
    if not isinstance(data, str):
        raise ShapeError("a mask shape has no base64 PNG in 'mask'")
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as img:
            if img.mode not in ("1", "L", "P", "I", "I;16"):
                raise ShapeError(f"a mask shape's PNG is {img.mode}, not a one-channel image")
            crop = np.array(img).astype(bool)
    except (binascii.Error, UnidentifiedImageError, OSError) as exc:
        raise ShapeError(f"a mask shape's PNG is unreadable ({exc})") from exc
    (x1, y1), (x2, y2) = (tuple(int(float(v)) for v in p) for p in points)
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ShapeError(f"a mask shape's PNG is {crop.shape[1]}x{crop.shape[0]} but its box is "
                         f"{x2 - x1 + 1}x{y2 - y1 + 1}")
    h, w = size
    out = np.zeros(size, bool)
    top, left, bottom, right = max(y1, 0), max(x1, 0), min(y2 + 1, h), min(x2 + 1, w)
    if top < bottom and left < right:
        out[top:bottom, left:right] = crop[top - y1:bottom - y1, left - x1:right - x1]
    return out, (top, left, bottom, right) != (y1, x1, y2 + 1, x2 + 1)


def polygon_points(fill: np.ndarray) -> list[list[float]] | None:
    """A region without holes (H x W bool) as labelme polygon points that shape_to_mask draws back to
    exactly its pixels, or None where no polygon does. The pixel-corner outline is moved half a pixel
    inwards, onto the centres of the edge pixels, which is where PIL's polygon puts its boundary."""
    loops = corner_outlines(fill)
    if len(loops) != 1:
        return None
    loop, points = loops[0], []
    for i, (x, y) in enumerate(loop):
        (px, py), (qx, qy) = loop[i - 1], loop[(i + 1) % len(loop)]
        # the inside lies right of each edge; its right-hand normal of direction (dx, dy) is (-dy, dx)
        nx = -_sign(y - py) - _sign(qy - y)
        ny = _sign(x - px) + _sign(qx - x)
        points.append([float(x + (nx - 1) / 2), float(y + (ny - 1) / 2)])
    if not np.array_equal(shape_to_mask(fill.shape, points, "polygon"), fill):
        return None
    return points


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def mask_shape_data(fill: np.ndarray) -> str:
    """A region (H x W bool) as a `mask` shape's base64 PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(fill)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")

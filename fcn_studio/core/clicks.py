"""Clicks on an object, and the standard protocol that simulates a person making them (Xu et al. 2016;
RITM, Sofiiuk et al. 2022): the first click at the point of the object farthest from its border; each
next click at the point farthest from the border of the largest error, positive where the object is
missed, negative where the selection spills over; at most 20 clicks. NoC@85 / NoC@90 are the clicks
needed to reach 85% / 90% IoU (the maximum when never reached). One implementation, used by the click
benchmark, the click model's training (clicks simulated from its errors) and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

MAX_CLICKS = 20
MIN_OBJECT_PIXELS = 16


@dataclass(frozen=True)
class Click:
    y: int
    x: int
    positive: bool


# a click method: (the clicks so far, the previous selection) -> the new selection (bool, image-sized)
ClickMethod = Callable[[Sequence[Click], np.ndarray], np.ndarray]


def objects(mask: np.ndarray, ignore_index: int = 255, min_pixels: int = MIN_OBJECT_PIXELS,
            background: int = 0) -> list[tuple[int, np.ndarray]]:
    """Every connected region (8-connected) of at least `min_pixels` of every class but the background
    and the ignore index: (class, boolean footprint), in class then reading order."""
    found = []
    for value in np.unique(mask):
        if value in (background, ignore_index):
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats((mask == value).astype(np.uint8), connectivity=8)
        for i in range(1, count):
            if stats[i, cv2.CC_STAT_AREA] >= min_pixels:
                found.append((int(value), labels == i))
    return found


def _deepest(region: np.ndarray) -> tuple[float, int, int]:
    """(distance, y, x) of the region's pixel farthest from its border; the image's edge counts as a
    border (the map is padded with background)."""
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(dist[y, x]), int(y), int(x)


def next_click(truth: np.ndarray, selection: np.ndarray, ignore: np.ndarray | None = None) -> Click | None:
    """Where the simulated person clicks next: the deepest point of the larger error (missed object:
    positive; spill-over: negative). None when there is no error left."""
    valid = ~ignore if ignore is not None else np.ones(truth.shape, bool)
    missed = truth & ~selection & valid
    spilled = ~truth & selection & valid
    d_missed, ym, xm = _deepest(missed)
    d_spilled, ys, xs = _deepest(spilled)
    if max(d_missed, d_spilled) <= 0:
        return None
    return Click(ym, xm, True) if d_missed >= d_spilled else Click(ys, xs, False)


def clicked_parts(selection: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
    """The parts of `selection` (8-connected) that hold a positive click: the object the clicks mean,
    without the look-alikes the model lit up elsewhere (another nucleus, another car). A part of the
    object the model left unconnected is the person's next positive click. When no part holds one (the
    model missed the click), the selection is returned as it is. A negative click the model left inside
    a kept part (a neighbour that touches the object) cuts that part where its floods meet
    (split_at_negatives): "not this" means not this, whatever the model thought."""
    count, labels = cv2.connectedComponents(selection.astype(np.uint8), connectivity=8)
    h, w = selection.shape
    inside = [c for c in clicks if 0 <= c.y < h and 0 <= c.x < w]
    keep = {int(labels[c.y, c.x]) for c in inside if c.positive} - {0}
    if not keep:
        return selection
    kept = np.isin(labels, sorted(keep)) if count > 2 else selection.copy()
    for part in sorted(keep):
        negatives = [c for c in inside if not c.positive and labels[c.y, c.x] == part]
        if negatives:
            positives = [c for c in inside if c.positive and labels[c.y, c.x] == part]
            split_at_negatives(kept, labels == part, positives, negatives)
    return kept


SPLIT_LEVELS = 24  # depth levels of the flood that splits a part at a negative click
SPLIT_SIDE = 256  # ... done on at most this many pixels across


def split_at_negatives(selection: np.ndarray, part: np.ndarray, positives: Sequence[Click],
                       negatives: Sequence[Click]) -> None:
    """Takes out of `selection` the pixels of `part` that are the negative clicks' side: a marker-based
    watershed on the part's distance to its border (the classic split of touching nuclei), flooded from
    the clicks, deepest first, so the cut falls at the neck between the positive clicks' lobe and the
    negative clicks' lobe. A negative click on a thin spill at the rim takes only the rim near it."""
    rows, cols = np.flatnonzero(part.any(1)), np.flatnonzero(part.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    box = part[y0:y1, x0:x1]
    f = min(1.0, SPLIT_SIDE / max(box.shape))  # a large object is split at a coarser scale: as fast
    small = box if f == 1 else cv2.resize(box.astype(np.uint8), (max(1, round(box.shape[1] * f)),
                                          max(1, round(box.shape[0] * f))), interpolation=cv2.INTER_NEAREST) > 0
    depth = cv2.distanceTransform(np.pad(small.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    seeds = np.zeros(small.shape, np.uint8)
    for value, group in ((2, negatives), (1, positives)):  # a pixel clicked both ways keeps the positive
        for c in group:
            seeds[min(int((c.y - y0) * f), small.shape[0] - 1), min(int((c.x - x0) * f), small.shape[1] - 1)] = value
    kernel = np.ones((3, 3), np.uint8)
    for level in np.linspace(float(depth.max()), 0.0, SPLIT_LEVELS):
        allowed = small & (depth >= level) & (seeds == 0)
        while True:
            grown = False
            for value in (1, 2):
                reach = cv2.dilate((seeds == value).astype(np.uint8), kernel).astype(bool) & allowed
                if reach.any():
                    seeds[reach] = value
                    allowed &= ~reach
                    grown = True
            if not grown:
                break
    cut = seeds == 2
    if f < 1:
        cut = cv2.resize(cut.astype(np.uint8), (box.shape[1], box.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    selection[y0:y1, x0:x1][cut & box] = False


def iou(truth: np.ndarray, selection: np.ndarray, ignore: np.ndarray | None = None) -> float:
    if ignore is not None:
        truth, selection = truth & ~ignore, selection & ~ignore
    union = int(np.count_nonzero(truth | selection))
    return float(np.count_nonzero(truth & selection)) / union if union else 1.0


@dataclass
class ClickRun:
    """One object's clicks: the IoU after each, and the time each answer took."""
    ious: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)

    def noc(self, threshold: float, max_clicks: int = MAX_CLICKS) -> int:
        """Clicks to reach `threshold` IoU; `max_clicks` when never reached."""
        return next((i + 1 for i, v in enumerate(self.ious) if v >= threshold), max_clicks)

    def reached(self, threshold: float) -> bool:
        return any(v >= threshold for v in self.ious)


def simulate(method: ClickMethod, truth: np.ndarray, ignore: np.ndarray | None = None,
             max_clicks: int = MAX_CLICKS, stop_at: float | None = None) -> ClickRun:
    """Clicks on one object as the protocol says until `max_clicks` (or `stop_at` IoU is reached, or no
    error is left), calling `method` after each click."""
    run = ClickRun()
    selection = np.zeros(truth.shape, bool)
    for _ in range(max_clicks):
        click = next_click(truth, selection, ignore)
        if click is None:
            break
        run.clicks.append(click)
        start = time.perf_counter()
        selection = np.asarray(method(tuple(run.clicks), selection), bool)
        run.seconds.append(time.perf_counter() - start)
        run.ious.append(iou(truth, selection, ignore))
        if stop_at is not None and run.ious[-1] >= stop_at:
            break
    return run


def summary(runs: Sequence[ClickRun], max_clicks: int = MAX_CLICKS) -> dict:
    """The benchmark's figures over many objects: mean NoC@85 and NoC@90, the share of objects never
    reaching 85%, and the mean milliseconds per click."""
    if not runs:
        return {"objects": 0, "noc85": None, "noc90": None, "failed85": None, "ms_per_click": None}
    seconds = [s for r in runs for s in r.seconds]
    return {"objects": len(runs),
            "noc85": float(np.mean([r.noc(0.85, max_clicks) for r in runs])),
            "noc90": float(np.mean([r.noc(0.90, max_clicks) for r in runs])),
            "failed85": float(np.mean([not r.reached(0.85) for r in runs])),
            "ms_per_click": 1000 * float(np.mean(seconds)) if seconds else None}


CLICK_RADIUS = 5  # in the zoomed crop's pixels: clicks are disks (RITM), not single points
ZOOM_SIDE = 192  # the crop the click model sees, whatever the object's size
FIRST_WINDOW = 512  # the first click sees at most this much of the image around it
ZOOM_EXPAND = 1.4  # later clicks see the selection and the clicks' box grown by this (RITM's zoom-in)
MIN_ZOOM = 40  # ... but never less than this many image pixels across

Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)


def square_box(cy: float, cx: float, side: float, shape: tuple[int, int], inside: bool = True) -> Box:
    """A square of `side` centred on (cy, cx), moved inside the image where it fits, cut where not; with
    `inside=False` it stays centred and may reach past the image's edges (window() mirrors the image
    there), when it is no larger than the image."""
    h, w = shape
    side = int(round(side))
    if not inside and side <= min(h, w):
        y0, x0 = int(round(cy - side / 2)), int(round(cx - side / 2))
        return y0, x0, y0 + side, x0 + side
    y0 = int(round(min(max(0, cy - side / 2), max(0, h - side))))
    x0 = int(round(min(max(0, cx - side / 2), max(0, w - side))))
    return y0, x0, min(h, y0 + side), min(w, x0 + side)


def window(a: np.ndarray, box: Box) -> np.ndarray:
    """`a[y0:y1, x0:x1]`, mirrored (as cv2's BORDER_REFLECT_101) where the box reaches past the edges: an
    object cut by the image's edge is seen whole-looking in the middle of the zoomed crop, not squeezed
    against its border where the network sees only padding (a nucleus cut to a sliver by a tile's edge)."""
    y0, x0, y1, x1 = box
    h, w = a.shape[:2]
    if y0 >= 0 and x0 >= 0 and y1 <= h and x1 <= w:
        return a[y0:y1, x0:x1]

    def mirrored(start: int, stop: int, n: int) -> np.ndarray:
        period = max(1, 2 * (n - 1))
        i = np.arange(start, stop) % period
        return np.where(i < n, i, period - i)

    return a[np.ix_(mirrored(y0, y1, h), mirrored(x0, x1, w))]


def inside_part(box: Box, shape: tuple[int, int]) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """(the box's pixels in the image, the same pixels in the box): where a box that reaches past the
    edges is pasted back."""
    y0, x0, y1, x1 = box
    h, w = shape
    iy0, ix0, iy1, ix1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
    return (slice(iy0, iy1), slice(ix0, ix1)), (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))


def zoom_box(clicks: Sequence[Click], selection: np.ndarray | None, shape: tuple[int, int]) -> Box:
    """Where the click model looks (RITM's zoom-in): after the first click, the box around the current
    selection and all the clicks, grown by ZOOM_EXPAND; for the first click (nothing selected yet), a
    window of the image around it. One rule for the app, the benchmark and training."""
    ys = [c.y for c in clicks]
    xs = [c.x for c in clicks]
    if selection is not None and selection.any():
        rows, cols = np.flatnonzero(selection.any(1)), np.flatnonzero(selection.any(0))
        ys += [int(rows[0]), int(rows[-1])]
        xs += [int(cols[0]), int(cols[-1])]
    if len(ys) <= 1:
        return square_box(ys[0], xs[0], min(max(shape), FIRST_WINDOW), shape)
    side = max(max(ys) - min(ys), max(xs) - min(xs)) + 1
    return square_box((min(ys) + max(ys)) / 2, (min(xs) + max(xs)) / 2, max(MIN_ZOOM, side * ZOOM_EXPAND), shape,
                      inside=False)


def click_maps(clicks: Sequence[Click], shape: tuple[int, int], radius: int = CLICK_RADIUS) -> np.ndarray:
    """(2, H, W) float32: disks of the positive clicks, then of the negative ones, in the crop's pixels."""
    maps = np.zeros((2, *shape), np.float32)
    for c in clicks:
        cv2.circle(maps[0 if c.positive else 1], (int(round(c.x)), int(round(c.y))), radius, 1.0, -1)
    return maps


def to_crop(clicks: Sequence[Click], box: Box, scale: float) -> list[Click]:
    """Clicks in the zoomed crop's pixels (the crop starts at the box's corner, scaled by `scale`)."""
    y0, x0 = box[:2]
    return [Click(round((c.y - y0 + 0.5) * scale - 0.5), round((c.x - x0 + 0.5) * scale - 0.5), c.positive)
            for c in clicks]


def zoomed_inputs(image: np.ndarray, clicks: Sequence[Click], previous: np.ndarray | None, box: Box,
                  side: int = ZOOM_SIDE) -> tuple[np.ndarray, np.ndarray, float]:
    """What the click model sees of `box`: the image crop scaled so its longer side is `side` (RGB
    uint8), the maps (positive, negative, previous selection; 3 x h x w float32) and the scale."""
    y0, x0, y1, x1 = box
    scale = side / max(y1 - y0, x1 - x0)
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    crop = cv2.resize(window(image, box), size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    maps = np.empty((3, size[1], size[0]), np.float32)
    maps[:2] = click_maps(to_crop(clicks, box, scale), (size[1], size[0]))
    if previous is None:
        maps[2] = 0
    else:
        maps[2] = cv2.resize(window(previous, box).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    return crop, maps, scale

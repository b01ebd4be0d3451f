"""The one mask-to-polygon tracer, shared by COCO and labelme: outlines along pixel edges (vertices at
pixel corners), so a polygon can stand for its pixels exactly; each format checks that by drawing the
polygon the way its own readers do. And the painter's layering that labelme needs, whose polygons
cannot have holes: every region with its holes filled, larger first, so what lies in a hole is drawn
after the region around it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def corner_outlines(binary: np.ndarray) -> list[list[tuple[int, int]]]:
    """Outlines along pixel edges (vertices at pixel corners, as COCO's rasteriser reads polygons):
    each unit edge between an inside and an outside pixel, directed with the inside on its right
    (x to the right, y down), chained into loops; straight runs are merged."""
    b = _padded(binary.astype(bool), False)
    nxt: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # horizontal edges between rows y-1 and y, vertical edges between columns x-1 and x (padded coords)
    ys, xs = np.nonzero(b[1:, :] & ~b[:-1, :])  # inside below: edge goes left -> right
    for y, x in zip(ys + 1, xs, strict=True):
        nxt.setdefault((x, y), []).append((x + 1, y))
    ys, xs = np.nonzero(~b[1:, :] & b[:-1, :])  # inside above: right -> left
    for y, x in zip(ys + 1, xs, strict=True):
        nxt.setdefault((x + 1, y), []).append((x, y))
    ys, xs = np.nonzero(b[:, 1:] & ~b[:, :-1])  # inside to the right: bottom -> top
    for y, x in zip(ys, xs + 1, strict=True):
        nxt.setdefault((x, y + 1), []).append((x, y))
    ys, xs = np.nonzero(~b[:, 1:] & b[:, :-1])  # inside to the left: top -> bottom
    for y, x in zip(ys, xs + 1, strict=True):
        nxt.setdefault((x, y), []).append((x, y + 1))
    loops = []
    while nxt:
        start = next(iter(nxt))
        loop, point = [start], start
        while True:
            targets = nxt[point]
            step = targets.pop()
            if not targets:
                del nxt[point]
            if step == start:
                break
            loop.append(step)
            point = step
        merged = [p for i, p in enumerate(loop)
                  if not (loop[i - 1][0] == p[0] == loop[(i + 1) % len(loop)][0]
                          or loop[i - 1][1] == p[1] == loop[(i + 1) % len(loop)][1])]
        loops.append([(int(x) - 1, int(y) - 1) for x, y in merged])  # back to unpadded coordinates
    return loops


def _padded(array: np.ndarray, value) -> np.ndarray:
    """`array` with a one-pixel border of `value` (np.pad costs more than the tracing of a small region)."""
    out = np.full((array.shape[0] + 2, array.shape[1] + 2), value, array.dtype)
    out[1:-1, 1:-1] = array
    return out


def _filled(binary: np.ndarray) -> np.ndarray:
    """The region with its holes filled: every pixel that cannot reach the border through 4-connected
    outside pixels. The result has no holes and no pinches, so its outline is one simple loop."""
    outside = _padded((~binary).astype(np.uint8), 1)
    seeds = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, seeds, (0, 0), 2, flags=4)
    return (outside != 2)[1:-1, 1:-1]


@dataclass
class Layer:
    """One 4-connected region of one value, holes filled, as a crop placed at (x, y)."""

    value: int
    x: int
    y: int
    fill: np.ndarray  # bool, the crop of the filled region


def layers(mask: np.ndarray, blank: int) -> list[Layer]:
    """The regions to draw, in order, over a canvas of `blank` so that the drawing is `mask` exactly.
    A region lying in the hole of another lies wholly inside its filled outline, so it is smaller and
    comes later; regions of `blank` are drawn only where they are a hole in some other region."""
    found: list[Layer] = []
    for value in np.unique(mask):
        n, comp, stats, _ = cv2.connectedComponentsWithStats((mask == value).astype(np.uint8), connectivity=4)
        for i in range(1, n):
            x, y, w, h = (int(v) for v in stats[i, :4])
            found.append(Layer(int(value), x, y, _filled(comp[y:y + h, x:x + w] == i)))
    found.sort(key=lambda layer: -int(layer.fill.sum()))
    covered = np.zeros(mask.shape, bool)
    for layer in found:
        if layer.value != blank:
            h, w = layer.fill.shape
            covered[layer.y:layer.y + h, layer.x:layer.x + w] |= layer.fill
    return [layer for layer in found if layer.value != blank or _covered(covered, layer)]


def _covered(covered: np.ndarray, layer: Layer) -> bool:
    h, w = layer.fill.shape
    return bool((covered[layer.y:layer.y + h, layer.x:layer.x + w] & layer.fill).any())

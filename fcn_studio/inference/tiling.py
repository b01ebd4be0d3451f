"""Overlap-tile layout: each output pixel is taken from the tile in which it lies farthest from the
tile's edge, so every pixel sees at least about `overlap / 2` of context and tiles leave no seams,
without holding C x H x W scores for a whole 24-megapixel image.

Tile origins are multiples of the network's stride (32): an FCN is shift-equivariant only by
multiples of its stride, so a tile that started elsewhere would sample a different grid."""

from __future__ import annotations

from dataclasses import dataclass

ALIGN = 32


@dataclass(frozen=True)
class Tile:
    y0: int  # the input window
    x0: int
    y1: int
    x1: int
    oy0: int  # the part of the window this tile writes to the output
    ox0: int
    oy1: int
    ox1: int


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    if length <= tile:
        return [(0, length, 0, length)]
    step = max(ALIGN, (tile - overlap) // ALIGN * ALIGN)
    starts = list(range(0, length - tile, step))
    last = -(-(length - tile) // ALIGN) * ALIGN
    if last > starts[-1]:
        starts.append(last)
    ends = [min(s + tile, length) for s in starts]
    spans = []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo = 0 if i == 0 else (starts[i] + ends[i - 1]) // 2
        hi = length if i == len(starts) - 1 else (starts[i + 1] + e) // 2
        spans.append((s, e, lo, hi))
    return spans


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    if tile < 2 * ALIGN or overlap >= tile:
        raise ValueError(f"a tile of {tile} with overlap {overlap}: the tile must be at least {2 * ALIGN} "
                         f"pixels and larger than the overlap")
    return [Tile(y0, x0, y1, x1, oy0, ox0, oy1, ox1)
            for (y0, y1, oy0, oy1) in _spans(height, tile, overlap)
            for (x0, x1, ox0, ox1) in _spans(width, tile, overlap)]

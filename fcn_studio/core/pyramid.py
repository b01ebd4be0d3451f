"""Display levels for large images, without Qt: level k is the picture at 1 / 2**k of its size, so
the canvas draws the level that fits the zoom and only the tiles the viewport shows. A 100-megapixel
image zoomed to fit then costs a few hundred thousand pixels a frame instead of a hundred million.

- `ImageLevels`: an RGB image and its halvings (area-averaged), built off the GUI thread. Level 0 is
  the decoded image itself, not a copy; the other levels add a third of it.
- `MapLevels`: a 2-D uint8 map (a mask, a confidence) and its nearest-neighbour samplings
  (level k pixel (i, j) is the source pixel (i * 2**k, j * 2**k)), built lazily, one level when first
  needed, and kept in step with edits region by region (`update`), so a stroke never rebuilds a level.
- `visible_tiles`: which TILE x TILE tiles of a level a scene rectangle touches."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

TILE = 256  # display tile side, in level pixels
MIN_SIDE = 512  # no level smaller than this is built

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive), in image (level 0) pixels


def level_count(height: int, width: int) -> int:
    """Levels down to the first whose longer side is at most MIN_SIDE."""
    n, side = 1, max(height, width)
    while side > MIN_SIDE:
        side = -(-side // 2)
        n += 1
    return n


def level_for_zoom(zoom: float, levels: int) -> int:
    """The coarsest level still at least as sharp as the screen: 2**k <= 1 / zoom."""
    if zoom >= 1.0 or levels <= 1:
        return 0
    return max(0, min(levels - 1, int(math.floor(math.log2(1.0 / zoom) + 1e-9))))


def level_shape(height: int, width: int, level: int) -> tuple[int, int]:
    s = 1 << level
    return -(-height // s), -(-width // s)


def visible_tiles(rect: tuple[float, float, float, float], level: int, shape: tuple[int, int],
                  tile: int = TILE) -> list[tuple[int, int]]:
    """The tiles (row, column) of `level` that the scene rectangle (x, y, width, height, in image
    pixels) touches, for an image of `shape` (height, width) at level 0."""
    lh, lw = level_shape(*shape, level)
    s = float(1 << level)
    x, y, w, h = rect
    tx0, ty0 = max(0, int(x / s) // tile), max(0, int(y / s) // tile)
    tx1 = min(-(-lw // tile), int(math.ceil((x + w) / s / tile)))
    ty1 = min(-(-lh // tile), int(math.ceil((y + h) / s / tile)))
    return [(ty, tx) for ty in range(ty0, ty1) for tx in range(tx0, tx1)]


def tile_bounds(ty: int, tx: int, level_hw: tuple[int, int], tile: int = TILE) -> Rect:
    """The tile's rectangle in level pixels, cut at the level's edge."""
    return ty * tile, tx * tile, min((ty + 1) * tile, level_hw[0]), min((tx + 1) * tile, level_hw[1])


def halve(image: np.ndarray) -> np.ndarray:
    """Half the size (rounded up), each pixel the mean of the ones it covers."""
    h, w = image.shape[:2]
    return cv2.resize(image, (-(-w // 2), -(-h // 2)), interpolation=cv2.INTER_AREA)


class ImageLevels:
    """An RGB uint8 image and its halvings. Build it off the GUI thread (a 100-MP image takes about
    a quarter of a second); level 0 is `rgb` itself (unless it was a strided view)."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.levels = [np.ascontiguousarray(rgb)]  # drawn as rows of bytes: a rotated view is copied once
        for _ in range(level_count(*rgb.shape[:2]) - 1):
            self.levels.append(halve(self.levels[-1]))

    @property
    def shape(self) -> tuple[int, int]:
        return self.levels[0].shape[:2]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.levels[1:])  # level 0 is the caller's image


class MapLevels:
    """A 2-D uint8 map and its nearest-neighbour samplings, built when first asked for. `source` is
    shared, not copied: the editor paints into it and calls `update` with the rectangle it touched."""

    def __init__(self, source: np.ndarray, eager: bool = False) -> None:
        """`eager`: build every level now (off the GUI thread, before anyone edits `source`), so
        the first zoom to a level costs no sampling."""
        self.source = source
        self.count = level_count(*source.shape)
        self._levels: list[np.ndarray | None] = [source] + [None] * (self.count - 1)
        if eager:
            for k in range(1, self.count):  # each from the one before: a quarter of the reading
                self._levels[k] = np.ascontiguousarray(self._levels[k - 1][::2, ::2])

    @property
    def shape(self) -> tuple[int, int]:
        return self.source.shape

    def level(self, k: int) -> np.ndarray:
        k = max(0, min(k, self.count - 1))
        built = self._levels[k]
        if built is None:
            s = 1 << k
            built = self._levels[k] = np.ascontiguousarray(self.source[::s, ::s])
        return built

    def built(self) -> list[int]:
        return [k for k, a in enumerate(self._levels) if a is not None]

    def update(self, rect: Rect) -> None:
        """The source changed inside `rect`: re-sample that region of every level built so far."""
        y0, x0, y1, x1 = rect
        for k in range(1, self.count):
            level = self._levels[k]
            if level is None:
                continue
            s = 1 << k
            ly0, lx0, ly1, lx1 = -(-y0 // s), -(-x0 // s), -(-y1 // s), -(-x1 // s)
            if ly0 < ly1 and lx0 < lx1:
                level[ly0:ly1, lx0:lx1] = self.source[ly0 * s : ly1 * s : s, lx0 * s : lx1 * s : s]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._levels[1:] if a is not None)


class TileCache:
    """Rendered tiles (any array) by (level, row, column), least recently used dropped first, so
    panning re-renders only the tiles that come into view. `render(level, ty, tx)` makes a tile."""

    def __init__(self, render: Callable[[int, int, int], np.ndarray], limit_bytes: int = 48 * 2**20) -> None:
        self.render = render
        self.limit = limit_bytes
        self._tiles: dict[tuple[int, int, int], np.ndarray] = {}
        self._bytes = 0

    def get(self, level: int, ty: int, tx: int) -> np.ndarray:
        key = (level, ty, tx)
        tile = self._tiles.pop(key, None)
        if tile is None:
            tile = self.render(level, ty, tx)
            self._bytes += tile.nbytes
        self._tiles[key] = tile  # newest last
        while self._bytes > self.limit and len(self._tiles) > 1:
            old = next(iter(self._tiles))
            self._bytes -= self._tiles.pop(old).nbytes
        return tile

    def drop(self, keys) -> None:
        for key in keys:
            tile = self._tiles.pop(key, None)
            if tile is not None:
                self._bytes -= tile.nbytes

    def drop_rect(self, rect: Rect, margin: int = 0, tile: int = TILE) -> list[tuple[int, int, int]]:
        """Forgets every cached tile, at every level, that shows part of the image rectangle `rect`
        (y0, x0, y1, x1), or lies within `margin` level pixels of it (outlines look at neighbours);
        returns their keys. Looks only at what is cached, so a whole-image edit costs what a dot does."""
        y0, x0, y1, x1 = rect
        gone = []
        for k, ty, tx in self._tiles:
            s, m = tile << k, margin << k  # the tile's side and the margin, in image pixels
            if ty * s - m < y1 and (ty + 1) * s + m > y0 and tx * s - m < x1 and (tx + 1) * s + m > x0:
                gone.append((k, ty, tx))
        self.drop(gone)
        return gone

    def clear(self) -> None:
        self._tiles.clear()
        self._bytes = 0

    def __contains__(self, key) -> bool:
        return key in self._tiles

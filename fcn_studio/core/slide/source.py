"""A whole-slide image read tile by tile: its size, its own levels, and any region of a level as RGB
uint8, decoding only the tiles the region touches (through the shared, memory-bounded TileCache), side by side.

Both kinds of file become the same thing, one chunked array per level, so one reader serves both:
- tiled pyramidal TIFF, OME-TIFF, Aperio SVS and the other formats tiffslide reads (levels as SubIFDs or
  as reduced pages): tiffslide's zarr view of the file, whose chunks are the file's tiles;
- OME-Zarr (NGFF 0.4 and 0.5) images: the `multiscales` datasets, through zarr.

Pixels follow the app's loader (core.image_io): RGB as it is, grey repeated, 16-bit, 32-bit and float
images stretched linearly (`stretch_to_rgb`); a slide cannot be read whole for its minimum and maximum,
so they come from its coarsest level (or from sampled tiles of a slide without smaller levels), once,
when it opens. Outside the image a region is white, as scanners leave the glass."""

from __future__ import annotations

import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcn_studio.core.image_io import ImageLoadError, stretch_to_rgb
from fcn_studio.core.slide.tile_cache import TileCache, shared_cache

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive), in the level's pixels
BACKGROUND = 255
RANGE_PIXELS = 16_000_000  # a level this small is read whole for the stretch range
RANGE_TILES = 64  # else this many tiles, spread over it


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _decoders() -> ThreadPoolExecutor:
    """The threads that decode a region's tiles side by side (the codecs let go of the GIL), shared by
    every slide, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="slide-tiles")
        return _pool


@dataclass(frozen=True)
class Level:
    """One of the file's own levels: its (height, width), how many level-0 pixels one of its pixels
    spans, and its tile (chunk) shape."""

    shape: tuple[int, int]
    downsample: float
    tile: tuple[int, int]


class _LevelArray:
    """One level as an array with named axes; `read` gives (h, w, channels) for a Y/X window, taking
    the first index of any other axis (time, depth) and at most three channels."""

    def __init__(self, array, axes: str) -> None:
        axes = axes.upper().replace("S", "C")
        if "Y" not in axes or "X" not in axes or len(axes) != len(array.shape):
            raise ValueError(f"axes {axes!r} do not fit an array of shape {tuple(array.shape)}")
        self.array, self.axes = array, axes
        self.shape = (int(array.shape[axes.index("Y")]), int(array.shape[axes.index("X")]))
        chunks = array.chunks
        self.tile = (int(chunks[axes.index("Y")]), int(chunks[axes.index("X")]))
        self.channels = int(array.shape[axes.index("C")]) if "C" in axes else 1

    def read_tile(self, ty: int, tx: int) -> np.ndarray:
        th, tw = self.tile
        return self.read(ty * th, min(self.shape[0], ty * th + th), tx * tw, min(self.shape[1], tx * tw + tw))

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        index = []
        for ax in self.axes:
            index.append(slice(y0, y1) if ax == "Y" else slice(x0, x1) if ax == "X"
                         else slice(0, min(3, self.channels)) if ax == "C" else 0)
        data = np.asarray(self.array[tuple(index)])
        kept = [ax for ax in self.axes if ax in "YXC"]
        order = [kept.index(a) for a in "YXC" if a in kept]
        data = data.transpose(order)
        return data[..., None] if data.ndim == 2 else data


class _TiffTiles(_LevelArray):
    """A tiled TIFF page (chunky pixels) read tile by tile straight through tifffile, a third faster
    than through its zarr view; regions still go through zarr (`read`, used for the stretch range)."""

    def __init__(self, array, axes: str, page, filehandle) -> None:
        super().__init__(array, axes)
        self.page, self.fh = page, filehandle
        self.across = -(-self.shape[1] // self.tile[1])

    @staticmethod
    def fits(page, level: _LevelArray) -> bool:
        return (page.is_tiled and page.planarconfig == 1 and page.imagedepth == 1
                and (page.imagelength, page.imagewidth) == level.shape
                and (page.tilelength, page.tilewidth) == level.tile)

    def read_tile(self, ty: int, tx: int) -> np.ndarray:
        index = ty * self.across + tx
        with self.fh.lock:
            offset, count = self.page.dataoffsets[index], self.page.databytecounts[index]
            if count:
                self.fh.seek(offset)
                data = self.fh.read(count)
        if not count:  # a tile the writer left out: the page's fill
            return super().read_tile(ty, tx)
        segment, _, _ = self.page.decode(data, index, jpegtables=self.page.jpegtables)
        th, tw = self.tile
        tile = segment[0, :min(th, self.shape[0] - ty * th), :min(tw, self.shape[1] - tx * tw)]
        return tile[..., :3]


class SlideSource:
    """An open slide. `levels[0]` is full resolution; `read_region(level, rect)` returns the region's
    RGB uint8 pixels; `close()` lets go of the file and its cached tiles."""

    def __init__(self, path: Path, arrays: list[_LevelArray], cache: TileCache | None, closer=None) -> None:
        self.path = Path(path)
        self._arrays = arrays
        self._closer = closer
        self.cache = cache if cache is not None else shared_cache()
        self._token = object()  # this slide's part of the shared cache's keys
        self.tile_reads = 0  # tiles decoded from the file (cache misses of this slide)
        self._count_lock = threading.Lock()
        h0, w0 = arrays[0].shape
        self.levels = [Level(a.shape, max(h0 / a.shape[0], w0 / a.shape[1]), a.tile) for a in arrays]
        self.dtype = np.dtype(arrays[0].array.dtype)
        self._range = None if self.dtype == np.uint8 else self._stretch_range()

    @property
    def shape(self) -> tuple[int, int]:
        return self.levels[0].shape

    @property
    def stretched(self) -> bool:
        return self._range is not None

    def level_for_downsample(self, downsample: float) -> int:
        """The coarsest level still at least as sharp as `downsample` (what openslide calls the best
        level): the canvas passes 1 / zoom."""
        best = 0
        for k, level in enumerate(self.levels):
            if level.downsample <= downsample * (1 + 1e-6):
                best = k
        return best

    def tiles_of(self, level: int, rect: Rect) -> list[tuple[int, int]]:
        """The (row, column) tiles of `level` that the rectangle touches (clipped to the level)."""
        lv = self.levels[level]
        y0, x0, y1, x1 = max(0, rect[0]), max(0, rect[1]), min(lv.shape[0], rect[2]), min(lv.shape[1], rect[3])
        if y0 >= y1 or x0 >= x1:
            return []
        th, tw = lv.tile
        return list(itertools.product(range(y0 // th, -(-y1 // th)), range(x0 // tw, -(-x1 // tw))))

    def tile(self, level: int, ty: int, tx: int) -> np.ndarray:
        """One tile of a level as RGB uint8 (edge tiles cut at the level's edge), from the cache."""
        return self.cache.get((self._token, level, ty, tx), lambda: self._decode(level, ty, tx))

    def read_region(self, level: int, rect: Rect) -> np.ndarray:
        """(y1 - y0) x (x1 - x0) x 3 uint8: the rectangle of `level`, white where it leaves the image."""
        y0, x0, y1, x1 = (int(v) for v in rect)
        if y1 <= y0 or x1 <= x0:
            raise ValueError(f"empty region {rect}")
        out = np.full((y1 - y0, x1 - x0, 3), BACKGROUND, np.uint8)
        th, tw = self.levels[level].tile
        keys = self.tiles_of(level, (y0, x0, y1, x1))
        tiles = _decoders().map(lambda key: self.tile(level, *key), keys) if len(keys) > 1 else (
            self.tile(level, *key) for key in keys)
        for (ty, tx), tile in zip(keys, tiles, strict=True):
            ty0, tx0 = ty * th, tx * tw
            a0, b0 = max(y0, ty0), max(x0, tx0)
            a1, b1 = min(y1, ty0 + tile.shape[0]), min(x1, tx0 + tile.shape[1])
            out[a0 - y0:a1 - y0, b0 - x0:b1 - x0] = tile[a0 - ty0:a1 - ty0, b0 - tx0:b1 - tx0]
        return out

    def close(self) -> None:
        self.cache.forget(self._token)
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> SlideSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- decoding -----------------------------------------------------------------------------------
    def _decode(self, level: int, ty: int, tx: int) -> np.ndarray:
        try:
            raw = self._arrays[level].read_tile(ty, tx)
        except Exception as exc:  # noqa: BLE001 - any codec's error: a damaged tile, named
            raise ImageLoadError(self.path, f"tile ({ty}, {tx}) of level {level} cannot be decoded: "
                                            f"{type(exc).__name__}: {exc}") from exc
        with self._count_lock:
            self.tile_reads += 1
        return self._to_rgb(raw)

    def _to_rgb(self, raw: np.ndarray) -> np.ndarray:
        if self._range is not None:
            return stretch_to_rgb(raw[..., 0], *self._range)
        if raw.shape[2] == 3:
            return np.ascontiguousarray(raw)
        return np.ascontiguousarray(np.repeat(raw[..., :1], 3, axis=2))  # grey (or 2 channels: the first)

    def _stretch_range(self) -> tuple[float, float]:
        arr = self._arrays[-1]
        h, w = arr.shape
        if h * w <= RANGE_PIXELS:
            samples = [arr.read(0, h, 0, w)[..., 0]]
        else:
            th, tw = arr.tile
            rows, cols = -(-h // th), -(-w // tw)
            step = max(1, math.isqrt(rows * cols // RANGE_TILES))
            samples = [arr.read(ty * th, min(h, ty * th + th), tx * tw, min(w, tx * tw + tw))[..., 0]
                       for ty in range(0, rows, step) for tx in range(0, cols, step)]
        finite = [s[np.isfinite(s)] for s in samples]
        values = np.concatenate([f.ravel() for f in finite]) if finite else np.zeros(1)
        if values.size == 0:
            return 0.0, 0.0
        return float(values.min()), float(values.max())

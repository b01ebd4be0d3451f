"""A whole slide on the canvas, and its labels over it: tiles of the level that fits the zoom, only those
in view, read in the background (never on the GUI thread) and drawn when they arrive. Until then the
slide's coarsest level, read whole when it opens (a few hundred pixels across), stands in, so a pan or
zoom never waits for the disk: it is blurred for a moment, then sharp.

`SlideTiles` is the tile grid of one layer (the slide's own levels and tiles, or the label pyramid's),
with its loader and a small cache of what is ready to draw; `SlideItem` draws one layer."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)
BACKDROP_SIDE = 4096  # the coarsest level stands in for tiles not yet read, when it is at most this large
READY_TILES = 192  # tiles kept ready to draw per layer (the slide's own cache keeps the decoded pixels)


class SlideTiles:
    """One layer's tiles. `downsamples[k]` and `shapes[k]` describe level k, `tile` is the tile side
    (level pixels); `load(level, rect)` gives a level's rectangle as RGB uint8 (h, w, 3) or premultiplied
    ARGB uint32 (h, w), in a worker thread. `on_ready(rect)` (a level-0 rectangle of scene pixels) is
    called on the GUI thread through `dispatch` when tiles arrive."""

    def __init__(self, shape: tuple[int, int], downsamples: list[float], shapes: list[tuple[int, int]], tile: int,
                 load: Callable[[int, Rect], np.ndarray], dispatch: Callable[[Callable[[], None]], None]) -> None:
        self.shape, self.downsamples, self.shapes, self.tile = tuple(shape), downsamples, shapes, tile
        self.load, self.dispatch = load, dispatch
        self.on_ready: Callable[[QRectF], None] = lambda rect: None
        self._ready: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
        self._asked: set[tuple[int, int, int]] = set()
        self._generation = 0  # bumped when the layer's content changes: older loads are dropped
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slide-view")
        self.backdrop = self._read_level(len(shapes) - 1)  # the coarsest level, whole

    def _read_level(self, level: int) -> np.ndarray | None:
        h, w = self.shapes[level]
        if max(h, w) > BACKDROP_SIDE:  # a file without small levels: no stand-in, grey until tiles come
            return None
        return np.ascontiguousarray(self.load(level, (0, 0, h, w)))

    def level_for(self, zoom: float) -> int:
        """The coarsest level still at least as sharp as the screen."""
        best = 0
        for k, d in enumerate(self.downsamples):
            if d <= (1.0 / zoom) * (1 + 1e-6):
                best = k
        return best

    def tiles_in(self, level: int, scene: QRectF) -> list[tuple[int, int]]:
        d, (h, w), t = self.downsamples[level], self.shapes[level], self.tile
        ty0, tx0 = max(0, int(scene.top() / d) // t), max(0, int(scene.left() / d) // t)
        ty1 = min(-(-h // t), math.ceil(scene.bottom() / d / t))
        tx1 = min(-(-w // t), math.ceil(scene.right() / d / t))
        return [(ty, tx) for ty in range(ty0, ty1) for tx in range(tx0, tx1)]

    def level_rect(self, level: int, ty: int, tx: int) -> Rect:
        (h, w), t = self.shapes[level], self.tile
        return ty * t, tx * t, min(h, ty * t + t), min(w, tx * t + t)

    def scene_rect(self, level: int, rect: Rect) -> QRectF:
        d = self.downsamples[level]
        return QRectF(rect[1] * d, rect[0] * d, (rect[3] - rect[1]) * d, (rect[2] - rect[0]) * d)

    def ready(self, level: int, ty: int, tx: int) -> np.ndarray | None:
        """The tile if it is ready to draw; else None, and it is asked for."""
        key = (level, ty, tx)
        with self._lock:
            tile = self._ready.get(key)
            if tile is not None:
                self._ready.move_to_end(key)
                return tile
            if key in self._asked:
                return None
            self._asked.add(key)
            generation = self._generation
        self._pool.submit(self._fetch, key, generation)
        return None

    def _fetch(self, key: tuple[int, int, int], generation: int) -> None:
        rect = self.level_rect(*key)
        try:
            tile = np.ascontiguousarray(self.load(key[0], rect))
        except Exception:  # noqa: BLE001 - a damaged tile: the backdrop stays under it, asked again later
            with self._lock:
                self._asked.discard(key)
            return
        with self._lock:
            if generation != self._generation:
                return
            self._asked.discard(key)
            self._ready[key] = tile
            while len(self._ready) > READY_TILES:
                self._ready.popitem(last=False)
        scene = self.scene_rect(key[0], rect)
        self.dispatch(lambda: self.on_ready(scene))

    def changed(self, rect: Rect | None = None) -> None:
        """The content changed in a level-0 rectangle (None: everywhere, e.g. new colours): its tiles
        are read again; the backdrop too."""
        with self._lock:
            self._generation += 1
            self._asked.clear()
            if rect is None:
                self._ready.clear()
            else:
                for key in [k for k in self._ready if self._touches(k, rect)]:
                    del self._ready[key]
        coarsest = len(self.shapes) - 1
        if rect is None or self.backdrop is None:
            self.backdrop = self._read_level(coarsest)
            return
        # only the backdrop's part under the change is read again: a stroke costs no whole-level read
        d, (h, w) = self.downsamples[coarsest], self.shapes[coarsest]
        part = (int(rect[0] // d), int(rect[1] // d), min(h, -int(-rect[2] // d)), min(w, -int(-rect[3] // d)))
        if part[0] < part[2] and part[1] < part[3]:
            self.backdrop[part[0]:part[2], part[1]:part[3]] = self.load(coarsest, part)

    def _touches(self, key: tuple[int, int, int], rect: Rect) -> bool:
        r = self.scene_rect(key[0], self.level_rect(*key))
        return r.left() < rect[3] and r.right() > rect[1] and r.top() < rect[2] and r.bottom() > rect[0]

    def close(self) -> None:
        with self._lock:
            self._generation += 1
        self._pool.shutdown(wait=False, cancel_futures=True)


def _qimage(array: np.ndarray) -> QImage:
    h, w = array.shape[:2]
    if array.ndim == 3:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)
    return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_ARGB32_Premultiplied)


class SlideItem(QGraphicsItem):
    """Draws one layer (`SlideTiles`) of a slide at the level that fits the zoom."""

    def __init__(self, smooth: bool) -> None:
        super().__init__()
        self.tiles: SlideTiles | None = None
        self.smooth = smooth
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_tiles(self, tiles: SlideTiles | None) -> None:
        self.prepareGeometryChange()
        if self.tiles is not None:
            self.tiles.close()
        self.tiles = tiles
        if tiles is not None:
            tiles.on_ready = self.update
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self.tiles is None:
            return QRectF()
        h, w = self.tiles.shape
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        tiles = self.tiles
        if tiles is None:
            return
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        zoom = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and zoom < 1.0)
        painter.setClipRect(exposed)
        coarsest = len(tiles.shapes) - 1
        backdrop, d = tiles.backdrop, tiles.downsamples[coarsest]
        level = tiles.level_for(zoom)
        if level == coarsest and backdrop is not None:
            painter.drawImage(QRectF(0, 0, backdrop.shape[1] * d, backdrop.shape[0] * d), _qimage(backdrop))
            return
        for ty, tx in tiles.tiles_in(level, exposed):
            where = tiles.scene_rect(level, tiles.level_rect(level, ty, tx))
            tile = tiles.ready(level, ty, tx)
            if tile is not None:
                painter.drawImage(where, _qimage(tile))
            elif backdrop is not None:  # the coarsest level's part under the tile, until the tile comes
                painter.drawImage(where, _qimage(backdrop), QRectF(where.left() / d, where.top() / d,
                                                                   where.width() / d, where.height() / d))

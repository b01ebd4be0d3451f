"""Predicting a whole slide without holding it: the predictor's overlapping tiles (inference.tiling, the
same layout as any large image, so the labels are the same) are read from the slide's level 0 one row
of tiles at a time, and the labels go out as a tiled pyramidal OME-TIFF (core.slide.pyramid_writer,
levels sampled, never averaged) as soon as a band of file tiles is complete.

Memory holds one row of prediction tiles (tile x width labels, a batch of tile images) and a band of the
output, whatever the slide's size.

For the app, `predict_into_pyramid` writes the same tiles into a project's label pyramid instead, the
tiles around a point (the view) first, then outward, and skips the tiles already there, so a prediction
stopped (cancelled, or the app killed) resumes where it stopped."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.slide import SlideSource
from fcn_studio.core.slide.pyramid_writer import Cancelled, label_metadata, nearest_halve, write_pyramid_tiff
from fcn_studio.inference.predictor import Predictor
from fcn_studio.inference.tiling import Tile, plan_tiles
from fcn_studio.project.label_pyramid import IGNORE, LabelPyramid

TileProgress = Callable[[int, int], None]  # (prediction tiles done, total)


class PredictedRows:
    """The slide's labels by bands of rows, predicted when first asked for (rows come in order)."""

    def __init__(self, predictor: Predictor, slide: SlideSource, batch: int = 1,
                 progress: TileProgress | None = None) -> None:
        """`batch`: tiles per forward pass. One, as the predictor's own tiling does: a tile is already
        as large as the predictor takes at once, and four at a time doubled the peak memory (3.4 GB
        against 1.7 GB on a 30-megapixel slide, CPU)."""
        self.predictor, self.slide, self.batch, self.progress = predictor, slide, batch, progress
        h, w = slide.shape
        self.shape = (h, w, 1)
        self.dtype = np.dtype(np.uint8)
        tiles = plan_tiles(h, w, predictor.tile, predictor.overlap)
        self.total = len(tiles)
        self._rows: list[list[Tile]] = []
        for t in tiles:  # plan_tiles goes row by row
            if not self._rows or (self._rows[-1][0].oy0, self._rows[-1][0].oy1) != (t.oy0, t.oy1):
                self._rows.append([])
            self._rows[-1].append(t)
        self._next = 0
        self._done = 0
        self._buf = np.empty((0, w), np.uint8)
        self._buf_y0 = 0
        self.most_rows_held = 0

    def band(self, y0: int, y1: int) -> np.ndarray:
        if y0 < self._buf_y0:
            raise ValueError("rows are predicted in order; rows already given are gone")
        self._buf = self._buf[y0 - self._buf_y0:]
        self._buf_y0 = y0
        while self._buf_y0 + len(self._buf) < y1:
            self._buf = np.concatenate([self._buf, self._predict_row(self._rows[self._next])])
            self._next += 1
            self.most_rows_held = max(self.most_rows_held, len(self._buf))
        return self._buf[:y1 - y0]

    def _predict_row(self, row: list[Tile]) -> np.ndarray:
        oy0, oy1 = row[0].oy0, row[0].oy1
        labels = np.empty((oy1 - oy0, self.shape[1]), np.uint8)
        for start in range(0, len(row), self.batch):
            part = row[start:start + self.batch]
            images = [self.slide.read_region(0, (t.y0, t.x0, t.y1, t.x1)) for t in part]
            for t, pred in zip(part, self.predictor.predict_batch(images, self.batch), strict=True):
                labels[:, t.ox0:t.ox1] = pred.labels[t.oy0 - t.y0:t.oy1 - t.y0, t.ox0 - t.x0:t.ox1 - t.x0]
            self._done += len(part)
            if self.progress is not None:
                self.progress(self._done, self.total)
        return labels


def predict_slide(predictor: Predictor, slide: SlideSource, output: str | Path, batch: int = 1,
                  progress: TileProgress | None = None, cancel: threading.Event | None = None,
                  labels: LabelSet | None = None) -> Path:
    """Writes the slide's class indices as a pyramidal OME-TIFF at `output` (whole or not at all),
    with the class table of `labels` in its metadata."""
    rows = PredictedRows(predictor, slide, batch, progress)
    return write_pyramid_tiff(output, rows, nearest_halve, cancel=cancel,
                              metadata=label_metadata(labels) if labels is not None else None)


NOT_PREDICTED = IGNORE  # a confidence pyramid's fill: no prediction there yet


def confidence_byte(confidence: np.ndarray) -> np.ndarray:
    """Confidence (0..1, the max softmax probability) as 0..254, leaving 255 for "not predicted"."""
    return np.rint(np.clip(confidence, 0.0, 1.0) * 254.0).astype(np.uint8)


def _is_done(pyramid: LabelPyramid, t: Tile) -> bool:
    """Whether a tile's labels are in the pyramid: its samples at a coarse level hold no IGNORE (a
    prediction is never 255). The coarser levels are written last, so a tile whose write was cut off
    is not taken for done."""
    side = min(t.oy1 - t.oy0, t.ox1 - t.ox0)
    level = max(0, min(pyramid.levels - 1, int(math.log2(max(1, side // 4)))))
    s = 2**level
    rect = (-(-t.oy0 // s), -(-t.ox0 // s), -(-t.oy1 // s), -(-t.ox1 // s))
    if rect[0] >= rect[2] or rect[1] >= rect[3]:
        return False
    return not (pyramid.read(level, rect) == IGNORE).any()


def predict_into_pyramid(predictor: Predictor, slide: SlideSource, pyramid: LabelPyramid,
                         around: tuple[float, float] | None = None, progress: TileProgress | None = None,
                         cancel: threading.Event | None = None,
                         on_tile: Callable[[tuple[int, int, int, int]], None] | None = None,
                         confidence: LabelPyramid | None = None) -> int:
    """Predicts the slide into `pyramid` (of the slide's size) tile by tile, nearest to `around`
    (y, x in level-0 pixels; default the centre) first, skipping tiles already predicted. Returns how
    many tiles it predicted; `cancel.set()` stops it between tiles with Cancelled (what is written stays).
    `on_tile(rect)`: a tile's labels (y0, x0, y1, x1, level 0) are in the pyramid. `confidence`: a
    pyramid of the slide's size that gets each pixel's confidence (confidence_byte), written before
    the labels, so a tile counted as done has both."""
    h, w = slide.shape
    if pyramid.shape != (h, w):
        raise ValueError(f"a label pyramid of {pyramid.shape} for a slide of {(h, w)}")
    cy, cx = around if around is not None else (h / 2, w / 2)

    def distance(t: Tile) -> float:
        return math.hypot(min(max(cy, t.oy0), t.oy1) - cy, min(max(cx, t.ox0), t.ox1) - cx)

    tiles = [t for t in sorted(plan_tiles(h, w, predictor.tile, predictor.overlap), key=distance)
             if not _is_done(pyramid, t)]
    for i, t in enumerate(tiles):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"prediction of {slide.path} stopped after {i} tiles")
        pred = predictor.predict_batch([slide.read_region(0, (t.y0, t.x0, t.y1, t.x1))], 1)[0]
        if confidence is not None:
            confidence.write((t.oy0, t.ox0, t.oy1, t.ox1), confidence_byte(
                pred.confidence[t.oy0 - t.y0:t.oy1 - t.y0, t.ox0 - t.x0:t.ox1 - t.x0]))
        pyramid.write((t.oy0, t.ox0, t.oy1, t.ox1),
                      pred.labels[t.oy0 - t.y0:t.oy1 - t.y0, t.ox0 - t.x0:t.ox1 - t.x0])
        if on_tile is not None:
            on_tile((t.oy0, t.ox0, t.oy1, t.ox1))
        if progress is not None:
            progress(i + 1, len(tiles))
    return len(tiles)


REGION = 1024  # the side of a "region" of a slide that Least Certain Region goes to


def least_certain_region(confidence: LabelPyramid, labelled: LabelPyramid | None = None,
                         side: int = REGION) -> tuple[int, int, int, int] | None:
    """The side x side window of the slide (level 0) where the model is least sure on average, among
    the windows it has predicted and nobody has labelled yet (`labelled`: the person's pyramid);
    None when there is none. Reads one coarse level (about 8 x 8 samples a window), never the slide."""
    level = max(0, min(confidence.levels - 1, int(math.log2(max(1, side // 8)))))
    s = 2**level
    lh, lw = confidence.arrays[level].shape
    conf = confidence.read(level, (0, 0, lh, lw)).astype(np.float64)
    predicted = conf != IGNORE
    k = max(1, side // s)  # samples a window spans
    rows, cols = -(-lh // k), -(-lw // k)
    pad = ((0, rows * k - lh), (0, cols * k - lw))
    sums = np.pad(np.where(predicted, conf, 0.0), pad).reshape(rows, k, cols, k).sum((1, 3))
    counts = np.pad(predicted, pad).reshape(rows, k, cols, k).sum((1, 3))
    touched = np.zeros((rows, cols), bool)  # windows with a chunk of the person's labels on disk
    if labelled is not None:
        ch, cw = labelled.arrays[0].chunks
        for r, c in labelled.stored_chunks(0):
            for wy in range(r * ch // side, min((r + 1) * ch - 1, labelled.shape[0] - 1) // side + 1):
                for wx in range(c * cw // side, min((c + 1) * cw - 1, labelled.shape[1] - 1) // side + 1):
                    if wy < rows and wx < cols:
                        touched[wy, wx] = True
    mean = np.where((counts > 0) & ~touched, sums / np.maximum(counts, 1), np.inf)
    if not np.isfinite(mean).any():
        return None
    r, c = np.unravel_index(int(np.argmin(mean)), mean.shape)
    h, w = confidence.shape
    y0, x0 = int(r) * k * s, int(c) * k * s
    return y0, x0, min(h, y0 + side), min(w, x0 + side)

"""What the overlay shows for the current image (mask, confidence, visible classes, mode), served to
the canvas as premultiplied-ARGB tiles of display levels (core.pyramid): a tile is coloured from the
mask's level when it first comes into view and kept in a small cache, so nothing proportional to the
image is rendered or held (at 100 megapixels a whole ARGB overlay would be 400 MB and 100 ms per
class toggle). An edit re-samples the levels inside its rectangle and drops the tiles it touched.

While a large image is predicted tile by tile, `show_partial` lays the tiles that have arrived under
the person's mask (where it is unlabelled), so the prediction shows up as it is made."""

from __future__ import annotations

import cv2
import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.overlay import argb_lut, render_confidence, render_outline, render_overlay
from fcn_studio.core.pyramid import TILE, MapLevels, Rect, TileCache, tile_bounds

_CONFIDENCE_LUT = render_confidence(np.arange(256, dtype=np.float32) / 255.0).astype(np.uint32)


def confidence_bytes(confidence: np.ndarray | None) -> np.ndarray | None:
    """Confidence as uint8 (0..255): a quarter of float32's memory, all that display needs. Call it
    off the GUI thread for large images."""
    if confidence is None or confidence.dtype == np.uint8:
        return confidence
    return cv2.convertScaleAbs(confidence, alpha=255.0)  # rounds and saturates, in one pass


class OverlayState:
    def __init__(self) -> None:
        self.labels = LabelSet.voc()
        self.visible: list[bool] = [True] * len(self.labels)
        self.mode = "fill"
        self.mask: np.ndarray | None = None
        self.confidence: np.ndarray | None = None  # uint8, 255 = certain
        self.prediction: np.ndarray | None = None  # the model's classes the confidence belongs to
        self.hatch = True  # unlabelled pixels drawn hatched, apart from a hidden background
        self._mask_levels: MapLevels | None = None
        self._conf_levels: MapLevels | None = None
        self._partial: MapLevels | None = None
        self._lut = self._make_lut()
        self.tiles = TileCache(self._render_tile)

    def set_labels(self, labels: LabelSet) -> None:
        self.labels = labels
        self.visible = [True] * len(labels)

    def set_image_data(self, mask: np.ndarray | None, confidence: np.ndarray | None,
                       prediction: np.ndarray | None = None, levels: MapLevels | None = None) -> None:
        """`prediction` (the model's classes, never the edited mask itself) lets the hover tell a
        person's pixels from the model's; without it no confidence is claimed for a pixel. `levels`: the
        mask's display levels if built ahead (used only if they are of `mask`)."""
        if mask is not self.mask:
            self._mask_levels = None if mask is None else (
                levels if levels is not None and levels.source is mask else MapLevels(mask))
        self._partial = None  # new data for the image (or another image): partial tiles are done
        confidence = confidence_bytes(confidence)
        if confidence is not self.confidence:
            self._conf_levels = MapLevels(confidence) if confidence is not None else None
        self.mask, self.confidence, self.prediction = mask, confidence, prediction
        self.tiles.clear()

    # -- the tile source the canvas draws -----------------------------------------------------------
    def render(self) -> OverlayState | None:
        """After a change of classes, mode or data: forgets the coloured tiles and returns the tile
        source for the canvas (this object), or None when there is nothing to show."""
        self._lut = self._make_lut()
        self.tiles.clear()
        return self if self._levels() is not None else None

    def _levels(self) -> MapLevels | None:
        return self._conf_levels if self.mode == "confidence" else self._mask_levels

    @property
    def shape(self) -> tuple[int, int]:
        return self._levels().shape

    @property
    def count(self) -> int:
        return self._levels().count

    def tile(self, level: int, ty: int, tx: int) -> np.ndarray:
        """The H x W uint32 premultiplied ARGB tile (ty, tx) of `level`."""
        return self.tiles.get(level, ty, tx)

    def _render_tile(self, level: int, ty: int, tx: int) -> np.ndarray:
        levels = self._levels()
        array = levels.level(level)
        y0, x0, y1, x1 = tile_bounds(ty, tx, array.shape)
        if self.mode == "confidence":
            return np.take(_CONFIDENCE_LUT, array[y0:y1, x0:x1])
        m = 2 if self.mode == "outline" else 0  # outlines look at neighbours across the tile's edge
        ey0, ex0 = max(0, y0 - m), max(0, x0 - m)
        ey1, ex1 = min(array.shape[0], y1 + m), min(array.shape[1], x1 + m)
        patch = array[ey0:ey1, ex0:ex1]
        if self._partial is not None:
            patch = np.where(patch == self.labels.ignore_index, self._partial.level(level)[ey0:ey1, ex0:ex1], patch)
        patch = np.ascontiguousarray(patch)
        # the hatch follows level coordinates, so neighbouring tiles line up
        hatch = {"origin": (ey0, ex0), "ignore_index": self._ignore()}
        out = render_outline(patch, self._lut, **hatch) if m else render_overlay(patch, self._lut, **hatch)
        return np.ascontiguousarray(out[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0])

    @staticmethod
    def colour_confidence(confidence: np.ndarray) -> np.ndarray:
        """Premultiplied ARGB of confidence bytes (255: certain), as the confidence view draws them."""
        return np.take(_CONFIDENCE_LUT, confidence)

    def colour_labels(self, labels: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        """Premultiplied ARGB of a patch of labels whose top-left pixel is `origin` (in its level), in
        the classes' colours as shown now (a whole slide's label tiles; any thread)."""
        hatch = {"origin": origin, "ignore_index": self._ignore()}
        render = render_outline if self.mode == "outline" else render_overlay
        return np.ascontiguousarray(render(np.ascontiguousarray(labels), self._lut, **hatch))

    def pixels(self) -> np.ndarray | None:
        """The whole overlay at full size (tests and previews; the canvas never needs it)."""
        source = self.render()
        if source is None:
            return None
        h, w = self.shape
        out = np.empty((h, w), np.uint32)
        for ty in range(-(-h // TILE)):
            for tx in range(-(-w // TILE)):
                out[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = self._render_tile(0, ty, tx)
        return out

    # -- changes ------------------------------------------------------------------------------------
    def update_rect(self, rect: Rect) -> Rect | None:
        """After an edit inside `rect` (y0, x0, y1, x1): re-samples the mask's levels there, drops the
        coloured tiles it touched, and returns the patch to repaint (outlines reach two pixels
        further), or None if the overlay does not show the mask."""
        if self._mask_levels is None:
            return None
        self._mask_levels.update(rect)
        if self.mode == "confidence":
            return None
        m = 2 if self.mode == "outline" else 0
        self.tiles.drop_rect(rect, margin=m)
        if not m:
            return rect
        h, w = self.mask.shape
        y0, x0, y1, x1 = rect
        return max(0, y0 - m), max(0, x0 - m), min(h, y1 + m), min(w, x1 + m)

    def show_partial(self, labels: np.ndarray, rect: Rect) -> Rect | None:
        """Prediction tiles of a large image as they arrive: `labels` is the prediction being filled
        in (shared, not copied), `rect` the part that has just been written. Shown only where the
        person's mask is unlabelled, and only until the finished prediction arrives."""
        if self.mask is None or labels.shape != self.mask.shape:
            return None
        if self._partial is None or self._partial.source is not labels:
            self._partial = MapLevels(labels)
            self.tiles.clear()
        self._partial.update(rect)
        self.tiles.drop_rect(rect, margin=2)
        return rect if self.mode != "confidence" else None

    def clear_partial(self) -> None:
        if self._partial is not None:
            self._partial = None
            self.tiles.clear()

    def _ignore(self) -> int | None:
        return self.labels.ignore_index if self.hatch else None

    def _make_lut(self) -> np.ndarray:
        return argb_lut(self.labels, self.visible + [True] * (len(self.labels) - len(self.visible)))

    def _name(self, idx: int) -> str:
        return self.labels.names[idx] if idx < len(self.labels) else (
            "unlabelled" if idx == self.labels.ignore_index else str(idx))

    def describe(self, x: int, y: int) -> str:
        """The class under the cursor, and whose it is: the model's (with its confidence) where the
        pixel is still what the model predicted, "painted by you" where a person changed it."""
        if self.mask is None or not (0 <= y < self.mask.shape[0] and 0 <= x < self.mask.shape[1]):
            return ""
        idx = int(self.mask[y, x])
        text = f"class {self._name(idx)}"
        pred, conf = self.prediction, self.confidence
        if pred is None or pred.shape != self.mask.shape:
            return text  # no prediction known: nothing to tell the model's pixels from a person's
        if int(pred[y, x]) != idx:
            return f"{text}, painted by you (the model said {self._name(int(pred[y, x]))})"
        if conf is not None and conf.shape == self.mask.shape:
            return f"{text}, model confidence {conf[y, x] / 255:.2f}"
        return text

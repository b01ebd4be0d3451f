"""What the overlay shows for the current image (mask, confidence, visible classes, mode), and its
rendering into one reused ARGB buffer, so a class toggle at 24 megapixels allocates nothing."""

from __future__ import annotations

import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.overlay import argb_lut, render_confidence, render_outline, render_overlay
from fcn_studio.ui.qimage import ImageBuffer, argb_buffer


class OverlayState:
    def __init__(self) -> None:
        self.labels = LabelSet.voc()
        self.visible: list[bool] = [True] * len(self.labels)
        self.mode = "fill"
        self.mask: np.ndarray | None = None
        self.confidence: np.ndarray | None = None
        self.prediction: np.ndarray | None = None  # the model's classes the confidence belongs to
        self.hatch = True  # unlabelled pixels drawn hatched, apart from a hidden background
        self._buffer: ImageBuffer | None = None

    def set_labels(self, labels: LabelSet) -> None:
        self.labels = labels
        self.visible = [True] * len(labels)

    def set_image_data(self, mask: np.ndarray | None, confidence: np.ndarray | None,
                       prediction: np.ndarray | None = None) -> None:
        """`prediction` (the model's classes, never the edited mask itself) lets the hover tell a
        person's pixels from the model's; without it no confidence is claimed for a pixel."""
        self.mask, self.confidence, self.prediction = mask, confidence, prediction

    def render(self) -> ImageBuffer | None:
        """Recomputes the overlay; returns None when there is nothing to show."""
        source = self.confidence if self.mode == "confidence" else self.mask
        if source is None:
            return None
        if self._buffer is None or self._buffer.array.shape != source.shape:
            self._buffer = argb_buffer(np.zeros(source.shape, np.uint32))
        out = self._buffer.array
        if self.mode == "confidence":
            render_confidence(source, out)
        else:
            lut = self._lut()
            render = render_outline if self.mode == "outline" else render_overlay
            render(source, lut, out, ignore_index=self._ignore())
        return self._buffer

    def update_rect(self, rect: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        """After an edit inside `rect` (y0, x0, y1, x1): recolours only that patch of the buffer and
        returns the patch to repaint (outlines reach one pixel further), or None if nothing shows."""
        if self._buffer is None or self.mask is None or self.mode == "confidence":
            return None
        y0, x0, y1, x1 = rect
        h, w = self.mask.shape
        lut = self._lut()
        if self.mode == "outline":
            y0, x0, y1, x1 = max(0, y0 - 2), max(0, x0 - 2), min(h, y1 + 2), min(w, x1 + 2)
            ey0, ex0, ey1, ex1 = max(0, y0 - 2), max(0, x0 - 2), min(h, y1 + 2), min(w, x1 + 2)
            patch = render_outline(np.ascontiguousarray(self.mask[ey0:ey1, ex0:ex1]), lut, origin=(ey0, ex0),
                                   ignore_index=self._ignore())
            self._buffer.array[y0:y1, x0:x1] = patch[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0]
        else:
            render_overlay(self.mask[y0:y1, x0:x1], lut, self._buffer.array[y0:y1, x0:x1], origin=(y0, x0),
                           ignore_index=self._ignore())
        return y0, x0, y1, x1

    def _ignore(self) -> int | None:
        return self.labels.ignore_index if self.hatch else None

    def _lut(self) -> np.ndarray:
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
            return f"{text}, model confidence {conf[y, x]:.2f}"
        return text

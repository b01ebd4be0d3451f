"""What the canvas shows over a whole slide: the person's labels (its SlideEditing, strokes not yet
written included), and where nobody painted, the model's prediction of the slide (its own label pyramid
under predictions/, filled in tile by tile), drawn at half strength so the two are told apart: a
prediction never becomes a person's label by being shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.project.label_pyramid import LabelPyramid

Rect = tuple[int, int, int, int]
NOT_PREDICTED = 255  # a confidence pyramid's fill (inference.slide_predict: values 0..254 are confidence)


def _half(argb: np.ndarray) -> np.ndarray:
    """Premultiplied ARGB at half its alpha (every channel halved)."""
    return (argb >> 1) & np.uint32(0x7F7F7F7F)


class SlideLabelView:
    def __init__(self, editing, prediction_path: Path, overlay, confidence_path: Path | None = None) -> None:
        self.editing, self.overlay = editing, overlay
        self._paths = {"prediction": Path(prediction_path), "confidence": confidence_path}
        self._open: dict[str, LabelPyramid] = {}

    def _pyramid(self, which: str) -> LabelPyramid | None:
        path = self._paths[which]
        if which not in self._open and path is not None and path.is_dir():
            try:
                self._open[which] = LabelPyramid.open(path)  # the prediction writes it meanwhile
            except (OSError, KeyError, ValueError):
                return None  # being made right now: seen next time
        return self._open.get(which)

    @property
    def prediction(self) -> LabelPyramid | None:
        """The model's labels of the slide, once a prediction has begun (opened on first sight)."""
        return self._pyramid("prediction")

    @property
    def confidence(self) -> LabelPyramid | None:
        """The model's confidence (0..254, 255 where not predicted yet), beside its labels."""
        return self._pyramid("confidence")

    def confidence_argb(self, level: int, rect: Rect) -> np.ndarray:
        """The confidence view of a tile: red where the model is unsure; nothing where it has not been."""
        h, w = rect[2] - rect[0], rect[3] - rect[1]
        pyramid = self.confidence
        if pyramid is None or level >= pyramid.levels:
            return np.zeros((h, w), np.uint32)
        stored = pyramid.read(level, rect)
        shown = self.overlay.colour_confidence(((stored.astype(np.uint16) * 255 + 127) // 254).astype(np.uint8))
        return np.ascontiguousarray(np.where(stored == NOT_PREDICTED, np.uint32(0), shown))

    def labels(self, level: int, rect: Rect) -> tuple[np.ndarray, np.ndarray | None]:
        """The person's labels of `rect` (in `level`'s pixels) and the model's, or None."""
        person = self.editing.labels(level, rect)
        prediction = self.prediction
        if prediction is None or level >= prediction.levels or not (person == IGNORE_INDEX).any():
            return person, None
        return person, prediction.read(level, rect)

    def argb(self, level: int, rect: Rect) -> np.ndarray:
        """The tile as the canvas draws it: premultiplied ARGB."""
        if self.overlay.mode == "confidence":
            return self.confidence_argb(level, rect)
        person, model = self.labels(level, rect)
        shown = self.overlay.colour_labels(person, rect[:2])
        if model is None:
            return shown
        predicted = (person == IGNORE_INDEX) & (model != IGNORE_INDEX)
        if predicted.any():
            shown = np.where(predicted, _half(self.overlay.colour_labels(model, rect[:2])), shown)
        return np.ascontiguousarray(shown)

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


def _half(argb: np.ndarray) -> np.ndarray:
    """Premultiplied ARGB at half its alpha (every channel halved)."""
    return (argb >> 1) & np.uint32(0x7F7F7F7F)


class SlideLabelView:
    def __init__(self, editing, prediction_path: Path, overlay) -> None:
        self.editing, self.prediction_path, self.overlay = editing, Path(prediction_path), overlay
        self._prediction: LabelPyramid | None = None

    @property
    def prediction(self) -> LabelPyramid | None:
        """The model's labels of the slide, once a prediction has begun (opened on first sight)."""
        if self._prediction is None and self.prediction_path.is_dir():
            try:
                self._prediction = LabelPyramid.open(self.prediction_path)
            except (OSError, KeyError, ValueError):
                return None  # being made right now: seen next time
        return self._prediction

    def labels(self, level: int, rect: Rect) -> tuple[np.ndarray, np.ndarray | None]:
        """The person's labels of `rect` (in `level`'s pixels) and the model's, or None."""
        person = self.editing.labels(level, rect)
        prediction = self.prediction
        if prediction is None or level >= prediction.levels or not (person == IGNORE_INDEX).any():
            return person, None
        return person, prediction.read(level, rect)

    def argb(self, level: int, rect: Rect) -> np.ndarray:
        """The tile as the canvas draws it: premultiplied ARGB."""
        person, model = self.labels(level, rect)
        shown = self.overlay.colour_labels(person, rect[:2])
        if model is None:
            return shown
        predicted = (person == IGNORE_INDEX) & (model != IGNORE_INDEX)
        if predicted.any():
            shown = np.where(predicted, _half(self.overlay.colour_labels(model, rect[:2])), shown)
        return np.ascontiguousarray(shown)

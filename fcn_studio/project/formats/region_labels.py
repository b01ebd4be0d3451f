"""An image's labels as the exporters of whole slides read them: in level-0 parts that hold labels,
never whole. A slide's label pyramid gives its stored chunks (only where anything was painted); an
ordinary image's mask, small enough to hold, is one part. One reader for the GeoJSON and label OME-TIFF
exports, for slides and ordinary images alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fcn_studio.project.label_pyramid import LabelPyramid
from fcn_studio.project.project import ImageRecord, Project
from fcn_studio.project.schema import HUMAN_STATES


@dataclass
class RegionLabels:
    shape: tuple[int, int]
    pyramid: LabelPyramid | None  # a slide's labels
    mask: np.ndarray | None  # an ordinary image's

    def parts(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """(y0, x0, labels) for every level-0 part that may hold labels."""
        if self.mask is not None:
            yield 0, 0, self.mask
            return
        ch, cw = self.pyramid.arrays[0].chunks
        h, w = self.shape
        for row, col in self.pyramid.stored_chunks(0):
            y0, x0 = row * ch, col * cw
            yield y0, x0, self.pyramid.read(0, (y0, x0, min(h, y0 + ch), min(w, x0 + cw)))


def region_labels(project: Project, record: ImageRecord) -> RegionLabels | None:
    """The person's labels (or, for an image nobody labelled, the model's), or None when it has none."""
    if record.state in HUMAN_STATES and project.mask_pyramid_path(record.id).is_dir():
        pyramid = LabelPyramid.open(project.mask_pyramid_path(record.id))
        return RegionLabels(pyramid.shape, pyramid, None)
    mask, _human = project.load_shown_mask(record.id)
    return None if mask is None else RegionLabels(mask.shape, None, mask)

"""What the window needs to show one image, made in the decode lane (never on the GUI thread): the
decoded image and its display levels, the mask shown (a person's, else the model's), whether a person
made it, the model's confidence (uint8) and classes (for the hover), and the editing session's start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcn_studio.core.image_io import load_image
from fcn_studio.core.pyramid import ImageLevels, MapLevels
from fcn_studio.project.project import Project
from fcn_studio.ui.canvas.overlay_state import confidence_bytes
from fcn_studio.ui.canvas.slide_item import SlideTiles
from fcn_studio.ui.canvas.slide_labels import SlideLabelView

SLIDE_TILE = 512  # display tiles of a slide and of its labels (the label pyramid's chunk side)


@dataclass
class ShownImage:
    rgb: np.ndarray
    levels: ImageLevels
    mask: np.ndarray | None  # the stored mask, None when the image has none yet
    human: bool
    confidence: np.ndarray | None
    prediction: np.ndarray | None  # the model's classes the confidence belongs to
    start: np.ndarray  # what the editor starts from (see EditingSession.prepare)
    origin: object
    mask_levels: MapLevels


def load_shown_image(project: Project, session, image_id: int, path: Path) -> ShownImage:
    rgb = load_image(path)
    shape = rgb.shape[:2]
    mask, human = project.load_shown_mask(image_id, shape)
    confidence = confidence_bytes(project.load_confidence(image_id, shape))
    # the model's classes (for the hover: whose pixel is it); the shown mask is edited in place
    prediction = None if confidence is None else (
        project.load_prediction(image_id, shape) if human else None if mask is None else mask.copy())
    start, origin = session.prepare(mask, shape, human)
    return ShownImage(rgb, ImageLevels(rgb), mask, human, confidence, prediction, start, origin,
                      MapLevels(start, eager=True))


@dataclass
class ShownSlide:
    """A whole slide, open: its pixels and its labels as tile layers for the canvas (made here, so the
    coarsest levels are read off the GUI thread), and the editor of its labels."""

    source: object  # core.slide.SlideSource
    editing: object  # workspace.slide_editing.SlideEditing
    image_tiles: SlideTiles
    label_tiles: SlideTiles
    labels: SlideLabelView  # the person's labels over the model's

    @property
    def shape(self) -> tuple[int, int]:
        return self.source.shape


def load_shown_slide(project: Project, image_id: int, path: Path, overlay, dispatch,
                     autosave_delay: float = 0.3) -> ShownSlide:
    """Opens the slide at `path` (core.slide; ImageLoadError says why it cannot be) and its labels."""
    from fcn_studio.core.slide import open_slide  # noqa: PLC0415
    from fcn_studio.workspace.slide_editing import SlideEditing  # noqa: PLC0415

    source = open_slide(path)
    try:
        editing = SlideEditing(project, image_id, source.shape, autosave_delay, dispatch=dispatch)
        editing.pixels = lambda rect: source.read_region(0, rect)  # what the smart box sees
        image_tiles = SlideTiles(source.shape, [lv.downsample for lv in source.levels],
                                 [lv.shape for lv in source.levels], SLIDE_TILE, source.read_region, dispatch)
        labels = SlideLabelView(editing, project.prediction_pyramid_path(image_id), overlay,
                                project.confidence_pyramid_path(image_id))
        label_tiles = SlideTiles(source.shape, [float(2**k) for k in range(editing.levels)],
                                 [editing.level_shape(k) for k in range(editing.levels)], SLIDE_TILE,
                                 labels.argb, dispatch)
    except Exception:
        source.close()
        raise
    return ShownSlide(source, editing, image_tiles, label_tiles, labels)


@dataclass
class NeedsTiledCopy:
    """A flat image too large to open whole: shown once its tiled copy is made (project.slide_files)."""

    image_id: int
    name: str

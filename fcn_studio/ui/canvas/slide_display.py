"""The whole slide on screen: puts an opened slide (ShownSlide) on the canvas, hands its label editor to
the workspace, redraws the labels where a stroke, an undo or a redo changed them, follows the overlay's
colours and visibility, and lets go of the slide's file and tiles when another image is shown."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF

from fcn_studio.ui.canvas.shown_image import ShownSlide
from fcn_studio.ui.canvas.view import CanvasView
from fcn_studio.workspace.workspace import Workspace

HINT = ("Whole slide: only the tiles in view are read. The Brush and Eraser paint it (their size is on "
        "screen, so zoom out for large regions); Ctrl+Z undoes.")


class SlideDisplay:
    def __init__(self, workspace: Workspace, canvas: CanvasView, status,
                 record_changed: Callable[[int], None] = lambda image_id: None) -> None:
        """`record_changed(image_id)`: the image's state changed (its first strokes were written)."""
        self.workspace, self.canvas, self.status = workspace, canvas, status
        self.record_changed = record_changed
        self.shown: ShownSlide | None = None

    def show(self, token: int, image_id: int, shown: ShownSlide, labels_visible: bool) -> bool:
        """False (and the slide let go) when the person has chosen another image meanwhile."""
        if self.workspace.slide_shown(token, image_id, shown.editing) is None:
            _close(shown)
            return False
        self.close()
        self.shown = shown
        self.canvas.set_slide(shown.image_tiles, shown.label_tiles)
        self.canvas.slide_labels.setVisible(labels_visible)
        shown.editing.changed.connect(lambda rect: self._labels_changed(shown, rect))
        shown.editing.saved.connect(lambda _state: self.record_changed(image_id))
        shown.editing.failed.connect(lambda message: self.status.showMessage(
            f"Not saved yet: {message} (kept in the edit journal; trying again)", 10000))
        h, w = shown.shape
        self.status.set_size(w, h)
        self.status.showMessage(HINT, 10000)
        return True

    def _labels_changed(self, shown: ShownSlide, rect) -> None:
        if shown is not self.shown:
            return
        shown.label_tiles.changed(rect)
        y0, x0, y1, x1 = rect
        self.canvas.slide_labels.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def overlay_changed(self, visible: bool) -> None:
        """New colours, hidden classes or the overlay switched off or on."""
        if self.shown is None:
            return
        self.canvas.slide_labels.setVisible(visible)
        self.shown.label_tiles.changed(None)
        self.canvas.slide_labels.update()

    def close(self) -> None:
        """Another image is on the canvas (or none): the slide's file and tiles go."""
        if self.shown is not None:
            _close(self.shown)
            self.shown = None


def _close(shown: ShownSlide) -> None:
    shown.image_tiles.close()
    shown.label_tiles.close()
    shown.source.close()

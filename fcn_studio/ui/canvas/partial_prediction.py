"""A large image's prediction shown as it is made: each tile the worker finishes is laid on the canvas
at once (under the person's mask: only where it is unlabelled), and the status bar counts the tiles,
so a 100-megapixel image predicted on a CPU shows progress from its first tile rather than nothing
for minutes. The finished prediction then takes over as before."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF


class PartialPrediction(QObject):
    """Built from the workspace (which image is current), the worker's signals, the overlay and the
    canvas it draws on, the status bar, and the window's overlay switch and full repaint."""

    def __init__(self, workspace, worker, overlay, canvas, status, shown: Callable[[], bool],
                 render: Callable[[], None]) -> None:
        super().__init__(canvas)
        self.workspace, self.overlay, self.canvas, self.status = workspace, overlay, canvas, status
        self.overlay_shown, self.render = shown, render
        self.shown: int | None = None  # the image whose tiles are on the canvas
        worker.tile_predicted.connect(self._tile)
        # the finished prediction replaces the tiles when the window adopts it (set_image_data); a
        # failure leaves nothing to replace them, so they go
        worker.predicted.connect(lambda image_id, *_: self._finished(image_id, failed=False))
        worker.prediction_failed.connect(lambda image_id, _m: self._finished(image_id, failed=True))

    def _tile(self, image_id: int, done: int, total: int, rect, labels) -> None:
        if image_id != self.workspace.current_id or self.overlay.mask is None:
            return
        self.status.showMessage(f"Predicting this image: tile {done} of {total}", 0)
        self.shown = image_id
        patch = self.overlay.show_partial(labels, rect)
        if patch is not None and self.overlay_shown():
            y0, x0, y1, x1 = patch
            self.canvas.update_overlay(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _finished(self, image_id: int, failed: bool) -> None:
        if self.shown is None or image_id != self.shown:
            return
        self.shown = None
        if self.status.currentMessage().startswith("Predicting this image"):
            self.status.clearMessage()
        if failed:
            self.overlay.clear_partial()
            self.render()

"""A large image's prediction shown as it is made: each tile the worker finishes is laid on the canvas
at once (under the person's mask: only where it is unlabelled), and the status bar counts the tiles,
so a 100-megapixel image predicted on a CPU shows progress from its first tile rather than nothing
for minutes. The finished prediction then takes over as before."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF


class PartialPrediction(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.shown: int | None = None  # the image whose tiles are on the canvas
        window.worker.tile_predicted.connect(self._tile)
        # the finished prediction replaces the tiles when the window adopts it (set_image_data); a
        # failure leaves nothing to replace them, so they go
        window.worker.predicted.connect(lambda image_id, *_: self._finished(image_id, failed=False))
        window.worker.prediction_failed.connect(lambda image_id, _m: self._finished(image_id, failed=True))

    def _tile(self, image_id: int, done: int, total: int, rect, labels) -> None:
        w = self.window
        if image_id != w.current_id or w.overlay.mask is None:
            return
        w.status.showMessage(f"Predicting this image: tile {done} of {total}", 0)
        self.shown = image_id
        patch = w.overlay.show_partial(labels, rect)
        if patch is not None and w.overlay_shown:
            y0, x0, y1, x1 = patch
            w.canvas.update_overlay(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _finished(self, image_id: int, failed: bool) -> None:
        if self.shown is None or image_id != self.shown:
            return
        self.shown = None
        w = self.window
        if w.status.currentMessage().startswith("Predicting this image"):
            w.status.clearMessage()
        if failed:
            w.overlay.clear_partial()
            w._render_overlay()

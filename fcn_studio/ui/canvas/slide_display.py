"""The whole slide on screen: puts an opened slide (ShownSlide) on the canvas, hands its label editor to
the workspace, redraws the labels where a stroke, an undo or a redo changed them, follows the overlay's
colours and visibility, and lets go of the slide's file and tiles when another image is shown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QRectF, QTimer

from fcn_studio.ui.canvas.shown_image import NeedsTiledCopy, ShownSlide
from fcn_studio.ui.canvas.view import CanvasView
from fcn_studio.workspace.workspace import Workspace

log = logging.getLogger(__name__)

HINT = ("Whole slide: only the tiles in view are read. Every tool paints it (the brush's size is on screen; "
        "Fill and Click work within the view); Ctrl+Z undoes; Shift+N: the least certain region.")


class SlideDisplay:
    def __init__(self, workspace: Workspace, canvas: CanvasView, status,
                 record_changed: Callable[[int], None] = lambda image_id: None,
                 start: Callable[[Callable[[], None]], None] | None = None) -> None:
        """`record_changed(image_id)`: the image's state changed (its first strokes were written).
        `start(fn)`: runs a long job in the window's slow lane, which quitting waits for."""
        self.workspace, self.canvas, self.status = workspace, canvas, status
        self.record_changed = record_changed
        self.start = start or (lambda fn: threading.Thread(target=fn, daemon=True).start())
        self.shown: ShownSlide | None = None
        self.image_id: int | None = None
        self._cancel: threading.Event | None = None  # the running prediction's
        self._copying = threading.Event()  # set when quitting: tiled copies being made stop
        self._predicting: tuple | None = None  # (predictor, project, (y, x) predicted around) while it runs
        self._moved = QTimer(canvas)  # the view came to rest elsewhere: predict around it from there
        self._moved.setSingleShot(True)
        self._moved.setInterval(600)
        self._moved.timeout.connect(self._view_moved)
        for signal in (canvas.horizontalScrollBar().valueChanged, canvas.verticalScrollBar().valueChanged,
                       canvas.zoom_changed):
            signal.connect(lambda *_: self._moved.start() if self._predicting is not None else None)

    def show(self, token: int, image_id: int, shown: ShownSlide, labels_visible: bool) -> bool:
        """False (and the slide let go) when the person has chosen another image meanwhile."""
        if self.workspace.slide_shown(token, image_id, shown.editing) is None:
            _close(shown)
            return False
        self.close()
        self.shown, self.image_id = shown, image_id
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

    # -- the model's labels ------------------------------------------------------------------------------
    def predict(self, predictor, project) -> bool:
        """Predicts the slide shown into its own label pyramid under predictions/, tile by tile, the
        tiles nearest the middle of the view first, in the background; tiles already predicted (a
        prediction stopped, or the app killed) are skipped. Each tile is drawn as it lands."""
        shown = self.shown
        if shown is None or predictor is None or project is None:
            return False
        self.stop_predicting()
        from fcn_studio.inference.slide_predict import predict_into_pyramid  # noqa: PLC0415
        from fcn_studio.project.label_pyramid import LabelPyramid  # noqa: PLC0415

        around = self._centre()
        self._predicting = (predictor, project, around)
        path = project.prediction_pyramid_path(self.image_id)
        cancel = self._cancel = threading.Event()
        dispatch = self.workspace.dispatch
        name = project.image_path(self.image_id).name

        def landed(rect) -> None:
            if shown is self.shown:
                self._labels_changed(shown, rect)

        def progress(done: int, total: int) -> None:
            if shown is self.shown and not cancel.is_set():
                self.status.showMessage(f"Predicting {name}: {done} of {total} tiles, the view first", 3000)

        conf_path = project.confidence_pyramid_path(self.image_id)

        def run() -> None:
            try:
                confidence = LabelPyramid.open(conf_path) if conf_path.is_dir() else LabelPyramid.create(
                    conf_path, shown.shape)
                pyramid = LabelPyramid.open(path) if path.is_dir() else LabelPyramid.create(
                    path, shown.shape, colors=dict(enumerate(project.labels.colors)))
                count = predict_into_pyramid(predictor, shown.source, pyramid, around,
                                             lambda d, t: dispatch(lambda: progress(d, t)), cancel,
                                             lambda rect: dispatch(lambda: landed(rect)), confidence)
                dispatch(lambda: progress(count, count) if count else None)
                dispatch(lambda: self._finished(cancel))
            except Exception as exc:  # noqa: BLE001 - stopped (Cancelled), or a tile or the disk failed
                if not cancel.is_set():
                    dispatch(lambda: self._finished(cancel))
                    message = f"Predicting {name} stopped: {exc}"
                    log.warning("%s", message)
                    dispatch(lambda: self.status.showMessage(message, 10000))

        self.start(run)
        return True

    # -- a flat image too large to open whole ----------------------------------------------------------
    def make_copy(self, project, needed: NeedsTiledCopy, then: Callable[[], None]) -> None:
        """Makes the image's tiled copy in the background, the progress on the canvas and in the status
        bar, then `then()` (shows it, if it is still the chosen image). Once per image: the copy stays
        beside the project."""
        from fcn_studio.project.slide_files import make_copy  # noqa: PLC0415

        self.close()
        name = needed.name
        text = f"{name} is too large to open whole: making a tiled copy of it once, beside the project"
        self.canvas.show_message(f"{text}...")
        dispatch = self.workspace.dispatch
        cancel = self._copying  # only quitting stops it: leaving the image lets it finish for next time

        def progress(done: int, total: int) -> None:
            if not cancel.is_set() and self.workspace.current_id == needed.image_id:
                self.canvas.show_message(f"{text}: {100 * done // max(1, total)}%")
                self.status.showMessage(f"Making a tiled copy of {name}: {100 * done // max(1, total)}%", 3000)

        def run() -> None:
            try:
                make_copy(project, needed.image_id, lambda d, t: dispatch(lambda: progress(d, t)), cancel)
            except Exception as exc:  # noqa: BLE001 - cancelled, a damaged file, a full disk: said once
                if not cancel.is_set():
                    message = f"Cannot make a tiled copy of {name}: {exc}"
                    dispatch(lambda: (self.canvas.show_message(f"Cannot show this image.\n{message}"),
                                      self.status.showMessage(message, 10000)))
                return
            dispatch(then)

        self.start(run)

    def accept_prediction(self) -> bool:
        """Accept Prediction on a slide: over the part of it in view, the model's labels become the
        person's where nobody painted (one undo step; zoom in when the view holds too much)."""
        shown = self.shown
        prediction = None if shown is None else shown.labels.prediction
        if prediction is None:
            self.status.showMessage("There is no prediction of this slide yet: load a model; it predicts around "
                                    "the view", 5000)
            return False
        rect = self.canvas.visible_rect(shown.shape)
        if rect is None:
            return False
        try:
            edit = shown.editing.accept(rect, prediction.read(0, rect))
        except ValueError as exc:
            self.status.showMessage(str(exc), 6000)
            return False
        self.status.showMessage("Accepted the prediction in view (Ctrl+Z takes it back)" if edit else
                                "Nothing to accept in view: it is labelled already, or not predicted yet", 5000)
        return edit is not None

    def least_certain_region(self) -> bool:
        """Go to the window of the slide shown where the model is least sure, among those it has
        predicted and nobody has labelled (1:1, centred); False (and said why) when there is none."""
        from fcn_studio.inference.slide_predict import least_certain_region  # noqa: PLC0415

        shown = self.shown
        if shown is None:
            self.status.showMessage("Least Certain Region is for whole slides; N goes to the next image to label",
                                    5000)
            return False
        confidence = shown.labels.confidence
        region = None if confidence is None else least_certain_region(confidence, shown.editing.pyramid)
        if region is None:
            self.status.showMessage("No predicted region left that nobody has labelled: let the model predict "
                                    "more of the slide (it goes on around the view)", 6000)
            return False
        y0, x0, y1, x1 = region
        self.canvas.set_zoom(1.0)
        self.canvas.centerOn((x0 + x1) / 2, (y0 + y1) / 2)
        self.status.showMessage(f"The least certain region the model has predicted: x {x0}-{x1}, y {y0}-{y1}", 5000)
        return True

    def stop_all(self) -> None:
        """Quitting: the prediction and any tiled copy being made stop (a copy leaves nothing behind)."""
        self._copying.set()
        self.stop_predicting()

    def _centre(self) -> tuple[float, float]:
        centre = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        return centre.y(), centre.x()

    def _view_moved(self) -> None:
        """Panned or zoomed while the slide is being predicted: once the view rests more than a
        prediction tile away from where the prediction started, it starts again from there (tiles
        done are skipped), so the tiles in view come first."""
        if self._predicting is None or self.shown is None:
            return
        predictor, project, (y, x) = self._predicting
        cy, cx = self._centre()
        if max(abs(cy - y), abs(cx - x)) > getattr(predictor, "tile", 1536) * 0.75:
            self.predict(predictor, project)

    def _finished(self, cancel: threading.Event) -> None:
        if cancel is self._cancel:  # every tile is predicted: nothing to follow the view for
            self._cancel, self._predicting = None, None

    def stop_predicting(self) -> None:
        """Stops the prediction at its next tile (what is written stays, and is skipped next time)."""
        self._predicting = None
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None

    def close(self) -> None:
        """Another image is on the canvas (or none): the slide's file and tiles go."""
        self.stop_predicting()
        if self.shown is not None:
            _close(self.shown)
            self.shown = None


def _close(shown: ShownSlide) -> None:
    shown.image_tiles.close()
    shown.label_tiles.close()
    shown.source.close()

"""The model lives in one worker thread. Requests are queued; a newer request for the same image
replaces the older one; "predict all" is a cancellable batch that lets interactive requests jump
ahead between images. Results and failures come back by queued signal; the GUI never waits.

Image ids are only unique within a project, so each result carries the generation of the project
it was made for, and each batch report its batch's serial number. They reach the window through
relays on the GUI thread, which drop whatever belongs to a project or batch since replaced."""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QThread, Signal

from fcn_studio.core.image_io import load_image
from fcn_studio.project.project import Project
from fcn_studio.ui.canvas.overlay_state import confidence_bytes


class _Stopped(Exception):
    """Raised between the tiles of a prediction when the thread is asked to end."""


@dataclass
class _Batch:
    serial: int
    ids: list[int]
    total: int
    done: int = 0
    failures: int = 0
    started: float | None = None
    cancelled: bool = False


class InferenceWorker(QThread):
    model_ready = Signal(object, str, object)  # the workspace's model request, device name, label set
    model_failed = Signal(object, str, str)  # the request, message, details
    predicted = Signal(int, object, object, bool)  # image id, labels, confidence, stored in project
    prediction_failed = Signal(int, str)
    # a large image predicted tile by tile: image id, tiles done, tiles in all, rect (y0, x0, y1, x1)
    # just written, the labels being filled in (shared with the worker: read, never write)
    tile_predicted = Signal(int, int, int, object, object)
    batch_progress = Signal(int, int, float)  # done, total, seconds left (estimate)
    batch_finished = Signal(int, int, bool, int)  # done, total, cancelled, failures
    # from the worker thread to the relays below (generation or batch serial first)
    _predicted = Signal(int, int, object, object, bool)
    _prediction_failed = Signal(int, int, str)
    _tile_predicted = Signal(int, int, int, int, object, object)
    _batch_progress = Signal(int, int, int, float)
    _batch_finished = Signal(int, int, int, bool, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._requests: OrderedDict[int, np.ndarray | None] = OrderedDict()
        self._model_request: tuple[object, str | None, int] | None = None  # request, device, generation
        self._batch: _Batch | None = None
        self._serial = 0
        self._generation = 0  # bumped when the project changes
        self._reported: int | None = None  # the serial of the batch the window is being told about
        self._stop = False
        self.project: Project | None = None
        self.predictor = None
        queued = Qt.ConnectionType.QueuedConnection  # the relays run on the GUI thread
        self._predicted.connect(self._relay_predicted, queued)
        self._prediction_failed.connect(self._relay_failed, queued)
        self._tile_predicted.connect(self._relay_tile, queued)
        self._batch_progress.connect(self._relay_progress, queued)
        self._batch_finished.connect(self._relay_finished, queued)

    # -- called from the GUI thread ----------------------------------------------------------------
    def set_project(self, project: Project | None, keep_model: bool = False) -> None:
        """Anything still queued or running for the previous project is dropped, its model too (a model
        still loading for it never serves the next project); a batch in progress is reported at once as
        cancelled after what it had done. `keep_model`: the same images in a copy (Save as Project)."""
        with self._cond:
            self.project = project
            self._generation += 1
            self._requests.clear()
            if not keep_model:
                self.predictor = None
                self._model_request = None
            batch, self._batch = self._batch, None
            ended = (batch.done, batch.total, True, batch.failures) if batch is not None else None
        if ended is not None and batch.serial == self._reported:
            self._reported = None
            self.batch_finished.emit(*ended)

    def load_model(self, request, device: str | None = None) -> None:
        """`request`: the workspace's ModelRequest (its `path`); it comes back with the answer."""
        with self._cond:
            self._model_request = (request, device, self._generation)
            self._cond.notify()

    def request(self, image_id: int, image: np.ndarray | None = None) -> None:
        with self._cond:
            self._requests.pop(image_id, None)  # the newest request for an image wins
            self._requests[image_id] = image
            self._cond.notify()

    def cancel_request(self, image_id: int) -> None:
        with self._cond:
            self._requests.pop(image_id, None)

    def predict_all(self, image_ids: list[int]) -> None:
        """Replaces a batch in progress (which then reports nothing more)."""
        if not image_ids:
            self.batch_finished.emit(0, 0, False, 0)
            return
        with self._cond:
            self._serial += 1
            self._batch = _Batch(self._serial, list(image_ids), len(image_ids))
            self._reported = self._serial
            self._cond.notify()

    def cancel_batch(self) -> None:
        with self._cond:
            if self._batch is not None:
                self._batch.cancelled = True
            self._cond.notify()

    @property
    def batch_running(self) -> bool:
        return self._batch is not None

    def request_stop(self) -> None:
        """Asks the thread to end without waiting for it: a large image's prediction stops at its next
        tile, a batch before its next image (the window waits for `finished` without blocking)."""
        with self._cond:
            self._stop = True
            self._cond.notify()

    def stop(self, msecs: int = 10_000) -> bool:
        """Ends the thread and waits (tests, scripts); the window uses `request_stop`."""
        self.request_stop()
        return self.wait(msecs)

    # -- relays, on the GUI thread -----------------------------------------------------------------
    def _relay_predicted(self, generation: int, image_id: int, labels, confidence, stored: bool) -> None:
        if generation == self._generation:
            self.predicted.emit(image_id, labels, confidence, stored)

    def _relay_tile(self, generation: int, image_id: int, done: int, total: int, rect, labels) -> None:
        if generation == self._generation:
            self.tile_predicted.emit(image_id, done, total, rect, labels)

    def _relay_failed(self, generation: int, image_id: int, message: str) -> None:
        if generation == self._generation:
            self.prediction_failed.emit(image_id, message)

    def _relay_progress(self, serial: int, done: int, total: int, eta: float) -> None:
        if serial == self._reported:
            self.batch_progress.emit(done, total, eta)

    def _relay_finished(self, serial: int, done: int, total: int, cancelled: bool, failures: int) -> None:
        if serial == self._reported:
            self._reported = None
            self.batch_finished.emit(done, total, cancelled, failures)

    # -- the worker thread -------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            with self._cond:
                while not (self._stop or self._model_request or self._requests or self._batch):
                    self._cond.wait()
                if self._stop:
                    return
                project, generation = self.project, self._generation
                model_request, self._model_request = self._model_request, None
                single = self._requests.popitem(last=False) if (self._requests and not model_request) else None
                batch = self._batch if (model_request is None and single is None) else None
                if batch is not None:
                    if batch.cancelled:
                        self._batch = None
                        self._batch_finished.emit(batch.serial, batch.done, batch.total, True, batch.failures)
                        continue
                    if batch.started is None:
                        batch.started = time.perf_counter()
                    batch_id = batch.ids.pop(0)
            if model_request:
                self._load(*model_request)
            elif single is not None:
                self._predict(generation, project, single[0], single[1])
            elif batch is not None:
                self._batch_step(batch, self._predict(generation, project, batch_id, None))

    def _batch_step(self, batch: _Batch, ok: bool) -> None:
        with self._cond:
            batch.done += ok
            batch.failures += not ok
            n = batch.done + batch.failures
            finished = not batch.ids
            if finished and self._batch is batch:
                self._batch = None
        eta = (time.perf_counter() - batch.started) / n * (batch.total - n)
        self._batch_progress.emit(batch.serial, n, batch.total, eta)
        if finished:
            self._batch_finished.emit(batch.serial, batch.done, batch.total, False, batch.failures)

    def _load(self, request, device: str | None, generation: int) -> None:
        path = Path(request.path)
        try:
            from fcn_studio.inference.device import device_name
            from fcn_studio.inference.predictor import Predictor

            predictor, info = Predictor.from_checkpoint(path, device=device)
        except Exception as exc:  # noqa: BLE001 - a bad checkpoint must not end the thread
            self.model_failed.emit(request, f"{path}: {exc}", traceback.format_exc())
            return
        with self._cond:
            if generation != self._generation:
                return  # loaded for a project closed meanwhile: it never predicts for the next one
            self.predictor = predictor
        self.model_ready.emit(request, device_name(predictor.device), info.labels)

    def _predict(self, generation: int, project: Project | None, image_id: int, image: np.ndarray | None) -> bool:
        if self.predictor is None or project is None:
            self._prediction_failed.emit(generation, image_id, "no model is loaded")
            return False
        try:
            record = project.image(image_id)
            if image is None:
                image = load_image(project.image_path(record))
            if record.width is None:
                project.set_size(image_id, image.shape[1], image.shape[0])
            def on_tile(done, total, rect, labels) -> None:
                if self._stop:
                    raise _Stopped
                self._tile_predicted.emit(generation, image_id, done, total, rect, labels)

            pred = self.predictor.predict(image, on_tile=on_tile)
            stored = project.save_prediction(image_id, pred.labels, pred.confidence, pred.uncertainty())
            # confidence as uint8 (what the overlay shows), converted here rather than on the GUI thread
            self._predicted.emit(generation, image_id, pred.labels, confidence_bytes(pred.confidence), stored)
            return True
        except _Stopped:
            return False  # quitting: nothing is stored, the image is predicted again next time
        except Exception as exc:  # noqa: BLE001 - unreadable image, GPU out of memory, read-only disk
            message = str(exc)
            if "out of memory" in message.lower():
                message = f"the device ran out of memory ({message.splitlines()[0]}); try a smaller tile or the CPU"
            self._prediction_failed.emit(generation, image_id, message)
            return False

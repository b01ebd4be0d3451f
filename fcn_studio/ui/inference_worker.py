"""The model lives in one worker thread. Requests are queued; a newer request for the same image
replaces the older one; "predict all" is a cancellable batch that lets interactive requests jump
ahead between images. Results and failures come back by queued signal; the GUI never waits."""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from fcn_studio.core.image_io import load_image
from fcn_studio.project.project import Project


class InferenceWorker(QThread):
    model_ready = Signal(str, str, object)  # model name, device name, label set
    model_failed = Signal(str, str)  # message, details
    predicted = Signal(int, object, object, bool)  # image id, labels, confidence, stored in project
    prediction_failed = Signal(int, str)
    batch_progress = Signal(int, int, float)  # done, total, seconds left (estimate)
    batch_finished = Signal(int, int, bool, int)  # done, total, cancelled, failures

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._requests: OrderedDict[int, np.ndarray | None] = OrderedDict()
        self._model_request: tuple[Path, str | None] | None = None
        self._batch: list[int] = []
        self._batch_total = 0
        self._cancel = False
        self._stop = False
        self.project: Project | None = None
        self.predictor = None

    # -- called from the GUI thread ----------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        with self._cond:
            self.project = project
            self._requests.clear()
            self._batch = []
            self._cancel = True

    def load_model(self, path: str | Path, device: str | None = None) -> None:
        with self._cond:
            self._model_request = (Path(path), device)
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
        with self._cond:
            self._batch = list(image_ids)
            self._batch_total = len(image_ids)
            self._cancel = False
            self._cond.notify()

    def cancel_batch(self) -> None:
        with self._cond:
            self._cancel = True
            self._cond.notify()

    @property
    def batch_running(self) -> bool:
        return bool(self._batch)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cancel = True
            self._cond.notify()
        self.wait(10_000)

    # -- the worker thread -------------------------------------------------------------------------
    def run(self) -> None:
        done = failures = 0
        started = 0.0
        while True:
            with self._cond:
                while not (self._stop or self._model_request or self._requests or self._batch):
                    self._cond.wait()
                if self._stop:
                    return
                model_request, self._model_request = self._model_request, None
                single = self._requests.popitem(last=False) if (self._requests and not model_request) else None
                batch_id = None
                if not model_request and single is None and self._batch:
                    if self._cancel:
                        total = self._batch_total
                        self._batch = []
                        self.batch_finished.emit(done, total, True, failures)
                        done = failures = 0
                        continue
                    if done == 0 and failures == 0:
                        started = time.perf_counter()
                    batch_id = self._batch.pop(0)
                project = self.project
            if model_request:
                self._load(*model_request)
            elif single is not None:
                self._predict(project, single[0], single[1])
            elif batch_id is not None:
                ok = self._predict(project, batch_id, None)
                done += ok
                failures += not ok
                n = done + failures
                rate = (time.perf_counter() - started) / n
                self.batch_progress.emit(n, self._batch_total, rate * (self._batch_total - n))
                if not self._batch:
                    self.batch_finished.emit(done, self._batch_total, False, failures)
                    done = failures = 0

    def _load(self, path: Path, device: str | None) -> None:
        try:
            from fcn_studio.inference.device import device_name
            from fcn_studio.inference.predictor import Predictor

            predictor, info = Predictor.from_checkpoint(path, device=device)
            self.predictor = predictor
            self.model_ready.emit(path.name, device_name(predictor.device), info.labels)
        except Exception as exc:  # noqa: BLE001 - a bad checkpoint must not end the thread
            self.model_failed.emit(f"{path}: {exc}", traceback.format_exc())

    def _predict(self, project: Project | None, image_id: int, image: np.ndarray | None) -> bool:
        if self.predictor is None or project is None:
            self.prediction_failed.emit(image_id, "no model is loaded")
            return False
        try:
            record = project.image(image_id)
            if image is None:
                image = load_image(project.image_path(record))
            if record.width is None:
                project.set_size(image_id, image.shape[1], image.shape[0])
            pred = self.predictor.predict(image)
            stored = project.save_prediction(image_id, pred.labels, pred.confidence, pred.uncertainty())
            self.predicted.emit(image_id, pred.labels, pred.confidence, stored)
            return True
        except Exception as exc:  # noqa: BLE001 - unreadable image, GPU out of memory, read-only disk
            message = str(exc)
            if "out of memory" in message.lower():
                message = f"the device ran out of memory ({message.splitlines()[0]}); try a smaller tile or the CPU"
            self.prediction_failed.emit(image_id, message)
            return False

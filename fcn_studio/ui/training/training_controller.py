"""Training from the app: flushes pending saves so the newest corrections count, starts the backend
process, feeds its events to the panel, and when a run ends compares the new model with the one in
use on the same validation split. A better model is swapped in (or offered) and the uncorrected
images are predicted again, least certain first. Every run is kept in the project's history.

A run belongs to the project that started it: if the window has moved to another project by the time
it ends, the comparison, the history record and any swap go to the run's own project (opened for the
moment), never to the one on screen."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from fcn_studio.project.project import Project
from fcn_studio.training.compare import compare_with_in_use
from fcn_studio.ui.errors import show_error
from fcn_studio.ui.models.prediction_order import predict_all
from fcn_studio.ui.training.training_panel import TrainingPanel
from fcn_studio.ui.training.training_process import TrainingProcess
from fcn_studio.workspace import Run

log = logging.getLogger(__name__)
T = TypeVar("T")


class TrainingController(QObject):
    model_improved = Signal(str)  # new checkpoint path

    def __init__(self, window, panel: TrainingPanel) -> None:
        super().__init__(window)
        self.window, self.panel = window, panel
        self.process = TrainingProcess(self)
        self.checkpoint: Path | None = None
        self.run: Run | None = None  # the workspace's record of the run: which project it belongs to
        self.last_event: dict | None = None
        self._starting = False
        panel.start_requested.connect(self.start)
        panel.stop_requested.connect(self.process.stop)
        self.process.event.connect(self._event)
        self.process.ended.connect(self._ended)

    @property
    def running(self) -> bool:
        """A run is going, or starting (its corrections are being saved first)."""
        return self.process.running or self.starting

    @property
    def starting(self) -> bool:
        return self._starting

    def start(self) -> None:
        w = self.window
        project = w.project
        if project is None or project.temporary:
            show_error(w, "Training", "Training learns from a project's corrected images: make a project first "
                       "(File > New Project, or accept the offer when you open a folder).")
            return
        if w.session.failed:
            show_error(w, "Training", "Some corrections could not be saved, so training would miss them. "
                       "Fix the save problem first.")
            return
        counts = project.counts()
        if counts["corrected"] + counts["reviewed"] == 0 and not w.session.unsaved():
            show_error(w, "Training", "No image is corrected or reviewed yet. Correct a few masks (each saved "
                       "edit marks its image corrected), then train.")
            return
        self.panel.set_running(True)
        self.panel.status.setText("Saving your latest corrections...")
        self._starting = True
        session = w.session

        def saved(ok: bool) -> None:  # the flush runs in the pool: the window never waits on it
            self._starting = False
            if project is not w.project:
                self.panel.set_running(False)
                self.panel.status.setText("Training was not started: another project was opened.")
                return
            if not ok:
                self.panel.set_running(False)
                show_error(w, "Training", "Some corrections could not be saved, so training would miss them. "
                           "Fix the save problem first.")
                return
            self._launch(project)

        w.background(lambda: session.flush(60), saved)

    def _launch(self, project: Project) -> None:
        w = self.window
        counts = project.counts()
        if counts["corrected"] + counts["reviewed"] == 0:
            self.panel.set_running(False)
            show_error(w, "Training", "No image is corrected or reviewed yet. Correct a few masks (each saved "
                       "edit marks its image corrected), then train.")
            return
        models = project.root / "models"
        self.checkpoint = models / f"run-{time.strftime('%Y%m%d-%H%M%S')}.safetensors"
        self.run = w.workspace.start_run(self.checkpoint)
        args = [str(project.root), "--out", str(self.checkpoint), "--device", w.settings.value("device", "auto")]
        backbone = self.panel.new_backbone()
        if backbone is None and self._worth_continuing(project.model_path):
            args += ["--model", str(project.model_path)]
        else:
            from fcn_studio.model.factory import default_backbone  # noqa: PLC0415

            args += ["--backbone", backbone or default_backbone()]
        args += self.panel.arguments()
        self.panel.reset()
        self.panel.set_running(True)
        self.panel.status.setText("Starting the training process...")
        log.info("training: %s", " ".join(args))
        self.process.start(args, cwd=project.root)

    @staticmethod
    def _worth_continuing(path: Path | None) -> bool:
        """Continue from the model in use, unless it never learned anything and started from random
        weights while a pretrained encoder is to be had: a fresh pretrained model learns far faster."""
        if path is None or not path.is_file():
            return False
        from fcn_studio.model.checkpoint import read_info  # noqa: PLC0415
        from fcn_studio.model.factory import default_backbone  # noqa: PLC0415
        from fcn_studio.model.pretrained import imagenet_weights_file  # noqa: PLC0415

        try:
            prov = read_info(path).provenance
        except ValueError:
            return False
        untrained_random = prov.get("trained_images", 0) == 0 and prov.get("encoder_tensors_loaded", 0) == 0
        return not (untrained_random and imagenet_weights_file(default_backbone()) is not None)

    def _event(self, event: dict) -> None:
        self.last_event = event
        self.panel.show_event(event)
        if event["event"] == "progress":
            w = self.window
            w.status.showMessage(f"Training: {self.panel.status.text()}", 3000)

    def _on_screen(self) -> bool:
        """Whether the window still shows the project the run belongs to."""
        return self.window.workspace.owns(self.run)

    def _in_run_project(self, fn: Callable[[Project], T]) -> T | None:
        """Calls fn with the run's project: the window's when it is still on screen, else opened for
        the call."""
        if self._on_screen():
            return fn(self.window.project)
        root = None if self.run is None else self.run.project.root
        if root is None or not Project.is_project(root):
            return None
        project = Project.open(root)
        try:
            return fn(project)
        finally:
            project.close()

    def _ended(self, succeeded: bool, message: str) -> None:
        self.panel.set_running(False)
        w = self.window
        if self.run is not None:
            w.workspace.end_run(self.run)
        stopped = message == "stopped"
        if not succeeded and not stopped:
            self.panel.status.setText(f"Training failed: {message}")
            show_error(w, "Training failed", message)
            self._record(note=f"failed: {message}")
            return
        new, root = self.checkpoint, (None if self.run is None else self.run.project.root)
        if stopped and (new is None or not new.is_file()):
            self.panel.status.setText("Stopped before the first validation; nothing to compare.")
            return
        if root is None or new is None or not new.is_file():
            return
        current = self._in_run_project(lambda p: p.model_path)
        self.panel.status.setText("Finished. Comparing with the model in use on the same validation images...")

        device = w.settings.value("device", "auto")  # the device the run trained on

        def compare():
            c = compare_with_in_use(new, current, root, device)
            return c.new_mean_iu, c.in_use_mean_iu

        w.background(compare, lambda result: self._compared(new, *result),
                     lambda msg, det: show_error(w, "Cannot compare the models", msg, det))

    def _compared(self, new: Path, new_iu: float | None, old_iu: float | None) -> None:
        w = self.window
        better = new_iu is not None and (old_iu is None or new_iu > old_iu)
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        text = f"New model: mean IU {fmt(new_iu)}; model in use: {fmt(old_iu)} (same validation images)."
        if new_iu is None:
            text = ("The new model could not be scored: the project has no validation images yet (every fifth "
                    "corrected or reviewed image validates).")
        self._record(new, {"mean_iu": new_iu, "previous_mean_iu": old_iu},
                     "better" if better else ("not scored" if new_iu is None else "not better"))
        if not better:
            self.panel.status.setText(text + " Kept the model in use (Model > Model History can use the new one).")
            return
        if not self._on_screen():  # the run's project is no longer open: never touch the one on screen
            if self.panel.auto_swap.isChecked():
                self._in_run_project(lambda p: p.set_model_path(new))
                self.panel.status.setText(text + f" Made it the model of {self.run.project.root.name}.")
            else:
                self.panel.status.setText(text + f" Model > Model History in {self.run.project.root.name} can use it.")
            return
        if self.panel.auto_swap.isChecked() or w.ask("A better model", text + "\n\nUse the new model?"):
            self.panel.status.setText(text + " Swapped in; predicting the uncorrected images again.")
            w.load_model(new, then=lambda: predict_all(w))  # the uncorrected images, least certain first
            self.model_improved.emit(str(new))
        else:
            self.panel.status.setText(text + " Not swapped in (Model > Model History can use it later).")

    def _record(self, checkpoint: Path | None = None, metrics: dict | None = None, note: str = "") -> None:
        path = checkpoint or self.checkpoint or ""
        self._in_run_project(lambda p: p.record_model_run(path, metrics, note))

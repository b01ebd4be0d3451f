"""Keep learning: the training backend runs for as long as a project is open, and every model that
validates better is published as a numbered version for the window (or the command line, or the loop
benchmark) to swap in. One Qt-free object that all of them drive.

- The backend is `python -m fcn_studio.training PROJECT --follow` with no limit: each epoch re-reads the
  project, so new and re-corrected masks join the next one; it validates every epoch and keeps the best
  model, scoring the kept model again whenever the validation images or their masks change (through the
  one evaluation, inference.evaluate, as the comparison after a one-shot run).
- It runs at a lower priority and, on the CPU, with one core fewer than the machine has, so the GUI and
  interactive prediction keep a core.
- A version is published only when it scored better than the model in use (at first the start model)
  on the same validation pixels: the held-out regions of every corrected image, and every fifth image
  whole (core.splits), so scoring starts with the first correction.
- Stopping asks the backend to stop between steps (its last checkpoint and optimizer state stay);
  starting again resumes from them, and the version numbers go on.
- Pinned: versions are still recorded, but none is offered for use; `rollback` offers an old one."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.events import Event, call_now
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.model_versions import ModelVersion, record_version, versions
from fcn_studio.training.backend import STOPPED, Backend

FOLDER = Path("models") / "keep"
NO_VALIDATION_YET = ("learning, but no model is swapped in until there are validation pixels "
                     "(each corrected or reviewed image keeps some regions for them)")
__all__ = ["NO_VALIDATION_YET", "KeepLearning", "ModelVersion"]


class KeepLearning:
    """`project`: the open Project, when there is one (its history is read and written through it, or
    through a fresh opening once it is closed); else the project at `project_root` is opened for that."""

    def __init__(self, project_root: str | Path, start_model: str | Path | None = None,
                 train_args: list[str] | tuple[str, ...] = (), dispatch=call_now, project=None) -> None:
        self.root = Path(project_root)
        self.folder = self.root / FOLDER
        self.start_model = Path(start_model) if start_model else None
        self.train_args = list(train_args)
        self.dispatch = dispatch
        self.project = project
        self.history: list[ModelVersion] = self._in_project(versions)
        self.pinned = False
        self.status = "stopped"
        self.published = Event()  # (ModelVersion) a better model was saved
        self.use = Event()  # (ModelVersion) the model to swap in now (not while pinned)
        self.status_changed = Event()  # (str)
        self.backend_event = Event()  # (dict) every event of the backend, for progress and plots
        self.backend: Backend | None = None
        self._last_validation: dict | None = None
        self._lock = threading.Lock()

    # -- files ----------------------------------------------------------------------------------------
    @property
    def checkpoint(self) -> Path:
        """The backend's best model; versions are copies of it."""
        return self.folder / "current.safetensors"

    def _in_project(self, fn):
        """fn(project) through the open project, or a fresh opening when there is none (or it has closed
        meanwhile: a version published while the window switched projects still goes to its own)."""
        project = self.project
        if project is not None and not project.closed:
            try:
                return fn(project)
            except (ProjectError, sqlite3.ProgrammingError):
                if not project.closed:
                    raise
        from fcn_studio.project.project import Project  # noqa: PLC0415

        opened = Project.open(self.root)
        try:
            return fn(opened)
        finally:
            opened.close()

    # -- running --------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.backend is not None and self.backend.running

    def arguments(self) -> list[str]:
        """The backend's arguments (after `python -m fcn_studio.training --stop-on-stdin`)."""
        args = [str(self.root), "--follow", "--out", str(self.checkpoint)]
        if (self.folder / "current.resume.safetensors").is_file():
            args.append("--resume")
        if self.start_model is not None and self.start_model.is_file():
            args += ["--model", str(self.start_model)]
        return args + self.train_args

    def start(self) -> None:
        if self.running:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        backend = Backend(self.arguments(), cwd=self.root, low_priority=True, on_event=self._handle)
        backend.on_ended = lambda ok, message: self._ended(backend, message)
        self.backend = backend
        self._set_status("starting")
        backend.start()

    def request_stop(self) -> Backend | None:
        """Asks the backend to stop between steps and returns at once (it is killed if stuck); returns
        the backend, to wait on."""
        backend = self.backend
        if backend is not None:
            backend.stop()
        return backend

    def stop(self, timeout: float = 60.0) -> bool:
        """Asks the backend to stop between steps and waits; True when it ended by itself (its last
        checkpoint and optimizer state are complete), False when it had to be killed."""
        backend = self.request_stop()
        if backend is None:
            return True
        if not backend.wait(timeout):
            backend.kill()
            backend.wait(10)
        if self.backend is backend:
            self.backend = None
        self._set_status("stopped")
        return not backend.killed

    # -- choosing the model ---------------------------------------------------------------------------
    def pin(self, pinned: bool) -> None:
        self.pinned = pinned

    def rollback(self, version: int) -> ModelVersion:
        """Offers an earlier version for use (and pins, so the next improvement does not replace it)."""
        chosen = next((v for v in self.history if v.version == version), None)
        if chosen is None:
            raise KeyError(f"no version v{version} in the history of {self.root}")
        self.pinned = True
        self.dispatch(lambda: self.use.emit(chosen))
        return chosen

    # -- the backend's events (on its reader thread) --------------------------------------------------
    def _ended(self, backend: Backend, message: str) -> None:
        if message not in ("", STOPPED) and self.backend is backend:
            self._set_status(f"learning stopped: {message}; turn Keep learning off and on to start it again")

    def _handle(self, event: dict) -> None:
        kind = event["event"]
        self.dispatch(lambda: self.backend_event.emit(event))
        if kind == "started":
            self._set_status("learning")
        elif kind == "validation":
            self._last_validation = event
            if event.get("mean_iu") is None:
                self._set_status(NO_VALIDATION_YET)
            else:
                self._set_status("learning")
        elif kind == "checkpoint" and event.get("best") and Path(event["path"]) == self.checkpoint:
            self._publish()
        elif kind == "failed" and not event.get("stopped"):
            self._set_status(f"learning stopped: {event['message']}")

    def _publish(self) -> None:
        val = self._last_validation
        if val is None or val.get("mean_iu") is None:
            return  # no validation set: the backend keeps its newest model, but nothing is swapped in
        with self._lock:
            number = max((v.version for v in self.history), default=0) + 1
            target = self.folder / f"v{number}.safetensors"
            with atomic_path(target) as tmp:
                shutil.copyfile(self.checkpoint, tmp)
            version = ModelVersion(number, str(target), int(val.get("train_images", 0)), int(val.get("val_images", 0)),
                                   float(val["mean_iu"]), val.get("best_mean_iu"), time.time(),
                                   int(val.get("val_regions", 0)), val.get("val_pixels"))
            self._in_project(lambda project: record_version(project, version))
            self.history.append(version)
        self.dispatch(lambda: self.published.emit(version))
        if not self.pinned:
            self.dispatch(lambda: self.use.emit(version))

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.dispatch(lambda: self.status_changed.emit(text))

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
- Pinned: versions are still recorded, but none is offered for use; `rollback` offers an old one.
- Bounded: after each version, project.version_pruning forgets and deletes all but the pinned, the
  in-use, the best few and the newest few versions.
- A backend that dies anyway (killed, out of memory, a bug) is logged with its reason and the tail of
  its stderr, and started again, resuming from its last state; the status says so once per restart. A
  backend that dies again before its next checkpoint counts towards MAX_RESTARTS: one that dies at
  once every time is not restarted forever, and the status then says it stopped and why."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.events import Event, call_now
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.model_versions import ModelVersion, record_version, versions
from fcn_studio.project.version_pruning import prune_versions
from fcn_studio.training.backend import STOPPED, Backend

log = logging.getLogger(__name__)
FOLDER = Path("models") / "keep"
MAX_RESTARTS = 3  # restarts in a row without a checkpoint between them
RESTART_DELAY_S = 2.0  # times the number of the restart: a crash loop does not hog the machine
NO_VALIDATION_YET = ("learning, but no model is swapped in until there are validation pixels "
                     "(each corrected or reviewed image keeps some regions for them)")
__all__ = ["NO_VALIDATION_YET", "KeepLearning", "ModelVersion"]


class KeepLearning:
    """`project`: the open Project, when there is one (its history is read and written through it, or
    through a fresh opening once it is closed); else the project at `project_root` is opened for that."""

    def __init__(self, project_root: str | Path, start_model: str | Path | None = None,
                 train_args: list[str] | tuple[str, ...] = (), dispatch=call_now, project=None,
                 protected=lambda: ()) -> None:
        self.root = Path(project_root)
        self.folder = self.root / FOLDER
        self.start_model = Path(start_model) if start_model else None
        self.train_args = list(train_args)
        self.dispatch = dispatch
        self.project = project
        self.protected = protected  # () -> paths that pruning must keep (the window's model, one being loaded)
        self.in_use: Path | None = self.start_model  # the version last offered for use
        self.history: list[ModelVersion] = self._in_project(versions)
        self.pinned = False
        self.status = "stopped"
        self.published = Event()  # (ModelVersion) a better model was saved
        self.use = Event()  # (ModelVersion) the model to swap in now (not while pinned)
        self.status_changed = Event()  # (str)
        self.backend_event = Event()  # (dict) every event of the backend, for progress and plots
        self.backend: Backend | None = None
        self.restarts = 0  # in a row, without a checkpoint between them
        self._restart_note = ""  # "started again at 14:02 after: ...", shown with "learning"
        self._stop_asked = False
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

    def start(self, again: bool = False) -> None:
        """Starts the backend (resuming from its last state when there is one); `again`: a restart
        after it died, whose reason the status keeps showing."""
        self._stop_asked = False
        if self.running:
            return
        if not again:
            self._restart_note, self.restarts = "", 0
        self.folder.mkdir(parents=True, exist_ok=True)
        backend = Backend(self.arguments(), cwd=self.root, low_priority=True, on_event=self._handle)
        backend.on_ended = lambda ok, message: self._ended(backend, message)
        self.backend = backend
        self._set_status(f"starting ({self._restart_note})" if self._restart_note else "starting")
        backend.start()

    def request_stop(self) -> Backend | None:
        """Asks the backend to stop between steps and returns at once (it is killed if stuck); returns
        the backend, to wait on."""
        self._stop_asked = True
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
        chosen = next((v for v in self.history if v.version == version), None)  # never a pruned one
        if chosen is None:
            raise KeyError(f"no version v{version} in the history of {self.root}")
        self.pinned = True
        self.in_use = Path(chosen.path)
        self.dispatch(lambda: self.use.emit(chosen))
        return chosen

    # -- the backend's events (on its reader thread) --------------------------------------------------
    def _ended(self, backend: Backend, message: str) -> None:
        if message in ("", STOPPED) or self.backend is not backend or self._stop_asked:
            return
        tail = "\n".join(backend.stderr_tail.splitlines()[-20:])
        log.warning("keep learning in %s: the training process ended (%s)%s", self.root, message,
                    f"; its last output:\n{tail}" if tail else "")
        if self.restarts >= MAX_RESTARTS:
            log.error("keep learning in %s: not started again after %d restarts in a row", self.root, self.restarts)
            self._set_status(f"learning stopped: the training process ended {self.restarts + 1} times in a row "
                             f"({message}); turn Keep learning off and on to try again")
            return
        self.restarts += 1
        why = message.split(";")[0]  # "the training process was killed before finishing": short enough to stay
        self._restart_note = f"started again at {time.strftime('%H:%M')} after: {why}"
        self._set_status(f"the training process ended ({message}); starting it again, resuming from its last state")
        timer = threading.Timer(RESTART_DELAY_S * self.restarts,
                                lambda: self.dispatch(lambda: self._restart(backend)))
        timer.daemon = True
        timer.start()

    def _restart(self, dead: Backend) -> None:
        """Starts the backend again unless it was stopped, or replaced, meanwhile."""
        if self.backend is dead and not self._stop_asked:
            log.info("keep learning in %s: starting the training process again (restart %d of at most %d)",
                     self.root, self.restarts, MAX_RESTARTS)
            self.start(again=True)

    def _learning(self) -> str:
        return f"learning ({self._restart_note})" if self._restart_note else "learning"

    def _handle(self, event: dict) -> None:
        kind = event["event"]
        self.dispatch(lambda: self.backend_event.emit(event))
        if kind == "started":
            self._set_status(self._learning())
        elif kind == "validation":
            self._last_validation = event
            if event.get("mean_iu") is None:
                self._set_status(NO_VALIDATION_YET)
            else:
                self._set_status(self._learning())
        elif kind == "checkpoint":
            self.restarts = 0  # it got somewhere: a later death starts the count again
            if event.get("best") and Path(event["path"]) == self.checkpoint:
                self._publish()
        elif kind == "warning":
            log.warning("keep learning in %s: %s", self.root, event["message"])

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
            if not self.pinned:
                self.in_use = target
            self._prune()
        self.dispatch(lambda: self.published.emit(version))
        if not self.pinned:
            self.dispatch(lambda: self.use.emit(version))

    def _prune(self) -> None:
        """Keeps the history bounded (project.version_pruning); a prune that fails leaves it for the
        next version, it never stops learning."""
        held = [self.in_use, *self.protected()]
        try:
            pruned = self._in_project(lambda project: prune_versions(project, held))
        except Exception:  # noqa: BLE001 - a full history is better than a stopped loop
            log.exception("keep learning in %s: old versions could not be pruned", self.root)
            return
        if pruned:
            log.info("keep learning in %s: pruned versions %s", self.root, ", ".join(f"v{n}" for n in pruned))
            self.history = [v for v in self.history if v.version not in pruned]

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.dispatch(lambda: self.status_changed.emit(text))

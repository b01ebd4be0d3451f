"""The training run, owned by the workspace: one service for one-shot runs and keep learning, one
launcher (training.backend), one history (the project's model runs). Views subscribe to its events and
never see a process.

A one-shot run saves the pending corrections first (off the GUI thread), streams the backend's events,
and when it ends compares the new model with the one in use on the same validation images; the run is
recorded in the project's history and a better model is swapped in (auto swap, or the person's yes).
A run belongs to the project that started it: after a switch its comparison, record and swap go to
that project (opened for the moment), never to the one on screen.

Keep learning runs for as long as its project is open and switched on; each better version is swapped
in. One backend per project: a run is refused while keep learning (or another run) is going, and the
loop waits for a run to end. `stop_all` stops every backend without blocking (the window's quit)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fcn_studio.core.events import Event
from fcn_studio.project.model_versions import ModelVersion, import_old_history, versions
from fcn_studio.project.project import Project
from fcn_studio.training.backend import STOPPED, Backend
from fcn_studio.training.keep_learning import KeepLearning

log = logging.getLogger(__name__)
T = TypeVar("T")
__all__ = ["ModelVersion", "RunOptions", "RunService", "worth_continuing"]

NEEDS_PROJECT = ("Training learns from a project's corrected images: make a project first (File > New Project, "
                 "or accept the offer when you open a folder).")
NOT_SAVED = "Some corrections could not be saved, so training would miss them. Fix the save problem first."
NOTHING_CORRECTED = ("No image is corrected or reviewed yet. Correct a few masks (each saved edit marks its image "
                     "corrected), then train.")
KEEP_BUSY = "Keep learning is training this project: turn it off to train once."
RUN_BUSY = "A training run is going for this project: stop it first."


def worth_continuing(path: Path | None) -> bool:
    """Continue from the model in use, unless it never learned anything and started from random
    weights while a pretrained encoder is to be had: a fresh pretrained model learns far faster."""
    if path is None or not path.is_file():
        return False
    from fcn_studio.model.checkpoint import read_info  # noqa: PLC0415 (torch only when a run starts)
    from fcn_studio.model.factory import default_backbone  # noqa: PLC0415
    from fcn_studio.model.pretrained import imagenet_weights_file  # noqa: PLC0415

    try:
        prov = read_info(path).provenance
    except ValueError:
        return False
    untrained_random = prov.get("trained_images", 0) == 0 and prov.get("encoder_tensors_loaded", 0) == 0
    return not (untrained_random and imagenet_weights_file(default_backbone()) is not None)


def compare(new: Path, in_use: Path | None, root: Path, device: str | None):
    """The one place a run's model and the model in use are scored, on the same validation images and
    the device the person chose (the run's own recorded score is used where it is still valid)."""
    from fcn_studio.training.compare import compare_with_in_use  # noqa: PLC0415 (torch)

    return compare_with_in_use(new, in_use, root, device)


class RunOptions:
    """What a view decides about a one-shot run: more backend arguments, a new backbone (None: go on
    from the model in use), whether a better model is swapped in without asking, how to ask, and what
    to do once it is in use (predict the uncorrected images again)."""

    def __init__(self, args: list[str] | None = None, backbone: str | None = None,
                 auto_swap: Callable[[], bool] = lambda: True, confirm: Callable[[str], bool] | None = None,
                 after_swap: Callable[[], None] | None = None) -> None:
        self.args, self.backbone = list(args or []), backbone
        self.auto_swap, self.confirm, self.after_swap = auto_swap, confirm, after_swap


class RunService:
    def __init__(self, workspace) -> None:
        self.ws = workspace
        self.backend: Backend | None = None  # the one-shot run's
        self.checkpoint: Path | None = None
        self.run = None  # the workspace's Run: which project the one-shot run belongs to
        self.starting = False  # its corrections are being saved
        self.closing = False  # stop_all was called: nothing starts any more
        self._options = RunOptions()
        self.loop: KeepLearning | None = None
        self.keep_in_use: ModelVersion | None = None
        self.keep_pinned = False
        self.keep_args: list[str] = []  # more backend arguments for keep learning (tests: a tiny crop)
        self.keep_after_swap: Callable[[], None] | None = None
        self._keep_waiting = False
        self.keep_state = "off"  # what keep learning is doing, in words
        self._stopping: set[Backend] = set()  # keep-learning backends asked to stop, still ending
        self.changed = Event()  # () a run or the loop started or ended: views enable their buttons
        self.event = Event()  # (event dict) the one-shot run's backend events
        self.status = Event()  # (text) what the one-shot run is doing, for its panel
        self.ended = Event()  # (succeeded, message) the one-shot backend ended ("stopped" when asked to)
        self.failed = Event()  # (title, message, details or None) for an error a person must see
        self.model_improved = Event()  # (path) a better model was swapped in
        self.keep_status = Event()  # (text)
        self.keep_event = Event()  # (event dict) keep learning's backend events
        self.keep_published = Event()  # (ModelVersion, or None: the history changed without a new one)
        self.keep_in_use_changed = Event()  # (ModelVersion or None)
        workspace.project_changed.connect(self._project_changed)
        workspace.images_changed.connect(self._keep_retry)
        workspace.editing.state_changed.connect(lambda _id: self._keep_retry())

    # -- what is going ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A one-shot run is going, or starting (its corrections are being saved first)."""
        return self.starting or (self.backend is not None and self.backend.running)

    @property
    def active(self) -> bool:
        """Some backend is still going (a run, keep learning, or one asked to stop): quitting waits."""
        return (self.starting and not self.closing) or (self.backend is not None and self.backend.running) \
            or (self.loop is not None and self.loop.running) or any(b.running for b in self._stopping)

    def busy(self) -> str | None:
        """Why no run can start now (one backend per project: the lock would refuse a second), or None."""
        if self.running:
            return RUN_BUSY
        if self.loop is not None or any(b.running for b in self._stopping):
            return KEEP_BUSY
        return None

    def pid(self) -> int:
        return 0 if self.backend is None else self.backend.pid

    # -- one-shot runs ---------------------------------------------------------------------------------
    def start_run(self, options: RunOptions | None = None) -> str | None:
        """Starts a run for the open project once its pending corrections are saved; returns why it
        cannot start (one line), or None."""
        ws, project = self.ws, self.ws.project
        if project is None or project.temporary:
            return NEEDS_PROJECT
        refused = self.busy() or (NOT_SAVED if ws.editing.failed else None)
        if refused is not None:
            return refused
        counts = project.counts()
        if counts["corrected"] + counts["reviewed"] == 0 and not ws.editing.unsaved():
            return NOTHING_CORRECTED
        self._options = options or RunOptions()
        self.starting = True
        self.changed.emit()
        self.status.emit("Saving your latest corrections...")
        editing = ws.editing

        def saved(ok: bool) -> None:  # the flush runs off the GUI thread: nothing waits on it
            self.starting = False
            if self.closing:
                self.changed.emit()
                return
            if project is not ws.project:
                self.changed.emit()
                self.status.emit("Training was not started: another project was opened.")
            elif not ok:
                self.changed.emit()
                self.failed.emit("Training", NOT_SAVED, None)
            else:
                self._launch(project)
            self._keep_retry()

        def not_saved(message: str, details: str) -> None:
            self.starting = False
            self.changed.emit()
            self.failed.emit("Training", NOT_SAVED, details)

        ws.background(lambda: editing.flush(60), saved, not_saved)
        return None

    def _launch(self, project: Project) -> None:
        counts = project.counts()
        if counts["corrected"] + counts["reviewed"] == 0:
            self.changed.emit()
            self.failed.emit("Training", NOTHING_CORRECTED, None)
            return
        self.checkpoint = project.root / "models" / f"run-{time.strftime('%Y%m%d-%H%M%S')}.safetensors"
        self.run = self.ws.start_run(self.checkpoint)
        args = [str(project.root), "--out", str(self.checkpoint), "--device", self.ws.device or "auto"]
        options = self._options
        if options.backbone is None and worth_continuing(project.model_path):
            args += ["--model", str(project.model_path)]
        else:
            from fcn_studio.model.factory import default_backbone  # noqa: PLC0415

            args += ["--backbone", options.backbone or default_backbone()]
        args += options.args
        log.info("training: %s", " ".join(args))
        dispatch = self.ws.dispatch
        backend = Backend(args, cwd=project.root)
        backend.on_event = lambda event: dispatch(lambda: self._event(backend, event))
        backend.on_ended = lambda ok, message: dispatch(lambda: self._ended(backend, ok, message))
        self.backend = backend
        self.status.emit("Starting the training process...")
        backend.start()
        self.changed.emit()

    def stop_run(self) -> None:
        if self.backend is not None:
            self.backend.stop()

    def _event(self, backend: Backend, event: dict) -> None:
        if event["event"] == "warning":  # a file skipped for an epoch: the run goes on, the log says why
            log.warning("training: %s", event["message"])
        if backend is self.backend:
            self.event.emit(event)

    def _in_run_project(self, run, fn: Callable[[Project], T]) -> T | None:
        """fn with the run's project: the open one while it is still on screen, else opened for the call."""
        if self.ws.owns(run):
            return fn(self.ws.project)
        root = None if run is None else run.project.root
        if root is None or not Project.is_project(root):
            return None
        project = Project.open(root)
        try:
            return fn(project)
        finally:
            project.close()

    def _ended(self, backend: Backend, succeeded: bool, message: str) -> None:
        if backend is not self.backend:
            return
        run, new = self.run, self.checkpoint
        if run is not None:
            self.ws.end_run(run)
        self.changed.emit()
        self.ended.emit(succeeded, message)
        self._keep_retry()
        stopped = message == STOPPED
        if not succeeded and not stopped:
            tail = "\n".join(backend.stderr_tail.splitlines()[-20:])
            log.warning("training failed: %s%s", message, f"; its last output:\n{tail}" if tail else "")
            self.status.emit(f"Training failed: {message}")
            self.failed.emit("Training failed", message, None)
            if new is None or not new.is_file() or run is None:
                self._record(run, new, None, f"failed: {message}")
                return
            # its best model so far is still worth comparing and offering, as after a stop
        if stopped and (new is None or not new.is_file()):
            self.status.emit("Stopped before the first validation; nothing to compare.")
            return
        if run is None or new is None or not new.is_file():
            return
        root = run.project.root
        current = self._in_run_project(run, lambda p: p.model_path)
        device = self.ws.device
        ended = "Finished." if succeeded or stopped else f"Training failed ({message}); its best model so far:"
        self.status.emit(f"{ended} Comparing with the model in use on the same validation images...")

        def scores():
            c = compare(new, current if current is not None and current.is_file() else None, root, device)
            return c.new_mean_iu, c.in_use_mean_iu, c.measured_on

        self.ws.background(scores, lambda result: self._compared(run, new, *result),
                           lambda msg, det: self.failed.emit("Cannot compare the models", msg, det))

    def _compared(self, run, new: Path, new_iu: float | None, old_iu: float | None, measured: str = "") -> None:
        options = self._options
        better = new_iu is not None and (old_iu is None or new_iu > old_iu)
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        on = measured or "the same validation images"
        text = f"New model: mean IU {fmt(new_iu)}; model in use: {fmt(old_iu)} (both on {on})."
        if new_iu is None:
            text = ("The new model could not be scored: the project has no validation pixels yet (each corrected "
                    "or reviewed image keeps some regions for them).")
        self._record(run, new, {"mean_iu": new_iu, "previous_mean_iu": old_iu},
                     "better" if better else ("not scored" if new_iu is None else "not better"))
        if not better:
            self.status.emit(text + " Kept the model in use (Model > Model History can use the new one).")
            return
        if not self.ws.owns(run):  # the run's project is no longer open: never touch the one on screen
            if options.auto_swap():
                self._in_run_project(run, lambda p: p.set_model_path(new))
                self.status.emit(text + f" Made it the model of {run.project.root.name}.")
            else:
                self.status.emit(text + f" Model > Model History in {run.project.root.name} can use it.")
            return
        if options.auto_swap() or (options.confirm is not None and options.confirm(text + "\n\nUse the new model?")):
            self.status.emit(text + " Swapped in; predicting the uncorrected images again.")
            self.ws.request_model(new, then=options.after_swap)  # the uncorrected images, least certain first
            self.model_improved.emit(new)
        else:
            self.status.emit(text + " Not swapped in (Model > Model History can use it later).")

    def _record(self, run, checkpoint: Path | None, metrics: dict | None, note: str) -> None:
        self._in_run_project(run, lambda p: p.record_model_run(checkpoint or "", metrics, note))

    # -- keep learning ---------------------------------------------------------------------------------
    def _project_changed(self, project: Project) -> None:
        self._stop_loop()
        self._keep_say("off")
        self.keep_in_use = None
        if not project.temporary:
            try:
                import_old_history(project)  # a history.json of an older FCN Studio, once
            except Exception:  # noqa: BLE001 - the project opens all the same
                log.exception("cannot import %s's keep-learning history", project.root)
            self.keep_in_use = self.version_in_use()
        self._keep_start_if_ready()

    def keep_usable(self) -> bool:
        project = self.ws.project
        return project is not None and not project.temporary and not project.closed

    @property
    def keep_on(self) -> bool:
        return self.keep_usable() and self.ws.project.keep_learning

    def keep_versions(self) -> list[ModelVersion]:
        """The open project's keep-learning versions, oldest first (from its model history)."""
        return versions(self.ws.project) if self.keep_usable() else []

    def version_in_use(self) -> ModelVersion | None:
        """The version the open project's model is (after a reopening too), if it is one."""
        if not self.keep_usable() or self.ws.project.model_path is None:
            return None
        model = self.ws.project.model_path.resolve()
        found = [v for v in self.keep_versions() if Path(v.path).resolve() == model]
        return found[-1] if found else None

    def set_keep_learning(self, on: bool) -> None:
        """The switch: remembered in the project; on starts the loop when it can, off stops it."""
        if not self.keep_usable():
            return
        self.ws.project.set_keep_learning(on)
        if on:
            self._keep_start_if_ready()
        else:
            self._stop_loop()
            self._keep_say("off")

    def pin(self, pinned: bool) -> None:
        self.keep_pinned = pinned
        if self.loop is not None:
            self.loop.pin(pinned)

    def roll_back(self, number: int) -> None:
        """Uses an earlier version (and pins, so the next improvement does not replace it)."""
        self.pin(True)
        if self.loop is not None:
            try:
                self.loop.rollback(number)
            except KeyError:  # pruned meanwhile: the lists show the history as it is now
                self.keep_published.emit(None)
            return
        chosen = next((v for v in self.keep_versions() if v.version == number), None)
        if chosen is not None:
            self.keep_in_use = chosen
            self.keep_in_use_changed.emit(chosen)
            self.ws.request_model(Path(chosen.path))

    def _keep_words(self, status: str) -> str:
        """The loop's status for the panel: before the first correction, what it is waiting for."""
        project = self.ws.project
        if status == "starting" and project is not None and not project.closed:
            counts = project.counts()
            if counts["corrected"] + counts["reviewed"] == 0:
                return "ready: learning starts with the first corrected image"
        return status

    def _keep_say(self, text: str) -> None:
        self.keep_state = text
        self.keep_status.emit(text)

    def _keep_retry(self) -> None:
        if self._keep_waiting:
            self._keep_start_if_ready()

    def _keep_start_if_ready(self) -> None:
        project = self.ws.project
        self._keep_waiting = False
        if self.closing or not self.keep_on or self.loop is not None:
            return
        if self.running or any(b.running for b in self._stopping):  # one backend per project
            self._keep_waiting = True
            self._keep_say("waiting for the training run to end")
            return
        loop = KeepLearning(project.root, start_model=project.model_path,
                            train_args=["--device", self.ws.device or "auto", *self.keep_args],
                            dispatch=self.ws.dispatch, project=project, protected=self._held_models)
        loop.pin(self.keep_pinned)
        loop.status_changed.connect(lambda text: loop is self.loop and self._keep_say(self._keep_words(text)))
        loop.published.connect(lambda v: loop is self.loop and self.keep_published.emit(v))
        loop.use.connect(lambda v: self._use(loop, v))
        loop.backend_event.connect(lambda e: loop is self.loop and self.keep_event.emit(e))
        self.loop = loop
        loop.start()  # before the first correction too: the backend gets ready and learns from the first one
        self.changed.emit()

    def _held_models(self) -> list[Path | None]:
        """What pruning old versions must never delete: the model the window has, the one it is
        loading, and the version in use (pinned or rolled back to)."""
        loading = self.ws.loading
        return [self.ws.model_path, None if loading is None else loading.path,
                None if self.keep_in_use is None else Path(self.keep_in_use.path)]

    def _use(self, loop: KeepLearning, version: ModelVersion) -> None:
        if loop is not self.loop or self.closing:
            return
        self.keep_in_use = version
        self.keep_in_use_changed.emit(version)
        self.ws.request_model(Path(version.path), then=self.keep_after_swap)

    def _stop_loop(self) -> None:
        """Stops the loop without waiting (its last checkpoint stays for the next start); a new one
        starts only once this one has ended."""
        loop, self.loop = self.loop, None
        self._keep_waiting = False
        if loop is None:
            return
        backend = loop.request_stop()
        if backend is not None and backend.running:
            self._stopping.add(backend)
            self._when_ended([backend], lambda: self._loop_stopped(backend))
        self.changed.emit()

    def _loop_stopped(self, backend: Backend) -> None:
        self._stopping.discard(backend)
        self.changed.emit()
        self._keep_start_if_ready()

    # -- stopping everything ---------------------------------------------------------------------------
    def stop_all(self, on_done: Callable[[], None]) -> None:
        """Asks every backend to stop (a stuck one is killed after the timeout) and calls `on_done`
        (through the workspace's dispatch) once all have ended. Never waits itself."""
        self.closing = True
        self._keep_waiting = False
        loop, self.loop = self.loop, None
        backends = [b for b in (self.backend, loop.backend if loop is not None else None, *self._stopping)
                    if b is not None and b.running]
        for backend in backends:
            backend.stop()
        if loop is not None and loop.backend in backends:
            self._stopping.add(loop.backend)
        self._when_ended(backends, on_done)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until every backend has ended (the command line, tests; never the GUI thread)."""
        backends = [b for b in (self.backend, self.loop.backend if self.loop is not None else None, *self._stopping)
                    if b is not None and b.process is not None]
        deadline = None if timeout is None else time.monotonic() + timeout
        return all(b.wait(None if deadline is None else max(0.0, deadline - time.monotonic())) for b in backends)

    def _when_ended(self, backends: list[Backend], fn: Callable[[], None]) -> None:
        dispatch = self.ws.dispatch

        def wait() -> None:
            for backend in backends:
                backend.wait()
            dispatch(fn)
        threading.Thread(target=wait, name="backends-ending", daemon=True).start()

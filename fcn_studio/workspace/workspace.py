"""The Workspace: one owner for the open project and everything that belongs to it: the project and
its generation, the current image (switched as one step with its editor), the model in use and the
one being loaded, the run, and the long operations ("busy") that every view and shortcut respects.
The window only shows it; the command line, the benchmarks and the tests drive it without a window.

Slow work goes through `background(fn, on_done, on_failed)` (a thread here; the window passes its
thread pools) and the model through `inference`, a port the window's inference worker fills
(`load_model(request, device)`, `set_project(project)`); nothing here imports Qt."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project
from fcn_studio.workspace.click_models import ClickModels
from fcn_studio.workspace.editing import Editing
from fcn_studio.workspace.events import Event, call_now
from fcn_studio.workspace.models import DEFAULT_NOTE, ModelRequest, make_model_file, new_model_path
from fcn_studio.workspace.runs import RunService

Background = Callable[[Callable[[], object], Callable[[object], None], Callable[[str, str], None]], None]


def thread_background(dispatch: Callable[[Callable[[], None]], None]) -> Background:
    """The default way to run slow work: a daemon thread, its result dispatched (to the GUI thread in
    the app, at once in tests and the CLI)."""
    def run(fn, on_done, on_failed) -> None:
        def work() -> None:
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - reported to whoever asked
                message, details = str(exc), traceback.format_exc()
                dispatch(lambda: on_failed(message, details))
                return
            dispatch(lambda: on_done(result))
        threading.Thread(target=work, daemon=True, name="workspace-background").start()
    return run


@dataclass(frozen=True)
class Run:
    """A training run, tied to the project that started it: its results are for that project only."""
    project: Project
    checkpoint: Path
    started: float = field(default_factory=time.time)


class Workspace:
    def __init__(self, undo_limit_mb: int = 300, autosave_delay: float = 0.3,
                 dispatch: Callable[[Callable[[], None]], None] = call_now,
                 background: Background | None = None) -> None:
        self.dispatch = dispatch
        self.background: Background = background or thread_background(dispatch)
        self.editing = Editing(undo_limit_mb, autosave_delay, dispatch)
        self.project: Project | None = None
        self.generation = 0  # bumped whenever another project opens: older results are dropped
        self.inference = None  # the port to the model's worker (the window's), or None
        self.device: str | None = None  # the device asked for (None: automatic)
        self.model_path: Path | None = None  # the model in use, once loaded
        self.model_labels: LabelSet | None = None
        self.loading: ModelRequest | None = None  # the model being loaded
        self.current_id: int | None = None  # the image the person chose: shown, or still opening
        self.current_image = None  # its pixels (RGB) once shown: what the model and smart tools see
        self.slide = None  # a SlideEditing when the current image is a whole slide (its labels, its strokes)
        self._image_token = 0
        self.busy: str | None = None  # a long operation that edits must wait for, said in words
        self.run: Run | None = None
        self.project_changed = Event()  # (project)
        self.labels_changed = Event()  # (label set)
        self.images_changed = Event()  # ()  images added, masks imported
        self.current_changed = Event()  # (image id or None) another image was chosen
        self.model_requested = Event()  # (request)
        self.model_changed = Event()  # (path, labels) a requested model is in use
        self.model_failed = Event()  # (path, message) it could not be loaded; the one in use goes on
        self.model_making = Event()  # (note) a new model file is being made for the open project
        self.model_made = Event()  # (path, note) a new model file was made for the open project
        self.busy_changed = Event()  # (text or None)
        self.run_changed = Event()  # (run or None)
        self.imported = Event()  # (import report) a dataset import into the open project finished
        self.runs = RunService(self)  # one-shot runs and keep learning, one launcher, one history
        self.clicks = ClickModels(self)  # the click model in use, made once, learning beside keep learning

    # -- the project ---------------------------------------------------------------------------------
    def open(self, project: Project) -> None:
        """Makes `project` the open one, as one step: the old one's pending saves are written, then it
        closes; a model still loading, an image still opening and anything the model's worker had
        queued belong to the old one and are dropped."""
        old = self.project
        self.generation += 1
        self._leave_slide()
        self.editing.set_project(project)
        self.project = project
        self.model_path = self.model_labels = None
        self.loading = None
        self.current_id = self.current_image = None
        self._image_token += 1
        if self.inference is not None:
            self.inference.set_project(project)
        if old is not None and old is not project:
            old.close()
        self.project_changed.emit(project)
        self.labels_changed.emit(project.labels)
        self.current_changed.emit(None)

    def continue_as(self, project: Project) -> bool:
        """The open session goes on as `project`, a copy of it saved elsewhere (Save as Project): same
        images, same editors and undo history; the session's temporary folder goes. False (and the
        session stays open) when its pending edits could not be saved first."""
        old = self.project
        if not self._leave_slide() or not self.editing.move_to(project):
            return False  # nothing moved: the worker, the model and the editors stay with the session
        self.project = project
        if self.model_path is not None and old is not None:  # the copy's own file of the model in use
            moved = project.root / self.model_path.relative_to(old.root) \
                if self.model_path.is_relative_to(old.root) else self.model_path
            self.model_path = moved if moved.is_file() else self.model_path
        if self.inference is not None:
            self.inference.set_project(project, keep_model=True)
        if old is not None and old is not project:
            old.close()
        self.project_changed.emit(project)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Saves what it can and closes; False when something could not be saved (it stays in the
        edit journal for the next opening)."""
        ok = self._leave_slide(timeout)
        ok = self.editing.close(timeout) and ok
        if self.project is not None:
            self.project.close()
        return ok

    def _leave_slide(self, timeout: float = 30.0) -> bool:
        """The slide being edited is left: its strokes are written (or stay journalled for the next
        opening, if they cannot be). Returns whether they were written."""
        slide, self.slide = self.slide, None
        return slide.close(timeout) if slide is not None else True

    @property
    def labels(self) -> LabelSet | None:
        return None if self.project is None else self.project.labels

    def add_images(self, paths: list[Path], on_done: Callable[[object], None],
                   on_failed: Callable[[str, str], None]) -> None:
        """Adds image files and folders (recursively) to the open project off the GUI thread; the views
        hear `images_changed` once they are in (not if another project opened meanwhile)."""
        project = self.project

        def done(result) -> None:
            if project is self.project:
                self.images_changed.emit()
                on_done(result)

        self.background(lambda: project.add_images(paths), done, on_failed)

    def masks_rewritten(self) -> None:
        """Masks on disk changed under the editors (classes changed, an import): edit them afresh (a
        whole slide too: its undo history holds labels of before)."""
        self._leave_slide()
        self.editing.set_project(self.project)
        self.labels_changed.emit(self.project.labels)
        self.images_changed.emit()

    def masks_imported(self, image_ids, labels_changed: bool) -> list[int]:
        """An import wrote the masks of `image_ids`: only their editors start afresh (the others keep
        their undo history); returns those that did."""
        gone = self.editing.forget_images(image_ids)
        if labels_changed:
            self.labels_changed.emit(self.project.labels)
        self.images_changed.emit()
        return gone

    # -- the current image ---------------------------------------------------------------------------
    def choose_image(self, image_id: int | None) -> int:
        """The person chose another image: it is the current one from now on, but until its editor
        exists (`image_shown`) edits, accepts and marks go nowhere, never to the image left behind.
        Returns the token `image_shown` needs (an older decode that arrives late is dropped)."""
        self._image_token += 1
        if image_id != self.current_id or self.editing.current_id != image_id:
            self.editing.current_id = None
            self.current_image = None
        if self.slide is not None and (image_id != self.current_id or self.slide.image_id != image_id):
            self._leave_slide()
        self.current_id = image_id
        self.current_changed.emit(image_id)
        return self._image_token

    def image_shown(self, token: int, image_id: int, mask, shape, human: bool = False, origin=None, image=None):
        """The chosen image is decoded (`image`, its RGB pixels): its editor becomes the one edits go
        to. None when the person has chosen another image meanwhile (or another project opened)."""
        if token != self._image_token or image_id != self.current_id:
            return None
        self.current_image = image
        return self.editing.open_image(image_id, mask, shape, human, origin)

    def slide_shown(self, token: int, image_id: int, slide):
        """The chosen image is a whole slide, open: `slide` (a SlideEditing) takes its strokes. None
        (and `slide` closed) when the person has chosen another image meanwhile."""
        if token != self._image_token or image_id != self.current_id:
            slide.close()
            return None
        self._leave_slide()
        self.slide = slide
        return slide

    def image_failed(self, token: int) -> bool:
        """The chosen image cannot be shown: nothing to edit on it."""
        if token != self._image_token:
            return False
        self.editing.current_id = None
        self.current_image = None
        return True

    @property
    def ready(self) -> bool:
        """The current image is shown and its editor takes edits (not while it opens, nor while busy)."""
        return self.current_id is not None and self.editing.current_id == self.current_id and self.busy is None

    @property
    def editor(self):
        """The current image's editor, or None while it opens or a long operation runs."""
        return self.editing.editor if self.ready else None

    # -- long operations ------------------------------------------------------------------------------
    def begin_busy(self, what: str) -> bool:
        """A long operation (a class change, Save as Project, an import) starts: edits, undo and marks
        wait until `end_busy`. False, and nothing starts, while another one runs."""
        if self.busy is not None:
            return False
        self.busy = what
        self.editing.locked = what
        self.busy_changed.emit(what)
        return True

    def end_busy(self) -> None:
        self.busy = None
        self.editing.locked = None
        self.busy_changed.emit(None)

    def long_operation(self, what: str, work: Callable[[], object], on_done: Callable[[object], None],
                       on_failed: Callable[[str, str], None]) -> bool:
        """One sequence for everything that rewrites or copies the masks (a class change, Save as
        Project, an import): the workspace is busy (edits, undo and marks wait), the pending edits are
        saved first, then `work` runs off the GUI thread; the busy state ends before `on_done` or
        `on_failed` runs. False, and nothing starts, while another long operation runs."""
        if not self.begin_busy(what):
            return False
        editing, slide = self.editing, self.slide
        if editing.saver is not None:
            editing.saver.save_now()

        def run():
            if not editing.flush(120):
                raise RuntimeError("some masks could not be saved; fix that first (see the image list)")
            if slide is not None and not slide.flush(120):  # a whole slide's strokes, into its pyramid
                raise RuntimeError(f"the strokes on the slide could not be written: {slide.error}")
            return work()

        def done(result) -> None:
            self.end_busy()
            on_done(result)

        def failed(message: str, details: str) -> None:
            self.end_busy()
            on_failed(message, details)

        self.background(run, done, failed)
        return True

    def change_labels(self, labels: LabelSet, mapping: dict[int, int] | None,
                      on_done: Callable[[int], None], on_failed: Callable[[str, str], None]) -> bool:
        """New classes for the project: the masks are rewritten as one long operation, then every image
        is edited afresh on them. `on_done(count of masks rewritten)` runs only if the project is still
        the open one."""
        project = self.project
        if project is None:
            return False

        def done(count: int) -> None:
            if project is self.project and not project.closed:
                self.masks_rewritten()
                on_done(count)

        return self.long_operation("the classes are being changed", lambda: project.change_labels(labels, mapping),
                                   done, on_failed)

    # -- the model -------------------------------------------------------------------------------------
    def request_model(self, path: str | Path, then: Callable[[], None] | None = None) -> ModelRequest | None:
        """Asks the worker to load a checkpoint for the open project. The project's model changes only
        when it loads (`model_loaded`); until then the model in use goes on."""
        if self.project is None:
            return None
        request = ModelRequest(Path(path), self.generation, then)
        self.loading = request
        self.model_requested.emit(request)
        if self.inference is not None:
            self.inference.load_model(request, self.device)
        return request

    def current_request(self, request: ModelRequest) -> bool:
        """Whether a worker's answer is for the request the open project is waiting for."""
        return (request is self.loading and request.generation == self.generation and self.project is not None
                and not self.project.closed)

    def model_loaded(self, request: ModelRequest, labels: LabelSet) -> bool:
        """The worker loaded `request`: it is the project's model now. False (and nothing changes) for
        a request since replaced or made for a project no longer open."""
        if not self.current_request(request):
            return False
        self.loading = None
        self.model_path, self.model_labels = request.path, labels
        self.project.set_model_path(request.path)
        self.model_changed.emit(request.path, labels)
        return True

    def model_load_failed(self, request: ModelRequest, message: str) -> bool:
        """The worker could not load `request`: the project keeps the model it had."""
        if not self.current_request(request):
            return False
        self.loading = None
        self.model_failed.emit(request.path, message)
        return True

    def ensure_model(self, on_failed: Callable[[str, str], None] | None = None) -> None:
        """The open project's model is loaded; a project without one gets the default model (FCN-8s on
        MobileNetV3, ImageNet-initialised when those weights are cached), made in the background."""
        project = self.project
        if project is None:
            return
        if project.model_path is not None and project.model_path.is_file():
            self.request_model(project.model_path)
            return
        self.make_model(note=DEFAULT_NOTE, stem="default", on_failed=on_failed)

    def make_model(self, arch: str | None = None, backbone: str | None = None, note: str = "new model",
                   stem: str | None = None, on_failed: Callable[[str, str], None] | None = None) -> None:
        """A new model with the open project's classes, made off the GUI thread under a file name of its
        own, recorded in the project's history and loaded once made, if that project is still open."""
        project, generation = self.project, self.generation
        if project is None:
            return
        stem = stem or (f"{arch}_{backbone}" if backbone else (arch or "model"))
        target = new_model_path(project.root / "models", stem)
        labels = project.labels

        self.model_making.emit(note)

        def make():
            made = make_model_file(target, labels, arch, backbone)
            project.record_model_run(target, {}, note)
            return made

        def done(how: str) -> None:
            if generation == self.generation and project is self.project:
                self.model_made.emit(target, how)
                self.request_model(target)

        def failed(message: str, details: str) -> None:
            if generation == self.generation and on_failed is not None:
                on_failed(message, details)

        self.background(make, done, failed)

    # -- what is unsaved -------------------------------------------------------------------------------
    def unsaved(self) -> dict[int, str]:
        return self.editing.unsaved()

    def failures(self) -> dict[int, str]:
        return self.editing.failed

    # -- the training run ------------------------------------------------------------------------------
    def start_run(self, checkpoint: Path) -> Run:
        if self.project is None:
            raise RuntimeError("no project is open")
        self.run = Run(self.project, Path(checkpoint))
        self.run_changed.emit(self.run)
        return self.run

    def end_run(self, run: Run) -> None:
        if self.run is run:
            self.run = None
            self.run_changed.emit(None)

    def owns(self, run: Run | None) -> bool:
        """Whether a run's results may touch what is open now (not after a switch of project)."""
        project = self.project
        return (run is not None and project is not None and not project.closed
                and project.root == run.project.root)

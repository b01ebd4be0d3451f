"""The Workspace: one owner for the open project and everything that belongs to it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project
from fcn_studio.workspace.editing import Editing
from fcn_studio.workspace.events import Event, call_now


@dataclass(frozen=True)
class Run:
    """A training run, tied to the project that started it: its results are for that project only."""
    project: Project
    checkpoint: Path
    started: float = field(default_factory=time.time)


class Workspace:
    def __init__(self, undo_limit_mb: int = 300, autosave_delay: float = 0.3,
                 dispatch: Callable[[Callable[[], None]], None] = call_now) -> None:
        self.dispatch = dispatch
        self.editing = Editing(undo_limit_mb, autosave_delay, dispatch)
        self.project: Project | None = None
        self.model_path: Path | None = None  # the model in use, once loaded
        self.model_labels: LabelSet | None = None
        self.run: Run | None = None
        self.project_changed = Event()  # (project)
        self.labels_changed = Event()  # (label set)
        self.images_changed = Event()  # ()  images added, masks imported
        self.model_changed = Event()  # (path, labels)
        self.run_changed = Event()  # (run or None)
        self.imported = Event()  # (import report) a dataset import into the open project finished

    # -- the project ---------------------------------------------------------------------------------
    def open(self, project: Project) -> None:
        """Makes `project` the open one; the old one's pending saves are written, then it closes."""
        old = self.project
        self.editing.set_project(project)
        self.project = project
        self.model_path = self.model_labels = None
        if old is not None and old is not project:
            old.close()
        self.project_changed.emit(project)
        self.labels_changed.emit(project.labels)

    def continue_as(self, project: Project) -> bool:
        """The open session goes on as `project`, a copy of it saved elsewhere (Save as Project): same
        images, same editors and undo history; the session's temporary folder goes. False (and the
        session stays open) when its pending edits could not be saved first."""
        old = self.project
        if not self.editing.move_to(project):
            return False
        self.project = project
        if old is not None and old is not project:
            old.close()
        self.project_changed.emit(project)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Saves what it can and closes; False when something could not be saved (it stays in the
        edit journal for the next opening)."""
        ok = self.editing.close(timeout)
        if self.project is not None:
            self.project.close()
        return ok

    @property
    def labels(self) -> LabelSet | None:
        return None if self.project is None else self.project.labels

    def masks_rewritten(self) -> None:
        """Masks on disk changed under the editors (classes changed, an import): edit them afresh."""
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

    # -- what is unsaved -------------------------------------------------------------------------------
    def unsaved(self) -> dict[int, str]:
        return self.editing.unsaved()

    def failures(self) -> dict[int, str]:
        return self.editing.failed

    # -- the model in use ----------------------------------------------------------------------------
    def model_loaded(self, path: Path, labels: LabelSet) -> None:
        self.model_path, self.model_labels = Path(path), labels
        self.model_changed.emit(self.model_path, labels)

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

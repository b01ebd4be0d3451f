"""What the person opens: a project, a checkpoint, loose images or folders (command line, drop, the
File menu, Recent Projects, the sample project). The workspace makes the switch; this room asks the
questions first (make a folder a project? save the session's masks before they go?) and says what
happened."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project, ProjectError

if TYPE_CHECKING:
    from fcn_studio.ui.datasets.session_save import SessionSaver
    from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif *.ppm *.pgm)"
MAX_RECENT = 10


class Opening:
    """Built from (workspace, shell), the session saver (asks before a session's masks go) and the
    pretrained jobs (the offer made to a new project)."""

    def __init__(self, workspace: Workspace, shell: Shell, saver: SessionSaver, pretrained: PretrainedJobs) -> None:
        self.workspace, self.shell, self.saver, self.pretrained = workspace, shell, saver, pretrained
        workspace.project_changed.connect(self._project_changed)

    # -- opening -------------------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Whatever the person hands over: a project, a checkpoint, images or folders."""
        paths = [Path(p) for p in paths]
        checkpoints = [p for p in paths if p.suffix == ".safetensors"]
        for ckpt in checkpoints:
            self.workspace.request_model(ckpt)
        paths = [p for p in paths if p not in checkpoints]
        if not paths:
            return
        if len(paths) == 1 and (Project.is_project(paths[0]) or paths[0].name == "project.sqlite"):
            self.open_project(paths[0])
            return
        project = self.workspace.project
        if project is not None and not project.temporary:
            self.add_images(paths)
            return
        folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
        if folder is not None and self.shell.ask(
                "Make a project?", f"Make {folder} a project?\n\nFCN Studio will write project.sqlite and a "
                f"masks/ folder there, so your corrections are saved. Otherwise the images open for this "
                f"session only."):
            self.new_project(folder, paths)
            return

        def open_session() -> None:
            self._open(Project.temporary_session())
            self.add_images(paths)
            self.ensure_model()
        if self.saver.may_replace(open_session):  # asks before a person's masks in a session go
            open_session()

    def open_project(self, path: str | Path) -> None:
        if not self.saver.may_replace(lambda: self.open_project(path)):
            return
        try:
            project = Project.open(path)
        except (ProjectError, RuntimeError, OSError) as exc:
            self.shell.error("Cannot open the project", str(exc))
            return
        self._open(project)
        self.ensure_model()

    def new_project(self, folder: str | Path, add: list[Path] | None = None, labels: LabelSet | None = None) -> None:
        if not self.saver.may_replace(lambda: self.new_project(folder, add, labels)):
            return
        try:
            project = Project.create(folder, labels)
        except (ProjectError, OSError) as exc:
            self.shell.error("Cannot create the project", str(exc))
            return
        self._open(project)
        if add:
            self.add_images(add)
        self.ensure_model()
        self.pretrained.project_created(project)

    def add_images(self, paths: list[Path]) -> None:
        if self.workspace.project is None:
            self._open(Project.temporary_session())

        def done(result) -> None:
            skipped = "".join(f"\n{p}: {why}" for p, why in result.skipped[:10])
            self.shell.status(f"{result.added} images added, {result.already} already there", 8000)
            if skipped:
                self.shell.error("Some files were not added", f"These could not be added:{skipped}")

        self.workspace.add_images(paths, done, lambda msg, det: self.shell.error("Cannot add images", msg, det))

    def recovered(self, session: Project) -> None:
        """A session left by a crash goes on (SessionRecovery)."""
        self._open(session)
        self.ensure_model()
        self.shell.status("Recovered the unsaved session: File > Save as Project keeps it.", 10000)

    def _open(self, project: Project) -> None:
        self.workspace.open(project)  # one step: pending saves, the worker, the model, the current image

    def ensure_model(self) -> None:
        """A project without a model gets the default one, made in the background (the workspace's)."""
        self.workspace.ensure_model(on_failed=lambda m, d: self.shell.error("Cannot make a model", m, d))

    # -- recent projects -----------------------------------------------------------------------------
    def _project_changed(self, project: Project) -> None:
        if not project.temporary:
            recent = [str(project.root)] + [p for p in self.recent_projects() if p != str(project.root)]
            self.shell.settings.setValue("recent_projects", recent[:MAX_RECENT])

    def recent_projects(self) -> list[str]:
        value = self.shell.settings.value("recent_projects", [])
        return [value] if isinstance(value, str) else list(value or [])

    # -- the File menu's dialogs ---------------------------------------------------------------------
    def new_project_dialog(self) -> None:
        folder = self.shell.choose_folder("Folder for the new project")
        if folder:
            self.new_project(folder)

    def open_project_dialog(self) -> None:
        folder = self.shell.choose_folder("Open a project folder")
        if folder:
            self.open_project(folder)

    def open_images_dialog(self) -> None:
        files = self.shell.choose_files("Open images", IMAGE_FILTER)
        if files:
            self.open_paths(files)

    def add_images_dialog(self) -> None:
        files = self.shell.choose_files("Add images", IMAGE_FILTER)
        if files:
            self.add_images([Path(f) for f in files])

    def add_folder_dialog(self) -> None:
        folder = self.shell.choose_folder("Add a folder of images (recursively)")
        if folder:
            self.add_images([Path(folder)])

    def sample_project_dialog(self) -> None:
        folder = self.shell.choose_folder("Where to put the sample project")
        if folder:
            self.create_sample_project(Path(folder) / "fcn-studio-sample")

    def create_sample_project(self, root: Path) -> None:
        """The sample project (project.sample), made off the GUI thread, then opened."""
        from fcn_studio.project.sample import create_sample_project as create  # noqa: PLC0415

        self.shell.background(lambda: create(root), self.open_project,
                              lambda msg, det: self.shell.error("Cannot create the sample project", msg, det))

"""A temporary session (images opened without a project) kept from being thrown away: File > Save as
Project... copies it into a real project folder (fcn_studio.project.save_as) and the window goes on
with it, same image and same undo history; quitting a session that holds a person's work asks first
(Save as Project / Discard / Cancel)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from fcn_studio.project.project import Project, ProjectError
from fcn_studio.project.save_as import check_target, save_as
from fcn_studio.project.schema import HUMAN_STATES


class SessionSaver:
    """Built from (workspace, shell); `quit` closes the window (after a save asked for on quitting)."""

    def __init__(self, workspace, shell, quit: Callable[[], None]) -> None:
        self.workspace, self.shell, self.quit = workspace, shell, quit
        self.busy = False
        self.discarded = False  # the person said Discard: a second close (after saves land) asks no more
        self.replacing = False  # the question is asked for opening something else, not for quitting

    # -- questions (tests replace these) ------------------------------------------------------------
    def question(self) -> str:
        """On quitting, or opening something else in place of a session with work in it (`replacing`):
        "save", "discard" or "cancel"."""
        until = "another project or other images open in their place" if self.replacing else "you quit"
        box = QMessageBox(QMessageBox.Icon.Question, "Save the session?",
                          f"The images you opened are not in a project, and your masks are kept only until "
                          f"{until}.\n\nSave them as a project?", parent=self.shell.parent)
        save = box.addButton("Save as Project...", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if clicked is discard else "cancel"

    def choose_folder(self) -> str:
        return self.shell.choose_folder("Folder for the project (a new or empty one)")

    # -- what there is to lose ----------------------------------------------------------------------
    def has_work(self) -> bool:
        """A person's masks (saved or not) in a temporary session: what quitting would delete."""
        project = self.workspace.project
        if project is None or not project.temporary or project.closed:
            return False
        counts = project.counts()
        return bool(self.workspace.unsaved()) or any(counts[s] for s in HUMAN_STATES)

    def may_replace(self, then: Callable[[], None]) -> bool:
        """Whether the open session may be closed now for something else (Open Images, Open Project,
        New Project, Recent, a drop): with a person's masks in it, the person is asked first, as on
        quitting. After Save as Project, `then` runs once the session is saved."""
        if self.busy:
            self.shell.status("Saving the session as a project; try again when it is done.", 8000)
            return False
        if not self.has_work():
            return True
        self.replacing = True
        try:
            answer = self.question()
        finally:
            self.replacing = False
        if answer == "save":
            self.save(after=then)
        return answer == "discard"

    def on_close(self) -> bool:
        """Whether the window may close now. A save started here closes the window when it is done."""
        if self.busy:
            self.shell.status("Saving the session as a project; the window closes when it is done.", 0)
            return False
        if self.discarded or not self.has_work():
            return True
        answer = self.question()
        if answer == "save":
            self.save(after=self.quit)
        self.discarded = answer == "discard"
        return self.discarded

    # -- saving -------------------------------------------------------------------------------------
    def save(self, folder: str | Path | None = None, after: Callable[[], None] | None = None) -> None:
        """Saves the session as a project; `after` runs once the window goes on with it."""
        ws, shell, project = self.workspace, self.shell, self.workspace.project
        if project is None or not project.temporary:
            shell.status("This is a project already: every change is saved in it as you work.", 8000)
            return
        folder = folder or self.choose_folder()
        if not folder:
            return
        try:
            target = check_target(project, Path(folder))
        except ProjectError as exc:
            shell.error("Cannot save as a project", str(exc))
            return
        shell.status(f"Saving the session as a project in {target}...", 0)

        def done(root: Path) -> None:
            self.busy = False
            if project is not ws.project:
                return
            try:
                new = Project.open(root)
            except ProjectError as exc:
                shell.error("Cannot open the saved project", str(exc))
                return
            # one step, which can fail: the worker, the model and the editors move only if it succeeds
            if not ws.continue_as(new):
                new.close()
                shell.error("Cannot save as a project", "Some edits could not be saved; the session stays open.")
                return
            shell.status(f"Saved as the project {new.root}; your work is saved there from now on.", 10000)
            if after is not None:
                after()

        def failed(message: str, details: str) -> None:
            self.busy = False
            shell.error("Cannot save as a project", message, details)

        # no edit may land in the session after its copy is taken: edits wait until it is done
        if not ws.long_operation("the session is being saved as a project", lambda: save_as(project, target),
                                 done, failed):
            shell.error("Cannot save as a project", f"Wait: {ws.busy}.")
            return
        self.busy = True

"""The Training panel's hint follows the open project's real state (no project, a session, how many
images a person has labelled and whether any validate), updated when images are saved, marked,
imported or another project opens, instead of a fixed "Correct a few images, then train."."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from fcn_studio.project.schema import HUMAN_STATES


def training_hint(counts: dict[str, int] | None, temporary: bool = False) -> str:
    """What a person should know before pressing Start, from the project's image counts by state."""
    if counts is None:
        return "Open or make a project, correct a few images, then train."
    if temporary:
        return "Training learns from a project's corrected images: make a project first (File > New Project)."
    labelled = sum(counts.get(s, 0) for s in HUMAN_STATES)
    if labelled == 0:
        return "Correct a few images, then train (each saved edit marks its image corrected)."
    images = f"{labelled} labelled image{'s' if labelled != 1 else ''}"
    # core/splits: each labelled image keeps some regions away from training to score the new model on
    return (f"{images}: ready to train (the new model is scored on regions of each labelled image that it "
            f"never trains on, and on every fifth image whole).")


class TrainingHint(QObject):
    """Keeps `label` up to date with the workspace; bursts of saves are counted once."""

    def __init__(self, workspace, shell, label) -> None:
        super().__init__(shell.parent)
        self.workspace, self.label = workspace, label
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.update)
        workspace.project_changed.connect(lambda _p: self.update())
        workspace.images_changed.connect(self._timer.start)
        workspace.editing.state_changed.connect(lambda _id: self._timer.start())
        self.update()

    def update(self) -> None:
        project = self.workspace.project
        if project is None or project.closed:
            self.label.setText(training_hint(None))
            return
        self.label.setText(training_hint(project.counts(), project.temporary))

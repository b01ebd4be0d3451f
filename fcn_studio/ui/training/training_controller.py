"""The Training panel as a view over the workspace's run service (workspace.runs): Start and Stop go to
it, its news goes to the panel (progress, plots, status) and errors to the shell. The run itself (saving
the corrections first, the backend process, the comparison, the history, the swap, which project it
belongs to) lives in fcn_studio/workspace/runs.py."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from fcn_studio.ui.shell import Shell
from fcn_studio.ui.training.training_panel import TrainingPanel
from fcn_studio.workspace import RunOptions, Workspace


class TrainingController(QObject):
    model_improved = Signal(str)  # new checkpoint path
    event = Signal(dict)  # the run's backend events
    ended = Signal(bool, str)  # succeeded, message ("stopped" when asked to)

    def __init__(self, workspace: Workspace, shell: Shell, panel: TrainingPanel,
                 after_swap: Callable[[], None] | None = None) -> None:
        super().__init__(shell.parent)
        self.workspace, self.shell, self.panel = workspace, shell, panel
        self.runs = workspace.runs
        self.after_swap = after_swap  # once a better model is in use: predict the uncorrected images again
        panel.start_requested.connect(self.start)
        panel.stop_requested.connect(self.runs.stop_run)
        self.runs.changed.connect(self._changed)
        self.runs.event.connect(self._event)
        self.runs.status.connect(panel.status.setText)
        self.runs.ended.connect(self.ended.emit)
        self.runs.failed.connect(self._failed)
        self.runs.model_improved.connect(lambda path: self.model_improved.emit(str(path)))

    @property
    def running(self) -> bool:
        """A run is going, or starting (its corrections are being saved first)."""
        return self.runs.running

    def start(self) -> None:
        """Start (the panel's button, Model > Train on Corrections): refused in one line while keep
        learning or another run holds the project's backend; other reasons get an error."""
        busy = self.runs.busy()
        if busy is not None:
            self.panel.status.setText(busy)
            self.shell.status(busy, 8000)
            return
        self.panel.reset()
        problem = self.runs.start_run(RunOptions(
            self.panel.arguments(), self.panel.new_backbone(), auto_swap=self.panel.auto_swap.isChecked,
            confirm=lambda text: self.shell.ask("A better model", text), after_swap=self.after_swap))
        if problem is not None:
            self.shell.error("Training", problem)

    def _changed(self) -> None:
        going = self.runs.running
        self.panel.set_running(going)
        self.panel.start.setEnabled(not going and self.runs.loop is None)  # one run per project

    def _event(self, event: dict) -> None:
        self.panel.show_event(event)
        self.event.emit(event)
        if event["event"] == "progress":
            self.shell.status(f"Training: {self.panel.status.text()}", 3000)

    def _failed(self, title: str, message: str, details: str | None) -> None:
        self.shell.error(title, message, details)

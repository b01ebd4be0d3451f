"""The Keep learning box as a view over the workspace's run service: the switch (remembered in the
project), what the loop is doing, the version in use, the history (the project's model history, the
one Model > Model History reads), pin and roll back. The loop itself (start when there is something to
learn from, wait for a run to end, stop on a switch of project, swap each better version in) lives in
fcn_studio/workspace/runs.py."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from fcn_studio.ui.shell import Shell
from fcn_studio.ui.training.training_panel import TrainingPanel
from fcn_studio.workspace import ModelVersion, Workspace


class KeepLearningController(QObject):
    def __init__(self, workspace: Workspace, shell: Shell, panel: TrainingPanel,
                 after_swap: Callable[[], None] | None = None) -> None:
        super().__init__(shell.parent)
        self.workspace, self.shell, self.panel, self.box = workspace, shell, panel, panel.keep
        self.runs = workspace.runs
        self.runs.keep_after_swap = after_swap  # predict the untouched images again, the one on screen first
        box = self.box
        box.switched.connect(self._switched)
        box.pinned.connect(self.runs.pin)
        box.rollback_requested.connect(self._roll_back)
        self.runs.keep_status.connect(box.state.setText)
        # the whole history again: publishing a version may have pruned old ones, never to be offered
        self.runs.keep_published.connect(lambda _v: box.show_history(self.runs.keep_versions()))
        self.runs.keep_in_use_changed.connect(self._in_use)
        self.runs.keep_event.connect(self._backend_event)
        workspace.project_changed.connect(self._project_changed)

    @property
    def loop(self):
        return self.runs.loop

    @property
    def in_use(self) -> ModelVersion | None:
        return self.runs.keep_in_use

    @property
    def extra_args(self) -> list[str]:
        return self.runs.keep_args

    @extra_args.setter
    def extra_args(self, args: list[str]) -> None:  # tests: a tiny crop
        self.runs.keep_args = list(args)

    def _project_changed(self, project) -> None:
        usable = self.runs.keep_usable()
        self.box.setEnabled(usable)
        self.box.switch.blockSignals(True)
        self.box.switch.setChecked(self.runs.keep_on)
        self.box.switch.blockSignals(False)
        self.box.show_history(self.runs.keep_versions())
        self.box.show_in_use(self.runs.keep_in_use)
        self.box.state.setText(self.runs.keep_state)

    def _switched(self, on: bool) -> None:
        self.runs.set_keep_learning(on)

    def _in_use(self, version: ModelVersion | None) -> None:
        self.box.show_in_use(version)
        if version is not None:
            self.shell.status(f"Keep learning: swapped in {version.describe()}", 8000)

    def _roll_back(self, number: int) -> None:
        self.box.pin.setChecked(True)  # the next improvement does not replace the version chosen
        self.runs.roll_back(number)

    def _backend_event(self, event: dict) -> None:
        if event["event"] in ("progress", "validation"):
            self.panel.show_event(event)

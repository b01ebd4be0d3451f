"""The Model menu's own commands: load a checkpoint, make a new model, roll back through the model's
history, choose the device. Built from (workspace, shell); the workspace loads and makes models."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace

DEVICES = (("auto", "Automatic (GPU if there is one)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"),
           ("mps", "Apple GPU (MPS)"))


def chosen_device(settings: QSettings) -> str | None:
    """The device the person chose (None: automatic: CUDA, then MPS, then the CPU)."""
    value = settings.value("device", "auto")
    return None if value in (None, "", "auto") else str(value)


class ModelCommands:
    def __init__(self, workspace: Workspace, shell: Shell) -> None:
        self.workspace, self.shell = workspace, shell

    def set_device(self, device: str) -> None:
        """Remembered, and the model in use moves there at once."""
        self.shell.settings.setValue("device", device)
        self.workspace.device = chosen_device(self.shell.settings)
        project = self.workspace.project
        if project is not None and project.model_path is not None:
            self.workspace.request_model(project.model_path)

    def load_dialog(self) -> None:
        path = self.shell.choose_file("Load a checkpoint", "FCN Studio checkpoints (*.safetensors)")
        if path:
            self.workspace.request_model(path)

    def new_model_dialog(self) -> None:
        from fcn_studio.ui.dialogs.forms import NewModelDialog  # noqa: PLC0415

        if self.workspace.project is None:
            self.shell.error("New model", "Open or create a project first: the model takes its classes from it.")
            return
        dialog = NewModelDialog(self.shell.parent)
        if dialog.exec() != NewModelDialog.DialogCode.Accepted:
            return
        arch, backbone = dialog.arch.currentText(), dialog.chosen_backbone()
        self.workspace.make_model(arch, backbone, note=f"new {arch}" + (f" on {backbone}" if backbone else ""),
                                  on_failed=lambda m, d: self.shell.error("Cannot make the model", m, d))

    def history_dialog(self) -> None:
        """Model > History: every version of the project's model; the chosen one is loaded."""
        from fcn_studio.ui.models.model_history import ModelHistoryDialog, history_rows  # noqa: PLC0415

        project = self.workspace.project
        if project is None:
            return
        runs = [r for r in project.model_runs() if "click_version" not in r["metrics"]]  # those: click history

        def show(rows) -> None:
            if project is not self.workspace.project:
                return
            dialog = ModelHistoryDialog(rows, project.model_path, self.shell.parent)
            if dialog.exec() == ModelHistoryDialog.DialogCode.Accepted and dialog.chosen is not None:
                self.workspace.request_model(dialog.chosen)

        self.shell.background(lambda: history_rows(runs), show)  # the checkpoints' headers, off the GUI thread

    def click_history_dialog(self) -> None:
        """Model > Click Model History: pin, or go back to an earlier click model (which pins)."""
        from fcn_studio.ui.models.click_history import ClickHistoryDialog  # noqa: PLC0415

        project, clicks = self.workspace.project, self.workspace.clicks
        if project is None or project.temporary:
            self.shell.info("Click model history", "Save the session as a project first: versions live in it.")
            return
        dialog = ClickHistoryDialog(clicks.versions(), clicks.in_use(), project.click_pinned, self.shell.parent)
        dialog.pin.toggled.connect(clicks.pin)
        if dialog.exec() == ClickHistoryDialog.DialogCode.Accepted and dialog.chosen is not None:
            clicks.roll_back(dialog.chosen)

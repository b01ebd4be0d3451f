"""Model > Click Model History: the click model's versions (each with its clicks to 85% IoU and the
model it replaced on the same objects), which one is in use, a pin that keeps keep learning from
swapping another in, and "Use This Version" to roll back (which pins)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QListWidget, QVBoxLayout, QWidget

from fcn_studio.project.click_models import ClickVersion


class ClickHistoryDialog(QDialog):
    def __init__(self, versions: list[ClickVersion], in_use: ClickVersion | None, pinned: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Click Model History")
        self.versions = list(reversed(versions))  # newest first
        self.chosen: int | None = None
        layout = QVBoxLayout(self)
        start = "the start model made on this computer" if in_use is None else f"v{in_use.version}"
        layout.addWidget(QLabel(f"In use: {start}. Scores are mean clicks to 85% IoU on the project's validation "
                                "objects (fewer is better), with the replaced model's on the same objects."))
        self.list = QListWidget()
        for v in self.versions:
            self.list.addItem(v.brief() + ("  (in use)" if in_use is not None and v.version == in_use.version else ""))
        if not self.versions:
            self.list.addItem("No versions yet: the click model learns while keep learning runs.")
            self.list.setEnabled(False)
        layout.addWidget(self.list)
        self.pin = QCheckBox("Pin: keep learning records new versions but does not swap them in")
        self.pin.setChecked(pinned)
        layout.addWidget(self.pin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.use = buttons.addButton("Use This Version", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use.setEnabled(bool(self.versions))
        self.use.clicked.connect(self._use)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _use(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.versions):
            self.chosen = self.versions[row].version
            self.accept()

"""The Keep learning part of the training panel: the switch (remembered per project), what the loop is
doing, which model is in use and what it replaced; and, in `versions` (placed lower in the panel, so at
1280 x 720 Start, the progress and the plot stay in view above it), the history of swaps, what is kept,
pin and roll back."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.project.version_pruning import RETENTION, RETENTION_DETAIL
from fcn_studio.workspace import ModelVersion


class KeepLearningBox(QGroupBox):
    switched = Signal(bool)
    pinned = Signal(bool)
    rollback_requested = Signal(int)  # version

    def __init__(self) -> None:
        super().__init__("Keep learning")
        self.switch = QCheckBox("Keep learning while I correct")
        self.switch.setToolTip("Trains in the background for as long as the project is open, and swaps in each "
                               "model that validates better. Your masks are never replaced.")
        self.switch.toggled.connect(self.switched)
        self.state = QLabel("off")
        self.state.setWordWrap(True)
        self.in_use = QLabel("")
        self.in_use.setWordWrap(True)
        self.pin = QCheckBox("Pin the model in use (no more swaps)")
        self.pin.toggled.connect(self.pinned)
        self.history = QListWidget()
        self.history.setMaximumHeight(90)
        self.retention = QLabel(RETENTION)  # models/keep/ stays bounded: say what is kept
        self.retention.setWordWrap(True)
        self.retention.setToolTip(RETENTION_DETAIL)
        self.roll_back = QPushButton("Use this version")
        self.roll_back.setEnabled(False)
        self.history.currentItemChanged.connect(lambda item, _: self.roll_back.setEnabled(item is not None))
        self.roll_back.clicked.connect(self._roll_back)
        layout = QVBoxLayout(self)  # one column: the panel must fit a narrow dock
        layout.addWidget(self.switch)
        layout.addWidget(self.state)
        layout.addWidget(self.in_use)
        self.versions: QWidget = QGroupBox("Keep learning: versions")
        below = QVBoxLayout(self.versions)
        below.addWidget(self.history)
        below.addWidget(self.retention)
        below.addWidget(self.roll_back)
        below.addWidget(self.pin)

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 - the versions go with the switch
        super().setEnabled(enabled)
        self.versions.setEnabled(enabled)

    def show_history(self, versions: list[ModelVersion]) -> None:
        self.history.clear()
        for v in reversed(versions):  # newest first
            self.add_version(v, at_end=True)

    def add_version(self, version: ModelVersion, at_end: bool = False) -> None:
        item = QListWidgetItem(f"{time.strftime('%H:%M', time.localtime(version.time))}  {version.brief()}")
        item.setToolTip(version.describe())
        item.setData(Qt.ItemDataRole.UserRole, version.version)
        if at_end:
            self.history.addItem(item)
        else:
            self.history.insertItem(0, item)

    def show_in_use(self, version: ModelVersion | None) -> None:
        self.in_use.setText("" if version is None else f"In use: {version.describe()}")

    def _roll_back(self) -> None:
        item = self.history.currentItem()
        if item is not None:
            self.rollback_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

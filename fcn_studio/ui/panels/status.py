"""The status bar: device, model, image size, zoom and what is under the cursor, plus the progress
of a running "predict all" with its count, ETA and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStatusBar, QWidget


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


class BatchProgress(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.label = QLabel()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.bar, self.cancel):
            layout.addWidget(w)
        self.hide()

    def start(self, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(0)
        self.label.setText(f"Predicting 0 / {total}")
        self.show()

    def progress(self, done: int, total: int, eta: float) -> None:
        self.bar.setValue(done)
        self.label.setText(f"Predicting {done} / {total}, {format_eta(eta)} left")


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hover = QLabel()
        self.size = QLabel()
        self.zoom = QLabel()
        self.model = QLabel("no model")
        self.device = QLabel()
        self.batch = BatchProgress()
        self.addWidget(self.hover, 1)
        for w in (self.batch, self.size, self.zoom, self.model, self.device):
            self.addPermanentWidget(w)

    def set_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")

    def set_size(self, width: int | None, height: int | None) -> None:
        self.size.setText(f"{width} x {height}" if width else "")

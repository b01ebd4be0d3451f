"""The status bar: device, model, image size, zoom and what is under the cursor, plus the progress
of a running "predict all" with its count, ETA and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QStyle,
    QStyleOption,
    QWidget,
)

GAP = 16  # between a message and the fields at the right


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

    def paintEvent(self, event) -> None:  # noqa: N802
        """A message too long for its room ends in "..." a gap before the fields at the right (Qt cuts
        it mid-letter against the first field); the whole of it stays the current message."""
        message = self.currentMessage()
        if not message:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        fields = [w for w in (self.batch, self.size, self.zoom, self.model, self.device) if w.isVisible()]
        for field in fields:  # their frames, as QStatusBar draws them
            option.rect = field.geometry().adjusted(-1, -1, 1, 1)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, option, painter, field)
        right = min([f.x() for f in fields if f.width() > 0] + [self.width()]) - GAP
        room = QRect(6, 0, max(0, right - 6), self.height())
        painter.setPen(self.palette().windowText().color())
        painter.drawText(room, Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter,
                         self.fontMetrics().elidedText(message, Qt.TextElideMode.ElideRight, room.width()))

    def set_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")

    def set_size(self, width: int | None, height: int | None) -> None:
        self.size.setText(f"{width} x {height}" if width else "")

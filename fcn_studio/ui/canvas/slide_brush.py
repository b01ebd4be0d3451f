"""The Brush and Eraser on a whole slide: the drag is drawn as a path in the class's colour while the
button is down (nothing is read or written during it), and on release it becomes one stroke of the
slide's label editor (workspace.slide_editing): journalled at once, its region redrawn. The brush's
size is in screen pixels, as in QuPath, so at any zoom it paints what it covers on screen."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from fcn_studio.core.labels import IGNORE_INDEX


class SlideBrush:
    def __init__(self, workspace, canvas, panel) -> None:
        self.workspace, self.canvas, self.panel = workspace, canvas, panel
        self.points: list[tuple[float, float]] = []
        self._value = 0
        self._name = "brush"
        self.path = QGraphicsPathItem()
        self.path.setZValue(9)
        canvas.scene().addItem(self.path)

    @property
    def active(self) -> bool:
        return bool(self.points)

    def diameter(self) -> float:
        """The brush in slide (level-0) pixels: the panel's size on screen at the present zoom."""
        return self.panel.size.value() / max(self.canvas.zoom, 1e-6)

    def press(self, pos: QPointF, value: int, erase: bool) -> None:
        self._value, self._name = value, "eraser" if erase else "brush"
        self.points = [(pos.x() - 0.5, pos.y() - 0.5)]
        labels = self.workspace.labels
        rgb = (255, 255, 255) if erase or value == IGNORE_INDEX or labels is None or value >= len(labels) \
            else labels.colors[value]
        pen = QPen(QColor(*rgb, 160), self.diameter())
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self.path.setPen(pen)
        self._draw()

    def move(self, pos: QPointF) -> None:
        if self.points:
            self.points.append((pos.x() - 0.5, pos.y() - 0.5))
            self._draw()

    def release(self, preserve) -> bool:
        """The stroke goes to the slide's labels; whether a pixel changed."""
        points, self.points = self.points, []
        slide = self.workspace.slide
        edit = None
        if slide is not None and points:
            edit = slide.paint(points, self.diameter(), self._value, preserve, self._name)
        self.path.setPath(QPainterPath())
        return edit is not None

    def cancel(self) -> None:
        self.points = []
        self.path.setPath(QPainterPath())

    def _draw(self) -> None:
        path = QPainterPath()
        x, y = self.points[0]
        path.moveTo(x + 0.5, y + 0.5)
        path.lineTo(x + 0.5, y + 0.5001)  # a click alone shows a dot
        for x, y in self.points[1:]:
            path.lineTo(x + 0.5, y + 0.5)
        self.path.setPath(path)

"""The class panel: each class with its colour and a visibility toggle ("show only" on the context
menu and by double-click), the overlay opacity, the overlay on/off, and the view mode."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.labels import LabelSet

BACKGROUND_NAMES = ("background", "bg")
MIN_ROWS = 6  # the class list never shrinks below this many rows (it grows with its dock)
MODES = (("fill", "Classes (filled)"), ("outline", "Classes (outlines)"), ("confidence", "Model confidence"))


def swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*rgb))
    return QIcon(pix)


def hatch_swatch(size: int = 14) -> QIcon:
    """The unlabelled legend: light and dark diagonal lines over grey, like the canvas's hatch."""
    pix = QPixmap(size, size)
    pix.fill(QColor(150, 150, 150))
    painter = QPainter(pix)
    for colour, shift in ((QColor(235, 235, 235), 0), (QColor(40, 40, 40), 1)):
        painter.setPen(QPen(colour, 1))
        for d in range(-size, size, 5):
            painter.drawLine(d + shift, size, d + shift + size, 0)
    painter.end()
    return QIcon(pix)


class ClassPanel(QWidget):
    visibility_changed = Signal(list)  # list[bool], one per class
    opacity_changed = Signal(float)
    overlay_toggled = Signal(bool)
    mode_changed = Signal(str)
    unlabelled_toggled = Signal(bool)  # whether unlabelled (ignore) pixels are drawn hatched

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemChanged.connect(lambda _item: self._emit_visibility())
        self.list.itemDoubleClicked.connect(lambda item: self.show_only(self.list.row(item)))
        self.overlay_box = QCheckBox("Show overlay")
        self.overlay_box.setChecked(True)
        self.overlay_box.toggled.connect(self.overlay_toggled)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        self.mode = QComboBox()
        for key, text in MODES:
            self.mode.addItem(text, key)
        self.mode.currentIndexChanged.connect(lambda _i: self.mode_changed.emit(self.mode.currentData()))
        self.unlabelled_box = QCheckBox("unlabelled (hatched)")
        self.unlabelled_box.setIcon(hatch_swatch())
        self.unlabelled_box.setChecked(True)
        self.unlabelled_box.setToolTip("Pixels no class was given to (255, ignored in training) are hatched.\n"
                                       "A hidden class, such as the background, shows the image as it is.")
        self.unlabelled_box.toggled.connect(self.unlabelled_toggled)
        all_btn, none_btn = QPushButton("All"), QPushButton("None")
        all_btn.clicked.connect(lambda: self.set_all(True))
        none_btn.clicked.connect(lambda: self.set_all(False))

        row_height = max(self.list.fontMetrics().height(), 14) + 6
        self.list.setMinimumHeight(MIN_ROWS * row_height + 2 * self.list.frameWidth())

        layout = QVBoxLayout(self)
        row = QHBoxLayout()  # one line for the overlay switch and its opacity: the rows go to the classes
        row.addWidget(self.overlay_box)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        layout.addLayout(row)
        layout.addWidget(self.mode)
        layout.addWidget(self.unlabelled_box)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(all_btn)
        buttons.addWidget(none_btn)
        layout.addLayout(buttons)
        hint = QLabel("Double-click a class to show only it. A hidden class shows the image; unlabelled "
                      "pixels are hatched.")
        hint.setWordWrap(True)
        layout.addWidget(hint)

    def set_labels(self, labels: LabelSet) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, (name, rgb) in enumerate(zip(labels.names, labels.colors, strict=True)):
            item = QListWidgetItem(swatch(rgb), f"{i}  {name}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            # Background starts hidden (as in labelme) so the photo is not under a dark veil.
            hidden = name.lower().strip("_") in BACKGROUND_NAMES
            item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._emit_visibility()

    def visibility(self) -> list[bool]:
        return [self.list.item(i).checkState() == Qt.CheckState.Checked for i in range(self.list.count())]

    def set_visibility(self, visible: list[bool]) -> None:
        self.list.blockSignals(True)
        for i, v in enumerate(visible):
            self.list.item(i).setCheckState(Qt.CheckState.Checked if v else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._emit_visibility()

    def set_all(self, visible: bool) -> None:
        self.set_visibility([visible] * self.list.count())

    def show_only(self, row: int) -> None:
        self.set_visibility([i == row for i in range(self.list.count())])

    def toggle(self, row: int) -> None:
        vis = self.visibility()
        if 0 <= row < len(vis):
            vis[row] = not vis[row]
            self.set_visibility(vis)

    def _emit_visibility(self) -> None:
        self.visibility_changed.emit(self.visibility())

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            row = self.list.row(item)
            menu.addAction("Show only this class", lambda: self.show_only(row))
        menu.addAction("Show all classes", lambda: self.set_all(True))
        menu.addAction("Hide all classes", lambda: self.set_all(False))
        menu.exec(self.list.mapToGlobal(pos))

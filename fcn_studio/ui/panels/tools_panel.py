"""The tools panel: which tool, brush size (1..1000 px, also `[` and `]`), what the eraser leaves,
and which pixels a tool may change ("preserve labels"). The window starts in Navigate (as napari's
labels layer starts in pan/zoom): a click that only focuses the canvas never paints."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.editing.mask_editor import Preserve
from fcn_studio.core.labels import IGNORE_INDEX, LabelSet

# (key, name, shortcut): the one list the buttons, the Tools menu and Help > Keyboard Shortcuts read.
TOOLS = (("navigate", "Navigate", "H"), ("brush", "Brush", "B"), ("eraser", "Eraser", "E"), ("fill", "Fill", "G"),
         ("polygon", "Polygon", "P"), ("lasso", "Lasso", "L"), ("smart", "Smart box", "S"),
         ("click", "Click", "C"))
COLUMNS = 3
MAX_SIZE = 1000


def size_to_slider(size: int) -> int:
    """The slider is logarithmic: 1 to 1000 px with fine steps where brushes are small."""
    import math

    return int(round(1000 * math.log(max(size, 1)) / math.log(MAX_SIZE)))


def slider_to_size(value: int) -> int:
    return max(1, min(MAX_SIZE, int(round(MAX_SIZE ** (value / 1000)))))


class ToolsPanel(QWidget):
    tool_changed = Signal(str)
    size_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons = QButtonGroup(self)
        self.buttons.setExclusive(True)
        grid = QGridLayout()
        for i, (key, name, shortcut) in enumerate(TOOLS):
            b = QPushButton(f"{name} ({shortcut})")
            b.setToolTip(f"{name} ({shortcut})")
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a tool button never takes the keys from the canvas
            b.setProperty("tool", key)
            self.buttons.addButton(b)
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
        self.buttons.buttons()[0].setChecked(True)
        self.buttons.buttonClicked.connect(lambda b: self.tool_changed.emit(b.property("tool")))
        self.size = QSpinBox()
        self.size.setRange(1, MAX_SIZE)
        self.size.setSuffix(" px")
        self.size.setValue(20)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(size_to_slider(20))
        self.slider.valueChanged.connect(lambda v: self.size.setValue(slider_to_size(v)))
        self.size.valueChanged.connect(self._size_changed)
        self.eraser = QComboBox()
        self.eraser.addItem(f"unlabelled (ignore, {IGNORE_INDEX})", IGNORE_INDEX)  # the project's, once set
        self.eraser.addItem("background (class 0)", 0)
        self.preserve = QComboBox()
        self.current = QLabel()
        form = QFormLayout()
        form.addRow("Size", self.size)
        form.addRow("", self.slider)
        form.addRow("Eraser leaves", self.eraser)
        form.addRow("Paint over", self.preserve)
        form.addRow("Class", self.current)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(form)
        hint = QLabel("Number keys pick a class, Alt+click the one under the cursor; Enter closes a polygon or "
                      "paints the clicked object (Click: left = this, right = not this). Every key: F1.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addStretch(1)

    def set_labels(self, labels: LabelSet) -> None:
        self.eraser.setItemText(0, f"unlabelled (ignore, {labels.ignore_index})")
        self.eraser.setItemData(0, labels.ignore_index)
        self.preserve.clear()
        self.preserve.addItem("everything", ("off", 0))
        self.preserve.addItem("unlabelled pixels only", ("unlabelled", 0))
        for i, name in enumerate(labels.names):
            self.preserve.addItem(f"'{name}' only", ("class", i))

    def preserve_rule(self) -> Preserve:
        mode, cls = self.preserve.currentData() or ("off", 0)
        return Preserve(mode, cls)

    def tool(self) -> str:
        checked = self.buttons.checkedButton()
        return checked.property("tool") if checked else TOOLS[0][0]

    def set_tool(self, key: str) -> None:
        for b in self.buttons.buttons():
            if b.property("tool") == key:
                b.setChecked(True)
        self.tool_changed.emit(key)

    def grow(self, factor: float) -> None:
        size = self.size.value()
        new = int(round(size * factor)) if factor > 1 else int(size * factor)
        self.size.setValue(max(1, min(MAX_SIZE, new if new != size else size + (1 if factor > 1 else -1))))

    def _size_changed(self, size: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(size_to_slider(size))
        self.slider.blockSignals(False)
        self.size_changed.emit(size)

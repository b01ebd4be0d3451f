"""Dialogs: editing the label set (add, rename, recolour, reorder, delete, asking what becomes of a
deleted class's pixels) and choosing a new model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.labels import VOC_COLORMAP, LabelSet
from fcn_studio.ui.panels.class_panel import swatch


def ok_cancel(dialog: QDialog) -> QDialogButtonBox:
    """The OK / Cancel row every dialog here ends with, wired to accept and reject."""
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


ORIGINAL = Qt.ItemDataRole.UserRole + 1  # the class's index in the label set being edited (None if new)
COLOUR = Qt.ItemDataRole.UserRole + 2


class LabelEditor(QDialog):
    """Returns, through `result_labels()` and `mapping()`, the new label set and old -> new indices."""

    def __init__(self, labels: LabelSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit classes")
        self.original = labels
        self.deleted: dict[int, int | None] = {}  # old index -> old index its pixels go to (None: ignore)
        self.list = QListWidget()
        for i, (name, rgb) in enumerate(zip(labels.names, labels.colors, strict=True)):
            self._add_item(name, rgb, i)
        buttons = QHBoxLayout()
        for text, slot in (("Add", self.add), ("Rename", self.rename), ("Colour", self.recolour),
                           ("Up", lambda: self.move(-1)), ("Down", lambda: self.move(1)), ("Delete", self.delete)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(ok_cancel(self))

    def _add_item(self, name: str, rgb, original: int | None) -> QListWidgetItem:
        item = QListWidgetItem(swatch(tuple(rgb)), name)
        item.setData(ORIGINAL, original)
        item.setData(COLOUR, list(rgb))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def add(self, name: str | None = None) -> None:
        name = name or f"class_{self.list.count()}"
        self.list.setCurrentItem(self._add_item(name, VOC_COLORMAP[self.list.count() % len(VOC_COLORMAP)], None))

    def rename(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def recolour(self, colour: QColor | None = None) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        colour = colour or QColorDialog.getColor(QColor(*item.data(COLOUR)), self, "Class colour")
        if colour.isValid():
            rgb = [colour.red(), colour.green(), colour.blue()]
            item.setData(COLOUR, rgb)
            item.setIcon(swatch(tuple(rgb)))

    def move(self, delta: int) -> None:
        row = self.list.currentRow()
        new = row + delta
        if row < 0 or not 0 <= new < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(new, item)
        self.list.setCurrentRow(new)

    def delete(self, target: str | None = None) -> None:
        """Asks what the class's pixels become: unlabelled (ignore) or another class."""
        row = self.list.currentRow()
        if row < 0 or self.list.count() == 1:
            return
        item = self.list.item(row)
        others = [self.list.item(i).text() for i in range(self.list.count()) if i != row]
        choices = ["unlabelled (ignore)"] + others
        if target is None:
            target, ok = QInputDialog.getItem(self, "Delete class", f"Pixels of '{item.text()}' become:",
                                              choices, 0, False)
            if not ok:
                return
        dest = None
        if target in others:
            dest_item = next(self.list.item(i) for i in range(self.list.count()) if self.list.item(i).text() == target)
            dest = dest_item.data(ORIGINAL)
        if item.data(ORIGINAL) is not None:
            self.deleted[item.data(ORIGINAL)] = dest
        self.list.takeItem(row)

    def result_labels(self) -> LabelSet:
        items = [self.list.item(i) for i in range(self.list.count())]
        return LabelSet(tuple(it.text() for it in items), tuple(tuple(it.data(COLOUR)) for it in items),
                        self.original.ignore_index)

    def mapping(self) -> dict[int, int]:
        new_index = {self.list.item(i).data(ORIGINAL): i for i in range(self.list.count())
                     if self.list.item(i).data(ORIGINAL) is not None}
        out = {old: new for old, new in new_index.items() if old != new}
        for old, dest in self.deleted.items():
            ignore = self.original.ignore_index  # a deleted class's pixels become unlabelled unless moved
            out[old] = new_index.get(dest, ignore) if dest is not None else ignore
        return out


class NewModelDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from fcn_studio.model_choices import ARCH_DESCRIPTIONS, ARCHS, BACKBONES, DILATED_ARCHS  # noqa: PLC0415

        self.setWindowTitle("New model")
        self.arch = QComboBox()
        for arch in ARCHS:
            self.arch.addItem(arch)
            self.arch.setItemData(self.arch.count() - 1, ARCH_DESCRIPTIONS[arch], Qt.ItemDataRole.ToolTipRole)
        self.arch.setCurrentText("fcn8s")
        self.backbone = QComboBox()
        self.backbone.addItems(BACKBONES)
        from fcn_studio.model.factory import default_backbone  # noqa: PLC0415 (the one default rule)

        self.backbone.setCurrentText(default_backbone())
        self._dilated = DILATED_ARCHS
        self.arch.currentTextChanged.connect(self._arch_changed)
        form = QFormLayout(self)
        form.addRow("Architecture", self.arch)
        form.addRow("Backbone", self.backbone)
        form.addRow(ok_cancel(self))

    def _arch_changed(self, arch: str) -> None:
        """A dilated-ResNet FCN comes with its own backbone: the choice does not apply to it."""
        self.backbone.setEnabled(arch not in self._dilated)

    def chosen_backbone(self) -> str | None:
        return self.backbone.currentText() if self.backbone.isEnabled() else None

"""The Export and Import dialogs: the options a person chooses (the work itself is in transfer.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from fcn_studio.project.formats import ExportOptions, FormatError, detect_format
from fcn_studio.ui.dialogs.forms import ok_cancel

FORMAT_NAMES = (("voc", "Pascal VOC"), ("coco", "COCO (JSON)"), ("cityscapes", "Cityscapes (leftImg8bit + gtFine)"),
                ("masks", "Image + mask folders"), ("labelme", "labelme JSON"),
                ("geojson", "GeoJSON polygons (QuPath; whole slides too)"),
                ("ome-tiff", "Label OME-TIFFs (whole slides too)"))
EXPORT_ONLY = ("geojson", "ome-tiff")
IMPORT_NAMES = (*(f for f in FORMAT_NAMES if f[0] not in EXPORT_ONLY),
                ("matched", "Masks named like this project's images"))
WINDOW_HINT = "Choose the format in the Import dialog's Format list."
WHICH_NAMES = (("human", "Corrected and reviewed"), ("reviewed", "Reviewed only"), ("all", "All with a mask"))


def _folder_row(parent: QWidget, edit: QLineEdit, title: str) -> QHBoxLayout:
    row = QHBoxLayout()
    browse = QPushButton("Browse...")

    def choose() -> None:
        folder = QFileDialog.getExistingDirectory(parent, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    browse.clicked.connect(choose)
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


class ExportDialog(QDialog):
    def __init__(self, default_out: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.format = QComboBox()
        for key, text in FORMAT_NAMES:
            self.format.addItem(text, key)
        self.which = QComboBox()
        for key, text in WHICH_NAMES:
            self.which.addItem(text, key)
        self.val = QDoubleSpinBox()
        self.val.setRange(0, 0.9)
        self.val.setSingleStep(0.05)
        self.val.setValue(0.2)
        self.val.setToolTip("Images keep the project's stored train/val split, the one training uses; this "
                            "share only places images that split does not hold yet")
        self.link = QCheckBox("Link images instead of copying them")
        self.components = QCheckBox("COCO: one annotation per connected region")
        self.polygons = QCheckBox("COCO: polygons where exact (else RLE)")
        self.out = QLineEdit(str(default_out))
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Images", self.which)
        form.addRow("Validation share (new images)", self.val)
        form.addRow("", self.link)
        form.addRow("", self.components)
        form.addRow("", self.polygons)
        form.addRow("Output folder", _folder_row(self, self.out, "Export into"))
        form.addRow(ok_cancel(self))

    def request(self) -> tuple[str, Path, ExportOptions, dict]:
        fmt = self.format.currentData()
        options = ExportOptions(which=self.which.currentData(), val_fraction=self.val.value(),
                                link=self.link.isChecked())
        extra = {}
        if fmt == "coco":
            extra = {"per_component": self.components.isChecked(), "polygons": self.polygons.isChecked()}
        return fmt, Path(self.out.text()), options, extra


class ImportDialog(QDialog):
    """Where from and as what. It starts on the project's own `ground_truth/` when there is one (the
    sample project's true masks), and says what it recognises in the chosen folder as it is typed or
    browsed, so a wrong folder shows before the import starts."""

    def __init__(self, parent: QWidget | None = None, project=None, start: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import dataset")
        self.setMinimumWidth(620)  # the folder's whole path shows
        self.project = project
        self.source = QLineEdit()
        self.format = QComboBox()
        self.format.addItem("Recognise automatically", "auto")
        for key, text in IMPORT_NAMES:
            self.format.addItem(text, key)
        self.overwrite = QCheckBox("Replace masks a person already corrected")
        self.recognised = QLabel()
        self.recognised.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Dataset folder", _folder_row(self, self.source, "Import from"))
        form.addRow("", self.recognised)
        form.addRow("Format", self.format)
        form.addRow("", self.overwrite)
        form.addRow(ok_cancel(self))
        self.source.textChanged.connect(self._recognise)
        if start is None and project is not None and (project.root / "ground_truth").is_dir():
            start = project.root / "ground_truth"
        if start is not None:
            self.source.setText(str(start))

    def _recognise(self, text: str) -> None:
        """A folder's layout from its names alone (no image is read)."""
        if not text.strip() or not Path(text).exists():
            self.recognised.setText("")
            return
        try:
            fmt = detect_format(Path(text), self.project)
        except (FormatError, OSError) as exc:
            message = str(exc).split(": ", 1)[-1] if isinstance(exc, FormatError) else str(exc)
            self.recognised.setText(f"Not recognised: {message}. {WINDOW_HINT}")
            return
        self.recognised.setText(f"Recognised: {dict(IMPORT_NAMES)[fmt]}")

    def request(self) -> tuple[Path, str, bool]:
        return Path(self.source.text()), self.format.currentData(), self.overwrite.isChecked()

"""Export and import of datasets from the window: a dialog for the options, the work in the thread
pool with a progress dialog, and a report that names every problem (imports go on past them)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from fcn_studio.project.formats import ExportOptions, export_project, import_into
from fcn_studio.ui.dialogs import ok_cancel
from fcn_studio.ui.errors import show_error, show_info

FORMAT_NAMES = (("voc", "Pascal VOC"), ("coco", "COCO (JSON)"), ("masks", "Image + mask folders (Cityscapes-style)"),
                ("labelme", "labelme JSON"))
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
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import dataset")
        self.source = QLineEdit()
        self.format = QComboBox()
        self.format.addItem("Recognise automatically", "auto")
        for key, text in FORMAT_NAMES:
            self.format.addItem(text, key)
        self.overwrite = QCheckBox("Replace masks a person already corrected")
        form = QFormLayout(self)
        form.addRow("Dataset folder", _folder_row(self, self.source, "Import from"))
        form.addRow("Format", self.format)
        form.addRow("", self.overwrite)
        form.addRow(ok_cancel(self))

    def request(self) -> tuple[Path, str, bool]:
        return Path(self.source.text()), self.format.currentData(), self.overwrite.isChecked()


class _Progress(QObject):
    changed = Signal(int, int)  # emitted from the worker thread, delivered on the GUI thread


def run_with_progress(window, title: str, work, done) -> None:
    """`work(progress)` in the pool; a progress dialog on screen; `done(result)` on the GUI thread."""
    dialog = QProgressDialog(title, None, 0, 0, window)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    bridge = _Progress(dialog)  # lives as long as its dialog, so the worker's progress always has a receiver
    bridge.changed.connect(lambda d, t: (dialog.setMaximum(max(t, 1)), dialog.setValue(d)))

    def finished(result) -> None:
        dialog.close()
        done(result)

    def failed(message: str, details: str) -> None:
        dialog.close()
        show_error(window, title, message, details)

    window.background(lambda: work(bridge.changed.emit), finished, failed)


def export_dataset(window, fmt: str, out: Path, options: ExportOptions, extra: dict | None = None) -> None:
    project = window.project
    if project is None:
        return
    session = window.session

    def work(progress):
        session.flush()  # the newest corrections are part of the export (in the worker: no GUI stall)
        return export_project(project, fmt, out, options, progress, **(extra or {}))

    def done(count: int) -> None:
        window.status.showMessage(f"Exported {count} images to {out}", 15000)

    run_with_progress(window, "Exporting...", work, done)


def import_dataset(window, source: Path, fmt: str = "auto", overwrite: bool = False) -> None:
    project = window.project
    if project is None or project.temporary:
        show_error(window, "Import", "Open or create a project first: imported labels are stored in it.")
        return
    session = window.session

    def work(progress):
        if not session.flush():
            raise RuntimeError("some of your edits could not be saved; fix that before importing")
        return import_into(project, source, fmt, overwrite, progress)

    def done(report) -> None:
        if project is window.project:
            window.workspace.masks_rewritten()  # masks on disk changed: edit them afresh
        text = (f"{report.imported} masks imported; {report.skipped_existing} kept because a person had already "
                f"corrected them" + (f"; new classes: {', '.join(report.added_classes)}" if report.added_classes
                                     else "") + f"; {len(report.problems)} problems.")
        window.status.showMessage(text, 20000)
        window.workspace.imported.emit(report)
        if report.problems:
            show_error(window, "Import finished with problems", text, "\n".join(report.problems))
        else:
            show_info(window, "Import finished", text)

    run_with_progress(window, "Importing...", work, done)

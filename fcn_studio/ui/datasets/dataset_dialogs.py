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
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from fcn_studio.project.formats import (
    EXPORT_NOTES,
    ExportOptions,
    FormatError,
    OutsidePaths,
    UnknownLayout,
    detect_format,
    export_project,
    import_into,
)
from fcn_studio.ui.dialogs.forms import ok_cancel
from fcn_studio.ui.errors import show_error, show_info

FORMAT_NAMES = (("voc", "Pascal VOC"), ("coco", "COCO (JSON)"), ("cityscapes", "Cityscapes (leftImg8bit + gtFine)"),
                ("masks", "Image + mask folders"), ("labelme", "labelme JSON"))
IMPORT_NAMES = (*FORMAT_NAMES, ("matched", "Masks named like this project's images"))
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


def export_from_window(window) -> None:
    """File > Export Dataset...: from a project or a temporary session alike, into the folder used
    last time (remembered in the settings)."""
    project = window.project
    if project is None:
        show_error(window, "Export", "Open images or a project first: there is nothing to export yet.")
        return
    base = window.settings.value("export_folder")
    base = Path(base) if base else (Path.home() if project.temporary else project.root.parent)
    name = "fcn-studio-session" if project.temporary else project.name
    dialog = ExportDialog(base / f"{name}-export", window)
    if dialog.exec() == ExportDialog.DialogCode.Accepted:
        fmt, out, options, extra = dialog.request()
        window.settings.setValue("export_folder", str(out.parent))
        export_dataset(window, fmt, out, options, extra)


def import_from_window(window) -> None:
    dialog = ImportDialog(window, window.project)
    if dialog.exec() == ImportDialog.DialogCode.Accepted:
        source, fmt, overwrite = dialog.request()
        import_dataset(window, source, fmt, overwrite)


def export_dataset(window, fmt: str, out: Path, options: ExportOptions, extra: dict | None = None) -> None:
    project = window.project
    if project is None:
        return
    session = window.session

    def work(progress):
        session.flush()  # the newest corrections are part of the export (in the worker: no GUI stall)
        return export_project(project, fmt, out, options, progress, **(extra or {}))

    def done(count: int) -> None:
        note = f" ({EXPORT_NOTES[fmt]})" if fmt in EXPORT_NOTES else ""
        window.status.showMessage(f"Exported {count} images to {out}{note}", 15000)

    run_with_progress(window, "Exporting...", work, done)


def import_dataset(window, source: Path, fmt: str = "auto", overwrite: bool = False, outside: str = "ask") -> None:
    """Imports into the open project or session. Only the images the import wrote start editing afresh;
    every other image keeps its undo history. Image paths in the dataset's files that lead outside it
    are listed in a question first (nothing is imported before the answer)."""
    project = window.project
    if project is None:
        show_error(window, "Import", "Open a project (or some images) first: imported labels are stored with them.")
        return
    session = window.session

    def work(progress):
        if not session.flush():
            raise RuntimeError("some of your edits could not be saved; fix that before importing")
        try:
            return import_into(project, source, fmt, overwrite, progress, outside=outside)
        except UnknownLayout as exc:
            raise UnknownLayout(f"{exc}. {WINDOW_HINT}") from None
        except OutsidePaths as exc:
            return exc  # asked on the GUI thread, then imported again with the answer

    def done(report) -> None:
        if isinstance(report, OutsidePaths):
            listed = "\n".join(report.paths[:15]) + (f"\n... and {len(report.paths) - 15} more"
                                                     if len(report.paths) > 15 else "")
            follow = window.ask("Import: images outside the dataset",
                                f"The dataset's files name {len(report.paths)} image(s) outside {report.root}:\n\n"
                                f"{listed}\n\nImport these too? (No: they are left out and listed in the report.)")
            import_dataset(window, source, fmt, overwrite, "follow" if follow else "skip")
            return
        if project is window.project:
            gone = window.workspace.masks_imported(report.touched, bool(report.added_classes))
            if window.current_id is not None and window.current_id in gone:
                window.show_image(window.current_id)
        text = (f"{report.imported} masks imported; {report.skipped_existing} kept because a person had already "
                f"corrected them" + (f"; new classes: {', '.join(report.added_classes)}" if report.added_classes
                                     else "")
                + (f"; {report.same_content} images were already in the project (same content), not added again"
                   if report.same_content else "") + f"; {len(report.problems)} problems.")
        window.status.showMessage(text, 20000)
        window.workspace.imported.emit(report)
        notes = [f"note: {n}" for n in report.notes]
        if report.problems:
            show_error(window, "Import finished with problems", text, "\n".join(report.problems + notes))
        else:
            show_info(window, "Import finished", "\n".join([text, *notes[:6]]))

    run_with_progress(window, "Importing...", work, done)

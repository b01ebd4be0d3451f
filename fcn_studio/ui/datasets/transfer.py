"""Export and import of datasets in the window, built from (workspace, shell): the dialog for the
options, the work off the GUI thread with a progress dialog, and a report that names every problem
(imports go on past them). An import rewrites masks, so it is one of the workspace's long operations:
edits wait, pending ones are saved first, and only the images it wrote start editing afresh."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog

from fcn_studio.project.formats import (
    EXPORT_NOTES,
    ExportOptions,
    OutsidePaths,
    UnknownLayout,
    export_project,
    import_into,
)
from fcn_studio.ui.datasets.dataset_dialogs import WINDOW_HINT, ExportDialog, ImportDialog


class _Progress(QObject):
    changed = Signal(int, int)  # emitted from the worker thread, delivered on the GUI thread


class Datasets:
    """`reshow(image_id)`: shows an image again (the one on screen, when an import rewrote its mask)."""

    def __init__(self, workspace, shell, reshow: Callable[[int], None]) -> None:
        self.workspace, self.shell, self.reshow = workspace, shell, reshow

    def _with_progress(self, title: str, work, done, start=None) -> bool:
        """`work(progress)` off the GUI thread (through `start(fn, on_done, on_failed)`, the shell's
        background unless told); a progress dialog on screen; `done(result)` on the GUI thread."""
        dialog = QProgressDialog(title, None, 0, 0, self.shell.parent)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        bridge = _Progress(dialog)  # lives as long as its dialog: the worker's progress always has a receiver
        bridge.changed.connect(lambda d, t: (dialog.setMaximum(max(t or 0, 1)), dialog.setValue(d)))

        def finished(result) -> None:
            dialog.close()
            done(result)

        def failed(message: str, details: str) -> None:
            dialog.close()
            self.shell.error(title, message, details)

        started = (start or self.shell.background)(lambda: work(bridge.changed.emit), finished, failed)
        if started is False:
            dialog.close()
        return started is not False

    # -- export -------------------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        """File > Export Dataset...: from a project or a temporary session alike, into the folder used
        last time (remembered in the settings)."""
        project, settings = self.workspace.project, self.shell.settings
        if project is None:
            self.shell.error("Export", "Open images or a project first: there is nothing to export yet.")
            return
        base = settings.value("export_folder")
        base = Path(base) if base else (Path.home() if project.temporary else project.root.parent)
        name = "fcn-studio-session" if project.temporary else project.name
        dialog = ExportDialog(base / f"{name}-export", self.shell.parent)
        if dialog.exec() == ExportDialog.DialogCode.Accepted:
            fmt, out, options, extra = dialog.request()
            settings.setValue("export_folder", str(out.parent))
            self.export(fmt, out, options, extra)

    def export(self, fmt: str, out: Path, options: ExportOptions, extra: dict | None = None) -> None:
        project, editing = self.workspace.project, self.workspace.editing
        if project is None:
            return

        def work(progress):
            editing.flush()  # the newest corrections are part of the export (in the worker: no GUI stall)
            return export_project(project, fmt, out, options, progress, **(extra or {}))

        def done(count: int) -> None:
            note = f" ({EXPORT_NOTES[fmt]})" if fmt in EXPORT_NOTES else ""
            self.shell.status(f"Exported {count} images to {out}{note}", 15000)

        self._with_progress("Exporting...", work, done)

    # -- import -------------------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        dialog = ImportDialog(self.shell.parent, self.workspace.project)
        if dialog.exec() == ImportDialog.DialogCode.Accepted:
            source, fmt, overwrite = dialog.request()
            self.import_(source, fmt, overwrite)

    def import_(self, source: Path, fmt: str = "auto", overwrite: bool = False, outside: str = "ask") -> None:
        """Imports into the open project or session. Image paths in the dataset's files that lead outside
        it are listed in a question first (nothing is imported before the answer)."""
        ws, shell = self.workspace, self.shell
        project = ws.project
        if project is None:
            shell.error("Import", "Open a project (or some images) first: imported labels are stored with them.")
            return

        def work(progress):
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
                follow = shell.ask("Import: images outside the dataset",
                                   f"The dataset's files name {len(report.paths)} image(s) outside {report.root}:\n\n"
                                   f"{listed}\n\nImport these too? (No: they are left out and listed in the report.)")
                self.import_(source, fmt, overwrite, "follow" if follow else "skip")
                return
            if project is ws.project:
                gone = ws.masks_imported(report.touched, bool(report.added_classes))
                if ws.current_id is not None and ws.current_id in gone:
                    self.reshow(ws.current_id)
            text = (f"{report.imported} masks imported; {report.skipped_existing} kept because a person had already "
                    f"corrected them" + (f"; new classes: {', '.join(report.added_classes)}" if report.added_classes
                                         else "")
                    + (f"; {report.same_content} images were already in the project (same content), not added again"
                       if report.same_content else "") + f"; {len(report.problems)} problems.")
            shell.status(text, 20000)
            ws.imported.emit(report)
            notes = [f"note: {n}" for n in report.notes]
            if report.problems:
                shell.error("Import finished with problems", text, "\n".join(report.problems + notes))
            else:
                shell.info("Import finished", "\n".join([text, *notes[:6]]))

        def start(fn, on_done, on_failed) -> bool:
            return ws.long_operation("a dataset is being imported", fn, on_done, on_failed)

        if not self._with_progress("Importing...", work, done, start):
            shell.error("Import", f"Wait: {ws.busy}.")

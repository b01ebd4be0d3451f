"""The window's editing commands (undo, redo, marking, accept, clear, relabel, class choice) and its
reactions to edits (overlay patches, unsaved marks, failed saves). A mixin of MainWindow, kept apart
so the window file stays about layout and flow."""

from __future__ import annotations

from PySide6.QtCore import QRectF

from fcn_studio.core.labels import LabelSet
from fcn_studio.ui.errors import show_error


class EditingActions:
    def _mask_changed(self, rect) -> None:
        if not self.overlay_shown:
            return
        patch = self.overlay.update_rect(rect)
        if patch is not None:
            y0, x0, y1, x1 = patch
            self.canvas.update_overlay(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _dirty_changed(self, image_id: int, dirty: bool) -> None:
        self.image_list.model.set_unsaved(image_id, dirty)
        if image_id == self.current_id:
            self._update_title()

    def _save_failed(self, image_id: int, message: str) -> None:
        self.status.showMessage(f"Not saved: {message}", 0)
        show_error(self, "The mask could not be saved",
                   f"{message}\n\nYour edits are kept in memory and the image stays marked unsaved; it will "
                   f"be saved again after your next edit, or when you quit.")

    def _refresh_record(self, image_id: int) -> None:
        if self.project is not None and not self.project.closed:
            self.image_list.model.update_record(self.project.image(image_id))

    def _class_picked(self, index: int) -> None:
        labels = self.overlay.labels
        name = labels.names[index] if index < len(labels) else str(index)
        self.tools_panel.current.setText(f"{index}  {name}")
        self.tools.current_class = index

    def pick_class(self, index: int) -> None:
        if index < len(self.overlay.labels):
            self.tools.set_class(index)

    def _labels_changed(self, labels: LabelSet) -> None:
        self.overlay.set_labels(labels)
        self.class_panel.set_labels(labels)
        self.tools_panel.set_labels(labels)
        self._class_picked(min(self.tools.current_class, len(labels) - 1))

    def undo(self) -> None:
        edit = self.session.undo()
        self.status.showMessage(f"Undid {edit.name}" if edit else "Nothing to undo", 3000)

    def redo(self) -> None:
        edit = self.session.redo()
        self.status.showMessage(f"Redid {edit.name}" if edit else "Nothing to redo", 3000)

    def mark(self, state: str, then_next: bool = False) -> None:
        if self.session.mark(state):
            self.status.showMessage(f"Marked {state}", 3000)
        if then_next:
            self.image_list.next_unlabelled()

    def accept_prediction(self) -> None:
        """The model's prediction becomes the label: pasted back if it was edited, then marked corrected."""
        from fcn_studio.core.editing.tools import replace_all  # noqa: PLC0415

        editor = self.session.editor
        if editor is None:
            return
        if self._last_prediction is not None and self._last_prediction[0] == self.current_id:
            if replace_all(editor, self._last_prediction[1], "accept prediction"):
                self.session.operation_finished()
        self.mark("corrected")

    def clear_mask(self) -> None:
        from fcn_studio.core.editing.tools import replace_all  # noqa: PLC0415

        editor = self.session.editor
        if editor is not None and replace_all(editor, 255, "clear mask"):
            self.session.operation_finished()

    def relabel(self, source: int | None = None, target: int | None = None) -> None:
        """Class A becomes B inside the polygon being drawn (if any), else in the whole mask."""
        from PySide6.QtWidgets import QInputDialog  # noqa: PLC0415

        from fcn_studio.core.editing.tools import relabel  # noqa: PLC0415

        editor, names = self.session.editor, list(self.overlay.labels.names)
        if editor is None:
            return
        if source is None or target is None:
            a, ok = QInputDialog.getItem(self, "Relabel", "Change pixels of class:", names, 0, False)
            if not ok:
                return
            b, ok = QInputDialog.getItem(self, "Relabel", f"'{a}' becomes:", names, 0, False)
            if not ok:
                return
            source, target = names.index(a), names.index(b)
        points = self.tools.take_polygon()
        if relabel(editor, source, target, points if len(points) >= 3 else None):
            self.session.operation_finished()

    def _safe_to_close(self) -> bool:
        """Saves what is pending; if something cannot be saved, quitting needs a clear yes. A running
        training is stopped (its last checkpoint is kept)."""
        if self.training.running:
            self.training.process.stop()
        self.session.flush()
        dirty = self.session.dirty_ids()
        if not dirty:
            self.session.close()
            return True
        reasons = "".join(f"\n- image {i}: {self.session.failed.get(i, 'not saved yet')}" for i in dirty[:5])
        if self.ask("Quit without saving?", f"{len(dirty)} image(s) have edits that could not be saved:{reasons}"
                    f"\n\nQuit anyway and lose these edits?"):
            self.session.close()
            return True
        return False

    def edit_labels(self) -> None:
        from fcn_studio.ui.dialogs import LabelEditor  # noqa: PLC0415

        if self.project is None:
            return
        if not self.session.flush():
            show_error(self, "Cannot change the classes", "Some masks could not be saved; fix that first.")
            return
        dialog = LabelEditor(self.project.labels, self)
        if dialog.exec() != LabelEditor.DialogCode.Accepted:
            return
        try:
            labels = dialog.result_labels()
            self.project.change_labels(labels, dialog.mapping())
        except (ValueError, OSError) as exc:
            show_error(self, "Cannot change the classes", str(exc))
            return
        self.session.set_project(self.project)  # masks were rewritten: edit them afresh
        self._labels_changed(labels)
        if self.current_id is not None:
            self.show_image(self.current_id)

"""The window's editing commands (undo, redo, marking, accept, clear, relabel, class choice) and its
reactions to edits (overlay patches, unsaved marks, failed saves). A mixin of MainWindow, kept apart
so the window file stays about layout and flow."""

from __future__ import annotations

from PySide6.QtCore import QRectF

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import ProjectError
from fcn_studio.ui.errors import show_error
from fcn_studio.ui.menus import name_class_actions


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

    def _save_failed(self, image_id: int, message: str, first: bool = True) -> None:
        """A dialog for the first failure of an image; its automatic retries only update the status bar."""
        self.status.showMessage(f"Not saved: {message}", 0)
        if first:
            show_error(self, "The mask could not be saved",
                       f"{message}\n\nYour edits are kept and the image stays marked unsaved; saving is tried "
                       f"again by itself, and quitting asks before anything is lost.")

    def _refresh_record(self, image_id: int) -> None:
        if self.project is not None and not self.project.closed:
            try:
                record = self.project.image(image_id)
            except ProjectError:
                return  # saved in the project closed a moment ago (a session discarded for another)
            self.image_list.model.update_record(record)

    def _class_picked(self, index: int) -> None:
        labels = self.overlay.labels
        name = labels.names[index] if index < len(labels) else str(index)
        self.tools_panel.current.setText(f"{index}  {name}")
        self.tools.current_class = index

    def pick_class(self, index: int) -> None:
        if self.workspace.busy:  # the classes may be about to change: a number means nothing yet
            self.status.showMessage(f"Wait: {self.workspace.busy}.", 4000)
            return
        if index < len(self.overlay.labels):
            self.tools.set_class(index)

    def _labels_changed(self, labels: LabelSet) -> None:
        self.overlay.set_labels(labels)
        self.class_panel.set_labels(labels)
        self.tools_panel.set_labels(labels)
        name_class_actions(self, labels)
        self._class_picked(min(self.tools.current_class, len(labels) - 1))

    def undo(self) -> None:
        if self._not_ready():
            return
        edit = self.session.undo()
        self.status.showMessage(f"Undid {edit.name}" if edit else "Nothing to undo", 3000)

    def redo(self) -> None:
        if self._not_ready():
            return
        edit = self.session.redo()
        self.status.showMessage(f"Redid {edit.name}" if edit else "Nothing to redo", 3000)

    def _not_ready(self) -> bool:
        """Says why an edit of the current image must wait: it is still opening, or a long operation
        rewrites the masks. Never lets the edit reach another image."""
        ws = self.workspace
        if ws.current_id is None or ws.ready:
            return ws.current_id is None
        self.status.showMessage(f"Wait: {ws.busy}." if ws.busy else "Wait: the image is still opening.", 4000)
        return True

    def mark(self, state: str, then_next: bool = False) -> None:
        """Marks the image on screen; with `then_next`, moves on only once it is marked (a key pressed
        again while the next image opens marks nothing and skips nothing)."""
        if self._not_ready():
            return
        if self.session.mark(state):
            self.status.showMessage(f"Marked {state}", 3000)
        if then_next:
            self.next_uncorrected()

    def next_uncorrected(self) -> None:
        """Go > Next Uncorrected (and Mark Reviewed and Next); says so when there is none to go to."""
        if not self.image_list.next_uncorrected():
            self.status.showMessage("No other uncorrected (new or predicted) image in the list.", 5000)

    def accept_prediction(self) -> None:
        """The model's latest prediction for this image becomes the person's label (marked corrected).
        Over a person's mask it asks first; with no prediction it says so."""
        if self._not_ready():
            return
        editor, image_id, project = self.workspace.editor, self.current_id, self.project
        if editor is None or project is None:
            return
        cached = self._last_prediction
        if cached is not None and cached[0] == image_id:
            self._accept(image_id, cached[1])
            return

        def load():
            return project.load_prediction(image_id, editor.shape)

        def done(prediction) -> None:
            if image_id == self.current_id and project is self.project and self.workspace.ready:
                self._accept(image_id, prediction)

        self.background(load, done)

    def _accept(self, image_id: int, prediction) -> None:
        if prediction is None:
            self.status.showMessage("There is no prediction for this image yet: load a model, or Predict All "
                                    "(Ctrl+P).", 8000)
            return
        state = self.session.earned_state()
        if state in ("corrected", "reviewed") and not self.ask(
                "Accept the prediction?", f"This image is {state} by a person. Replace its mask with the model's "
                f"prediction? (Undo brings your mask back.)"):
            return
        editor = self.workspace.editor
        if editor is None or self.session.current_id != image_id:
            return
        if editor.in_operation:
            self.status.showMessage("Finish the stroke first, then accept the prediction.", 5000)
            return
        if self.session.replace_and_mark(prediction, "accept prediction", "corrected"):  # one undo step
            self.status.showMessage("Accepted the prediction: marked corrected", 4000)

    def clear_mask(self) -> None:
        from fcn_studio.core.editing.tools import replace_all  # noqa: PLC0415

        editor = self.workspace.editor
        if editor is not None and replace_all(editor, self.overlay.labels.ignore_index, "clear mask"):
            self.session.operation_finished()

    def relabel(self, source: int | None = None, target: int | None = None) -> None:
        """Class A becomes B inside the polygon being drawn (if any), else in the whole mask."""
        from PySide6.QtWidgets import QInputDialog  # noqa: PLC0415

        from fcn_studio.core.editing.tools import relabel  # noqa: PLC0415

        editor, names = self.workspace.editor, list(self.overlay.labels.names)
        if editor is None:
            self._not_ready()
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
        """Quitting never waits on the GUI thread: saves still in flight get a moment (the window
        closes by itself when they land; they are in the edit journal already). A save that failed
        needs the person's word. A running training is asked to stop and the window closes once it
        has ended (its last checkpoint is kept, and the run removes its training.lock; a backend
        destroyed with the window would be killed and leave both behind)."""
        if self.workspace.runs.active:  # a run or keep learning: every backend is asked to stop, then we close
            self.workspace.runs.stop_all(lambda: self.closed or self.close())
            self.status.showMessage("Stopping the training run before quitting (its last checkpoint is kept)...", 0)
            return False
        unsaved = self.session.unsaved()
        failed = self.session.failed
        if not unsaved:
            return True
        if not failed:
            self.session.saver.save_now()
            self.status.showMessage(f"Saving {len(unsaved)} image(s) before quitting...", 0)
            self._quit_wait.start()
            return False
        self._quit_wait.stop()
        names = {r.id: r.name for r in self.project.images()} if self.project is not None else {}
        reasons = "".join(f"\n- {names.get(i, i)}: {why}" for i, why in list(failed.items())[:5])
        kept = not self.session.only_in_memory()
        after = ("They are kept in the edit journal and will be restored the next time you open this project."
                 if kept else "Quitting now loses them.")
        if self.ask("Quit with unsaved edits?", f"{len(failed)} image(s) could not be saved:{reasons}\n\n{after}"
                    f"\n\nQuit anyway?"):
            return True
        return False

    def _quit_when_saved(self) -> None:
        if self.workspace.runs.active:
            return  # stopping: stop_all closes the window once every backend has ended
        unsaved = self.session.unsaved() if self.session.saver is not None else {}
        if not unsaved or self.session.failed:
            self._quit_wait.stop()
            self.close()

    def change_labels(self, labels: LabelSet, mapping: dict[int, int] | None, then=None) -> None:
        """New classes for the project, as the workspace's long operation (edits wait meanwhile); once
        the masks are rewritten, the image on screen is shown again and `then` runs."""
        if self.project is None:
            return

        def done(count: int) -> None:
            self.status.showMessage(f"Classes changed ({count} masks rewritten)", 5000)
            if self.current_id is not None:
                self.show_image(self.current_id, then)
            elif then is not None:
                then()

        if not self.workspace.change_labels(labels, mapping, done,
                                            lambda m, d: show_error(self, "Cannot change the classes", m, d)):
            show_error(self, "Cannot change the classes", f"Wait: {self.workspace.busy}.")
            return
        self.status.showMessage("Changing the classes: saving edits and rewriting the masks...", 0)

    def edit_labels(self) -> None:
        from fcn_studio.ui.dialogs.forms import LabelEditor  # noqa: PLC0415

        if self.project is None:
            return
        if self.session.failed:
            show_error(self, "Cannot change the classes", "Some masks could not be saved; fix that first.")
            return
        dialog = LabelEditor(self.project.labels, self)
        if dialog.exec() != LabelEditor.DialogCode.Accepted:
            return
        try:
            labels = dialog.result_labels()
        except ValueError as exc:
            show_error(self, "Cannot change the classes", str(exc))
            return
        self.change_labels(labels, dialog.mapping())

"""The editing commands of the Edit and Go menus (undo, redo, marking, accept, clear, relabel, class
choice, class change). Built from (workspace, shell) and the widgets they act on; every command acts
on the image the workspace has ready, or says why it waits, so an edit never reaches another image."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fcn_studio.core.labels import LabelSet

if TYPE_CHECKING:
    from fcn_studio.ui.canvas.overlay_state import OverlayState
    from fcn_studio.ui.canvas.tool_controller import ToolController
    from fcn_studio.ui.panels.image_list import ImageListPanel
    from fcn_studio.ui.panels.tools_panel import ToolsPanel
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace


class EditingCommands:
    """`reshow(image_id, then)` shows an image again (after its masks were rewritten)."""

    def __init__(self, workspace: Workspace, shell: Shell, overlay: OverlayState, tools: ToolController,
                 tools_panel: ToolsPanel, image_list: ImageListPanel,
                 reshow: Callable[[int, Callable[[], None] | None], None], slides=None) -> None:
        """`slides`: the SlideDisplay (Accept Prediction over the view of a whole slide)."""
        self.workspace, self.shell, self.overlay = workspace, shell, overlay
        self.slides = slides
        self.tools, self.tools_panel, self.image_list, self.reshow = tools, tools_panel, image_list, reshow
        self.session = workspace.editing
        self.last_prediction: tuple[int, np.ndarray] | None = None  # the model's latest for the shown image
        tools.class_picked.connect(self.class_picked)

    # -- the class being painted ------------------------------------------------------------------
    def class_picked(self, index: int) -> None:
        labels = self.overlay.labels
        name = labels.names[index] if index < len(labels) else str(index)
        self.tools_panel.current.setText(f"{index}  {name}")
        self.tools.current_class = index

    def pick_class(self, index: int) -> None:
        if self.workspace.busy:  # the classes may be about to change: a number means nothing yet
            self.shell.status(f"Wait: {self.workspace.busy}.", 4000)
            return
        if index < len(self.overlay.labels):
            self.tools.set_class(index)

    # -- undo and marking ----------------------------------------------------------------------------
    def undo(self) -> None:
        if self.tools.click_tool.remove_last():  # clicks not yet painted go first, as in CVAT's interactors
            self.shell.status("Took the last click back (Backspace does the same)", 3000)
            return
        if self.workspace.slide is not None and self.workspace.busy is None:  # a whole slide's strokes
            edit = self.workspace.slide.undo()
        elif self._not_ready():
            return
        else:
            edit = self.session.undo()
        self.shell.status(f"Undid {edit.name}" if edit else "Nothing to undo", 3000)

    def redo(self) -> None:
        if self.workspace.slide is not None and self.workspace.busy is None:
            edit = self.workspace.slide.redo()
        elif self._not_ready():
            return
        else:
            edit = self.session.redo()
        self.shell.status(f"Redid {edit.name}" if edit else "Nothing to redo", 3000)

    def _not_ready(self) -> bool:
        """Says why an edit of the current image must wait: it is still opening, or a long operation
        rewrites the masks. Never lets the edit reach another image."""
        ws = self.workspace
        if ws.current_id is None or ws.ready:
            return ws.current_id is None
        self.shell.status(f"Wait: {ws.busy}." if ws.busy else "Wait: the image is still opening.", 4000)
        return True

    def mark(self, state: str, then_next: bool = False) -> None:
        """Marks the image on screen; with `then_next`, moves on only once it is marked (a key pressed
        again while the next image opens marks nothing and skips nothing)."""
        if self._not_ready():
            return
        if self.session.mark(state):
            self.shell.status(f"Marked {state}", 3000)
        if then_next:
            self.next_uncorrected()

    def next_uncorrected(self) -> None:
        """Go > Next Uncorrected (and Mark Reviewed and Next); says so when there is none to go to."""
        if not self.image_list.next_uncorrected():
            self.shell.status("No other uncorrected (new or predicted) image in the list.", 5000)

    def undo_limit(self, megabytes: int | None = None) -> None:
        """How much memory undo history may hold, all images together (remembered between runs)."""
        settings = self.shell.settings
        if megabytes is None:
            from PySide6.QtWidgets import QInputDialog  # noqa: PLC0415

            current = int(settings.value("undo_limit_mb", 300))
            megabytes, ok = QInputDialog.getInt(self.shell.parent, "Undo memory limit", "Megabytes for undo history:",
                                                current, 16, 65536, 16)
            if not ok:
                return
        settings.setValue("undo_limit_mb", megabytes)
        self.session.set_undo_limit(megabytes)

    # -- whole-mask commands -------------------------------------------------------------------------
    def accept_prediction(self) -> None:
        """The model's latest prediction for this image becomes the person's label (marked corrected).
        Over a person's mask it asks first; with no prediction it says so. On a whole slide: the part in
        view, where nobody painted (slides, one undo step)."""
        if self.workspace.slide is not None and self.workspace.busy is None and self.slides is not None:
            self.slides.accept_prediction()
            return
        if self._not_ready():
            return
        ws = self.workspace
        editor, image_id, project = ws.editor, ws.current_id, ws.project
        if editor is None or project is None:
            return
        cached = self.last_prediction
        if cached is not None and cached[0] == image_id:
            self._accept(image_id, cached[1])
            return

        def done(prediction) -> None:
            if image_id == ws.current_id and project is ws.project and ws.ready:
                self._accept(image_id, prediction)

        self.shell.background(lambda: project.load_prediction(image_id, editor.shape), done)

    def _accept(self, image_id: int, prediction) -> None:
        if prediction is None:
            self.shell.status("There is no prediction for this image yet: load a model, or Predict All (Ctrl+P).",
                              8000)
            return
        state = self.session.earned_state()
        if state in ("corrected", "reviewed") and not self.shell.ask(
                "Accept the prediction?", f"This image is {state} by a person. Replace its mask with the model's "
                f"prediction? (Undo brings your mask back.)"):
            return
        editor = self.workspace.editor
        if editor is None or self.session.current_id != image_id:
            return
        if editor.in_operation:
            self.shell.status("Finish the stroke first, then accept the prediction.", 5000)
            return
        if self.session.replace_and_mark(prediction, "accept prediction", "corrected"):  # one undo step
            self.shell.status("Accepted the prediction: marked corrected", 4000)

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
            parent = self.shell.parent
            a, ok = QInputDialog.getItem(parent, "Relabel", "Change pixels of class:", names, 0, False)
            if not ok:
                return
            b, ok = QInputDialog.getItem(parent, "Relabel", f"'{a}' becomes:", names, 0, False)
            if not ok:
                return
            source, target = names.index(a), names.index(b)
        points = self.tools.take_polygon()
        if relabel(editor, source, target, points if len(points) >= 3 else None):
            self.session.operation_finished()

    # -- the project's classes -------------------------------------------------------------------------
    def change_labels(self, labels: LabelSet, mapping: dict[int, int] | None, then=None) -> None:
        """New classes for the project, as the workspace's long operation (edits wait meanwhile); once
        the masks are rewritten, the image on screen is shown again and `then` runs."""
        ws = self.workspace
        if ws.project is None:
            return

        def done(count: int) -> None:
            self.shell.status(f"Classes changed ({count} masks rewritten)", 5000)
            if ws.current_id is not None:
                self.reshow(ws.current_id, then)
            elif then is not None:
                then()

        if not ws.change_labels(labels, mapping, done,
                                lambda m, d: self.shell.error("Cannot change the classes", m, d)):
            self.shell.error("Cannot change the classes", f"Wait: {ws.busy}.")
            return
        self.shell.status("Changing the classes: saving edits and rewriting the masks...", 0)

    def edit_labels(self) -> None:
        from fcn_studio.ui.dialogs.forms import LabelEditor  # noqa: PLC0415

        project = self.workspace.project
        if project is None:
            return
        if self.session.failed:
            self.shell.error("Cannot change the classes", "Some masks could not be saved; fix that first.")
            return
        dialog = LabelEditor(project.labels, self.shell.parent)
        if dialog.exec() != LabelEditor.DialogCode.Accepted:
            return
        try:
            labels = dialog.result_labels()
        except ValueError as exc:
            self.shell.error("Cannot change the classes", str(exc))
            return
        self.change_labels(labels, dialog.mapping())

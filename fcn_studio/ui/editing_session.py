"""Per-image editing state for the window: one MaskEditor per recently edited image (undo survives
switching images, all sharing one memory budget), autosave after each finished operation, and which
images hold edits that are not on disk yet. Saves run in the autosaver's thread; their outcome
comes back here by queued signal."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from fcn_studio.core.editing.mask_editor import MaskEditor, Rect
from fcn_studio.core.editing.undo import Edit, UndoBudget
from fcn_studio.project.autosave import AutoSaver
from fcn_studio.project.project import Project

MAX_CLEAN_EDITORS = 12  # clean editors are only kept for their undo history


class EditingSession(QObject):
    dirty_changed = Signal(int, bool)  # image id, has unsaved edits
    save_failed = Signal(int, str)
    state_changed = Signal(int)  # the image's state in the project changed (saved, marked)
    _saved = Signal(int, int)  # from the autosave thread
    _failed = Signal(int, int, str)

    def __init__(self, undo_limit_mb: int = 300, autosave_delay: float = 0.3, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.budget = UndoBudget(undo_limit_mb * 2**20)
        self.autosave_delay = autosave_delay
        self.editors: OrderedDict[int, MaskEditor] = OrderedDict()
        self.saved_version: dict[int, int] = {}
        self.failed: dict[int, str] = {}
        self.project: Project | None = None
        self.saver: AutoSaver | None = None
        self.current_id: int | None = None
        self.on_change = None  # callable(Rect) for the current image, set by the window
        self._saved.connect(self._on_saved)
        self._failed.connect(self._on_failed)

    # -- project ------------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.close()
        self.project = project
        self.editors.clear()
        self.saved_version.clear()
        self.failed.clear()
        self.current_id = None
        if project is not None:
            self.saver = AutoSaver(project, self.autosave_delay, on_saved=self._saved.emit,
                                   on_failed=self._failed.emit)

    def close(self, timeout: float = 30.0) -> bool:
        ok = True
        if self.saver is not None:
            ok = self.saver.close(timeout)
            self.saver = None
        return ok

    def flush(self, timeout: float = 30.0) -> bool:
        return self.saver.flush(timeout) if self.saver is not None else True

    # -- editors ------------------------------------------------------------------------------------
    def open_image(self, image_id: int, mask_on_disk: np.ndarray | None, shape: tuple[int, int]) -> MaskEditor:
        """The editor for an image: the one in memory (with its undo history and any unsaved edits),
        or a new one on the mask from disk (or an unlabelled mask)."""
        self.current_id = image_id
        editor = self.editors.get(image_id)
        if editor is None or editor.shape != tuple(shape):
            mask = mask_on_disk if mask_on_disk is not None else np.full(shape, 255, np.uint8)
            editor = MaskEditor(np.ascontiguousarray(mask), self.budget, self._changed_for(image_id))
            self.editors[image_id] = editor
            self.saved_version[image_id] = editor.version
        self.editors.move_to_end(image_id)
        self._evict()
        return editor

    def adopt_prediction(self, image_id: int, labels: np.ndarray) -> MaskEditor | None:
        """A new prediction replaces the editor's mask only if nobody has edited it."""
        editor = self.editors.get(image_id)
        if editor is not None and (editor.stack.done or editor.stack.undone or self.is_dirty(image_id)):
            return None
        editor = MaskEditor(labels.copy(), self.budget, self._changed_for(image_id))
        self.editors[image_id] = editor
        self.saved_version[image_id] = editor.version
        return editor

    @property
    def editor(self) -> MaskEditor | None:
        return self.editors.get(self.current_id) if self.current_id is not None else None

    def _changed_for(self, image_id: int):
        def changed(rect: Rect) -> None:
            if image_id == self.current_id and self.on_change is not None:
                self.on_change(rect)
        return changed

    def _evict(self) -> None:
        clean = [i for i in self.editors if not self.is_dirty(i) and i != self.current_id]
        for image_id in clean[: max(0, len(clean) - MAX_CLEAN_EDITORS)]:
            self.budget.forget(self.editors.pop(image_id).stack)

    # -- saving -------------------------------------------------------------------------------------
    def is_dirty(self, image_id: int) -> bool:
        editor = self.editors.get(image_id)
        return editor is not None and editor.version != self.saved_version.get(image_id)

    def dirty_ids(self) -> list[int]:
        return [i for i in self.editors if self.is_dirty(i)]

    def operation_finished(self, image_id: int | None = None) -> None:
        image_id = self.current_id if image_id is None else image_id
        editor = self.editors.get(image_id)
        if editor is None or self.saver is None or not self.is_dirty(image_id):
            return
        self.saver.schedule(image_id, editor.mask, editor.version)
        self.dirty_changed.emit(image_id, True)

    def _on_saved(self, image_id: int, version: int) -> None:
        self.failed.pop(image_id, None)
        self.saved_version[image_id] = max(version, self.saved_version.get(image_id, -1))
        self.state_changed.emit(image_id)
        if not self.is_dirty(image_id):
            self.dirty_changed.emit(image_id, False)

    def _on_failed(self, image_id: int, version: int, message: str) -> None:
        self.failed[image_id] = message
        self.dirty_changed.emit(image_id, True)
        self.save_failed.emit(image_id, message)

    # -- undo and marking ---------------------------------------------------------------------------
    def undo(self) -> Edit | None:
        return self._replay(True)

    def redo(self) -> Edit | None:
        return self._replay(False)

    def _replay(self, undo: bool) -> Edit | None:
        editor = self.editor
        if editor is None:
            return None
        edit = editor.undo() if undo else editor.redo()
        if edit is None:
            return None
        if edit.state_after is not None and self.project is not None:
            self._set_state(edit.state_before if undo else edit.state_after)
        if edit.tiles:
            self.operation_finished()
        return edit

    def _set_state(self, state: str) -> None:
        """A state change that must not be overtaken by a save still queued (whose own state would
        land after it): then the change rides on a save of its own, queued behind that one."""
        image_id = self.current_id
        if self.saver is not None and image_id in self.saver.pending():
            editor = self.editors[image_id]
            self.saver.schedule(image_id, editor.mask, editor.version, delay=0, state=state)
        else:
            self.project.set_state(image_id, state)
            self.state_changed.emit(image_id)

    def mark(self, state: str) -> bool:
        """Marks the current image corrected or reviewed (an undo step). Never waits on the GUI
        thread: unsaved edits are saved in the background with the mark applied after them."""
        editor, project, image_id = self.editor, self.project, self.current_id
        if editor is None or project is None or image_id is None:
            return False
        current = project.image(image_id).state
        unsaved = not project.mask_path(image_id).exists() or self.is_dirty(image_id) \
            or image_id in self.saver.pending()
        # what the image is once its pending save has landed (a save keeps "reviewed", else "corrected")
        before = ("reviewed" if current == "reviewed" else "corrected") if unsaved else current
        if before == state:
            return False
        if unsaved:
            self.saver.schedule(image_id, editor.mask, editor.version, delay=0, state=state)
        else:
            project.set_state(image_id, state)
            self.state_changed.emit(image_id)
        editor.record_state(before, state)
        return True

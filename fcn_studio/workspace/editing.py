"""Per-image editing state, without Qt: one MaskEditor per recently edited image (undo survives
switching images, all sharing one memory budget). Every finished operation goes to the autosaver,
which journals it at once (durable at mouse release) and writes the PNG in its thread; the autosaver
is the one owner of what is unsaved or failed, and this class asks it rather than keeping a copy.
News from the autosaver's thread reaches listeners through `dispatch` (the GUI thread, in the app)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from fcn_studio.core.editing.mask_editor import MaskEditor, Rect
from fcn_studio.core.editing.undo import Edit, UndoBudget
from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.project.autosave import AutoSaver
from fcn_studio.project.project import Project
from fcn_studio.workspace.events import Event, call_now

MAX_CLEAN_EDITORS = 12  # clean editors are only kept for their undo history


class Editing:
    def __init__(self, undo_limit_mb: int = 300, autosave_delay: float = 0.3,
                 dispatch: Callable[[Callable[[], None]], None] = call_now) -> None:
        self.dirty_changed = Event()  # (image id, has unsaved edits)
        self.save_failed = Event()  # (image id, message, first failure of this image since it was saved)
        self.state_changed = Event()  # (image id): its state in the project changed (saved, marked)
        self.dispatch = dispatch
        self._reported: set[int] = set()  # images whose failure was announced and not saved since
        self.budget = UndoBudget(undo_limit_mb * 2**20)
        self.autosave_delay = autosave_delay
        self.editors: OrderedDict[int, MaskEditor] = OrderedDict()
        self.project: Project | None = None
        self.saver: AutoSaver | None = None
        self.current_id: int | None = None
        self.on_change = None  # callable(Rect) for the current image, set by the window
        self.locked: str | None = None  # a long operation rewrites the masks: undo and marks wait (why)

    # -- project ------------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.close()
        self.project = project
        for editor in self.editors.values():
            self.budget.forget(editor.stack)
        self.editors.clear()
        self.current_id = None
        if project is not None:
            self.saver = self._new_saver(project)

    def move_to(self, project: Project, timeout: float = 30.0) -> bool:
        """The same images, now in `project` (a copy of the open one, with the same image ids): the
        editors and their undo history stay; the saver is the new project's. False, and nothing moved,
        when the old project's pending edits could not be saved first."""
        old = self.saver
        if old is not None and not old.flush(timeout):
            return False
        self.close(timeout)
        self.project = project
        self.saver = self._new_saver(project)
        if old is not None:
            self.saver.adopt(old)
        return True

    def _new_saver(self, project: Project) -> AutoSaver:
        return AutoSaver(project, self.autosave_delay,
                         on_saved=lambda i, v: self.dispatch(lambda: self._on_saved(i, v)),
                         on_failed=lambda i, v, m: self.dispatch(lambda: self._on_failed(i, v, m)))

    def close(self, timeout: float = 30.0) -> bool:
        ok = True
        if self.saver is not None:
            ok = self.saver.close(timeout)
            self.saver = None
        return ok

    def flush(self, timeout: float = 30.0) -> bool:
        return self.saver.flush(timeout) if self.saver is not None else True

    def set_undo_limit(self, megabytes: int) -> None:
        """One memory limit for the undo history of every image; the oldest steps go first."""
        self.budget.limit = megabytes * 2**20
        self.budget.enforce()

    # -- editors ------------------------------------------------------------------------------------
    def open_image(self, image_id: int, mask_on_disk: np.ndarray | None, shape: tuple[int, int],
                   human: bool = False, origin: np.ndarray | None = None) -> MaskEditor:
        """The editor for an image: the one in memory (with its undo history and any unsaved edits),
        or a new one on the mask from disk: a person's (`human`), else a prediction or an unlabelled
        mask, which undoing every edit returns to (and the image to its model state)."""
        self.current_id = image_id
        editor = self.editors.get(image_id)
        if editor is None or editor.shape != tuple(shape):
            if mask_on_disk is None:
                mask_on_disk, origin = self.prepare(None, shape, human)
            editor = self._new_editor(image_id, np.ascontiguousarray(mask_on_disk), human, origin)
        self.editors.move_to_end(image_id)
        self._evict()
        return editor

    def prepare(self, mask_on_disk: np.ndarray | None, shape: tuple[int, int],
                human: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(the mask an editor starts on, the origin the autosaver compares with), made ahead: call it
        off the GUI thread and pass both to `open_image` (at 100 megapixels each costs ~0.4 s). An
        empty mask's origin is a read-only broadcast of the ignore index: no memory."""
        if mask_on_disk is None:
            ignore = self.project.labels.ignore_index if self.project is not None else IGNORE_INDEX
            return np.full(shape, ignore, np.uint8), np.broadcast_to(np.uint8(ignore), tuple(shape))
        mask = np.ascontiguousarray(mask_on_disk)
        return mask, (None if human else mask.copy())

    def adopt_prediction(self, image_id: int, labels: np.ndarray,
                         copy: np.ndarray | None = None) -> MaskEditor | None:
        """A new prediction replaces the editor's mask wherever its pixels are still the model's: never
        edited, or edited and undone (that history goes: its steps were over the old prediction). A
        person's pixels, saved or not, stay. `copy`: a copy of `labels` made ahead (off the GUI thread)
        for the editor to paint on."""
        editor = self.editors.get(image_id)
        if editor is not None and not self._models_pixels(image_id):
            return None
        if editor is not None:
            self.budget.forget(editor.stack)
        mask = labels.copy() if copy is None else copy
        return self._new_editor(image_id, mask, human=False, origin=labels)  # `labels` is never edited

    def prediction_stored(self, image_id: int) -> bool:
        """A new prediction is on disk for an image not on screen: an editor kept in memory on the old
        one goes (when its pixels are still the model's), so the image opens on the new one."""
        if image_id == self.current_id or image_id not in self.editors or not self._models_pixels(image_id):
            return False
        self.budget.forget(self.editors.pop(image_id).stack)
        if self.saver is not None:
            self.saver.forget(image_id)
        return True

    def _models_pixels(self, image_id: int) -> bool:
        """The image's editor holds what the model left, with nothing unsaved or half done."""
        editor = self.editors.get(image_id)
        return editor is not None and not editor.in_operation and not self.is_dirty(image_id) \
            and self.untouched(image_id)

    def _new_editor(self, image_id: int, mask: np.ndarray, human: bool,
                    origin: np.ndarray | None = None) -> MaskEditor:
        editor = MaskEditor(mask, self.budget, self._changed_for(image_id))
        self.editors[image_id] = editor
        if self.saver is not None:
            self.saver.track(image_id, editor.mask, editor.version, human, origin)
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
            if self.saver is not None:
                self.saver.forget(image_id)

    # -- saving -------------------------------------------------------------------------------------
    def unsaved(self) -> dict[int, str]:
        """Right now: image id -> why its edits are not on disk ("waiting", "saving" or the failure)."""
        return self.saver.unsaved() if self.saver is not None else {}

    def is_dirty(self, image_id: int) -> bool:
        editor = self.editors.get(image_id)
        return image_id in self.unsaved() or (editor is not None and editor.in_operation)

    def dirty_ids(self) -> list[int]:
        return sorted(self.unsaved())

    def untouched(self, image_id: int) -> bool:
        """No person's work on the image: its editor is where the model (or nothing) left it."""
        return self.saver is not None and self.saver.at_origin(image_id)

    def only_in_memory(self) -> set[int]:
        """Images whose unsaved edits are not in the edit journal either: quitting loses them."""
        return self.saver.only_in_memory() if self.saver is not None else set()

    @property
    def failed(self) -> dict[int, str]:
        return self.saver.failures() if self.saver is not None else {}

    def operation_finished(self, image_id: int | None = None, state: str | None = None,
                           delay: float | None = None, state_step: bool = False) -> None:
        """Records what the current operation changed: durable when this returns. `state_step`: a mark
        or its undo, recorded even when no pixel changed (`state` None: what the pixels earn)."""
        image_id = self.current_id if image_id is None else image_id
        editor = self.editors.get(image_id)
        if editor is None or self.saver is None:
            return
        tiles = editor.take_touched()
        if not tiles and state is None and not state_step:
            return
        self.saver.record(image_id, editor.mask, editor.version, tiles, state=state, delay=delay)
        self.dirty_changed.emit(image_id, True)

    def discard(self, image_id: int) -> None:
        """Gives up an image's unsaved edits (a person's choice when a save keeps failing)."""
        if self.saver is not None:
            self.saver.discard(image_id)
        editor = self.editors.pop(image_id, None)
        if editor is not None:
            self.budget.forget(editor.stack)
        self.dirty_changed.emit(image_id, False)

    def forget_images(self, image_ids) -> list[int]:
        """Masks on disk changed under these images' editors (an import wrote them): their editors and
        undo history go, so they are edited afresh from the new masks; every other image keeps its
        history. An image with edits not yet saved keeps its editor (those edits are newer than the
        import and win when saved). Returns the ids forgotten."""
        gone = []
        for image_id in image_ids:
            editor = self.editors.get(image_id)
            if editor is None or self.is_dirty(image_id):
                continue
            self.budget.forget(self.editors.pop(image_id).stack)
            if self.saver is not None:
                self.saver.forget(image_id)
            gone.append(image_id)
        return gone

    def _on_saved(self, image_id: int, version: int) -> None:
        self._reported.discard(image_id)
        self.state_changed.emit(image_id)
        if not self.is_dirty(image_id):
            self.dirty_changed.emit(image_id, False)

    def _on_failed(self, image_id: int, version: int, message: str) -> None:
        self.dirty_changed.emit(image_id, True)
        first = image_id not in self._reported
        self._reported.add(image_id)
        self.save_failed.emit(image_id, message, first)

    # -- undo and marking ---------------------------------------------------------------------------
    def undo(self) -> Edit | None:
        return self._replay(True)

    def redo(self) -> Edit | None:
        return self._replay(False)

    def _replay(self, undo: bool) -> Edit | None:
        editor = self.editor
        if editor is None or self.locked:
            return None
        edit = editor.undo() if undo else editor.redo()
        if edit is None:
            return None
        state = None
        if edit.state_after is not None:
            state = edit.state_before if undo else edit.state_after
            state = state if state in ("corrected", "reviewed") else None  # else: what the pixels earn
        if edit.tiles or edit.state_after is not None:
            marking = edit.state_after is not None
            self.operation_finished(state=state, delay=0 if marking else None, state_step=marking)
        return edit

    def earned_state(self) -> str:
        """The current image's state once what is queued has landed, marks aside."""
        image_id, project = self.current_id, self.project
        if self.saver.at_origin(image_id):
            return "predicted"
        queued = self.saver.pending_state(image_id)
        if queued is not None:
            return queued
        current = project.image(image_id).state
        if image_id in self.saver.unsaved() or not project.mask_path(image_id).exists():
            return "reviewed" if current == "reviewed" else "corrected"
        return current

    def replace_and_mark(self, values: np.ndarray, name: str, state: str = "corrected") -> bool:
        """The current mask becomes `values` and the image `state`, as one undo step (Accept
        Prediction: one Ctrl+Z brings back both the pixels and the state before)."""
        from fcn_studio.core.editing.tools import replace_all  # noqa: PLC0415

        editor = self.editor
        if editor is None or self.project is None or self.saver is None or self.locked or editor.in_operation:
            return False
        before = self.earned_state()
        if not replace_all(editor, values, name, None if before == state else (before, state)):
            return False
        self.operation_finished(state=state, delay=0, state_step=True)
        return True

    def mark(self, state: str) -> bool:
        """Marks the current image corrected or reviewed (an undo step). Never waits on the GUI
        thread: the mark is journalled and saved with the mask, in one step, in the background."""
        editor, image_id = self.editor, self.current_id
        if editor is None or self.project is None or image_id is None or self.saver is None or self.locked:
            return False
        before = self.earned_state()
        if before == state:
            return False
        editor.record_state(before, state)
        self.operation_finished(state=state, delay=0, state_step=True)
        return True

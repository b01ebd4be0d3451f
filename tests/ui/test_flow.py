"""The workspace owns the flow and the window only shows it: the races of issue 18, each driven as a
person would through the real window (offscreen), with real checkpoints, projects and thread pools."""

import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from fcn_studio.ui.tasks import run_in_background
from tests.ui.conftest import wait_for_image


def _project(tmp_path, photo_folder, name="proj", model=None):
    project = Project.create(tmp_path / name, SAMPLE_LABELS)
    project.add_images([photo_folder])
    if model is not None:
        project.set_model_path(model)
    project.close()
    return tmp_path / name


class Held:
    """Fills a thread pool with tasks that wait for `release()`, so the work queued after them waits
    too: a decode (or a class change) that takes as long as the test needs, on the real pool."""

    def __init__(self, window, pool) -> None:
        self.gate, self.started = threading.Event(), []
        for _ in range(pool.maxThreadCount()):
            run_in_background(self._wait, lambda _r: None, lambda _m, _d: None, pool)

    def _wait(self):
        self.started.append(1)
        self.gate.wait(30)

    def release(self) -> None:
        self.gate.set()


def _shown(window) -> bool:
    """The chosen image's editor takes edits."""
    return window.current_id is not None and window.session.current_id == window.current_id


def _busy(window) -> bool:
    return bool(getattr(window.workspace, "busy", None) or getattr(window, "changing_classes", False))


def _predicted(window, image_id):
    return window.project.load_prediction(image_id, (96, 128)) is not None


def test_accept_prediction_during_a_decode_never_writes_into_the_image_left_behind(qtbot, window, tmp_path,
                                                                                    photo_folder, tiny_checkpoint):
    window.opening.open_paths([_project(tmp_path, photo_folder, model=tiny_checkpoint)])
    wait_for_image(qtbot, window, "img_0.png")
    first, second = (r.id for r in window.project.images()[:2])
    qtbot.waitUntil(lambda: _predicted(window, first), timeout=20_000)
    window.image_list.select(second)
    qtbot.waitUntil(lambda: _predicted(window, second) and window.session.current_id == second, timeout=20_000)
    window.image_list.select(first)
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: window.session.current_id == first, timeout=10_000)

    held = Held(window, window.lanes.decode)  # the next image's decode waits (seconds on a 100-MP image)
    qtbot.waitUntil(lambda: len(held.started) == window.lanes.decode.maxThreadCount(), timeout=5000)
    window.image_list.select(second)
    assert window.current_id == second
    window.commands.accept_prediction()  # Ctrl+Shift+A before the new image shows
    window.commands.mark("reviewed", then_next=True)  # and a fast Ctrl+Enter
    window.lanes.slow.waitForDone(10_000)  # a wrongly started accept loads the prediction there...
    QApplication.processEvents()  # ...and would land now
    editor = window.session.editors[first]
    assert not editor.stack.done, "the image left behind was edited"
    assert window.session.dirty_ids() == []
    assert window.current_id == second  # nothing skipped
    held.release()
    qtbot.waitUntil(lambda: window.session.current_id == second, timeout=10_000)
    window.commands.accept_prediction()  # once shown, it goes to the image on screen
    qtbot.waitUntil(lambda: bool(window.session.editors[second].stack.done), timeout=10_000)
    assert not window.session.editors[first].stack.done


def test_a_model_that_fails_to_load_never_becomes_the_projects_model(qtbot, window, tmp_path, photo_folder,
                                                                     tiny_checkpoint, caplog):
    window.opening.open_paths([_project(tmp_path, photo_folder, model=tiny_checkpoint)])
    qtbot.waitUntil(lambda: window.worker.predictor is not None and window.status.model.text() == tiny_checkpoint.name,
                    timeout=20_000)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint at all")
    window.workspace.request_model(broken)
    assert window.project.model_path == tiny_checkpoint  # not while it loads
    qtbot.waitUntil(lambda: "Cannot load the model" in caplog.text, timeout=20_000)
    assert window.project.model_path == tiny_checkpoint
    assert window.workspace.model_path == tiny_checkpoint and window.worker.predictor is not None
    assert window.status.model.text() == tiny_checkpoint.name


def test_a_model_loading_when_the_project_switches_never_lands_in_the_next_one(qtbot, window, tmp_path,
                                                                              photo_folder, tiny_checkpoint):
    a = _project(tmp_path, photo_folder, "a", model=tiny_checkpoint)
    b = _project(tmp_path, photo_folder, "b")  # no model: its default is made in the background
    in_use = []
    window.workspace.model_changed.connect(lambda path, labels: in_use.append(path))
    window.opening.open_paths([a])  # its model starts loading in the worker...
    window.opening.open_paths([b])  # ...and the person has moved on
    b_root = window.project.root
    qtbot.waitUntil(lambda: window.workspace.model_path is not None, timeout=60_000)
    assert in_use and all(b_root in path.parents for path in in_use), in_use
    assert window.project.model_path.parent == b_root / "models"
    assert window.project.model_path.name.startswith("default-")  # a name of its own, never reused


def test_keys_wait_while_the_classes_are_rewritten(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project(tmp_path, photo_folder)])
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: _shown(window), timeout=10_000)
    image_id = window.current_id
    window.tools_panel.set_tool("brush")
    window.tools.set_class(1)
    editor = window.session.editor
    from fcn_studio.core.editing.tools import Stroke

    stroke = Stroke(editor, 1, 5)
    stroke.to(20, 20)
    stroke.to(60, 40)
    stroke.finish()
    window.session.operation_finished()
    assert len(editor.stack.done) == 1

    held = Held(window, window.lanes.slow)  # the class change's work waits behind these
    qtbot.waitUntil(lambda: len(held.started) == window.lanes.slow.maxThreadCount(), timeout=5000)
    labels = window.project.labels
    window.commands.change_labels(labels, {i: i for i in range(len(labels))})
    assert _busy(window)
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo
    QTest.keyClick(window, Qt.Key.Key_2)  # another class
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # mark reviewed
    window.commands.undo()
    window.commands.mark("reviewed")
    assert len(editor.stack.done) == 1 and not editor.stack.undone
    assert window.tools.current_class == 1
    assert window.session.undo() is None and window.session.mark("reviewed") is False
    held.release()
    qtbot.waitUntil(lambda: not _busy(window), timeout=20_000)
    qtbot.waitUntil(lambda: _shown(window) and window.current_id == image_id, timeout=10_000)
    QTest.keyClick(window, Qt.Key.Key_2)
    assert window.tools.current_class == 2  # keys work again


def test_a_failed_save_as_leaves_the_worker_and_editors_with_the_session(qtbot, window, tmp_path, photo_folder,
                                                                         read_only):
    window.answers = [False]  # not a project: an unsaved session
    window.opening.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: _shown(window), timeout=10_000)
    session = window.project
    generation = window.worker._generation
    editor = window.session.editor
    from fcn_studio.core.editing.tools import Stroke

    read_only(session.root / "masks")  # this edit cannot be saved: the session cannot move
    stroke = Stroke(editor, 1, 5)
    stroke.to(20, 20)
    stroke.to(60, 40)
    stroke.finish()
    window.session.operation_finished()
    qtbot.waitUntil(lambda: bool(window.session.failed), timeout=10_000)
    Project.create(tmp_path / "saved").close()
    copy = Project.open(tmp_path / "saved")
    assert window.workspace.continue_as(copy) is False
    assert window.project is session and window.worker.project is session
    assert window.worker._generation == generation  # nothing it had queued for the session was dropped
    copy.close()


def test_the_window_reads_the_flow_from_the_workspace(qtbot, window, tmp_path, photo_folder):
    """One holder: the window's current image is the workspace's, and no second copy drifts."""
    window.opening.open_paths([_project(tmp_path, photo_folder)])
    wait_for_image(qtbot, window, "img_0.png")
    assert window.current_id == window.workspace.current_id
    window.image_list.step(1)
    assert window.current_id == window.workspace.current_id
    assert np.all([not hasattr(window, name) for name in ("_load_token", "_loading", "changing_classes")])


def test_an_import_is_a_long_operation_that_edits_wait_for(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project(tmp_path, photo_folder)])
    wait_for_image(qtbot, window, "img_0.png")
    source = tmp_path / "masks"
    source.mkdir()
    held = Held(window, window.lanes.slow)
    qtbot.waitUntil(lambda: len(held.started) == window.lanes.slow.maxThreadCount(), timeout=5000)
    window.datasets.import_(source, "matched")
    assert window.workspace.busy == "a dataset is being imported" and window.workspace.editor is None
    assert not window.canvas.isEnabled() and not window.actions["undo"].isEnabled()
    held.release()
    qtbot.waitUntil(lambda: window.workspace.busy is None, timeout=20_000)
    assert window.canvas.isEnabled() and window.actions["undo"].isEnabled()

"""A person's labels in the window: Accept Prediction never replaces them silently, and changing the
classes keeps an edit made a moment before, without stalling the window."""

import numpy as np
from PySide6.QtCore import Qt

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from tests.ui.conftest import wait_for_image
from tests.ui.test_editing import drag


def _project(tmp_path, photo_folder, reviewed: bool):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    rec = project.images()[0]
    prediction = np.full((96, 128), 2, np.uint8)
    project.save_prediction(rec.id, prediction, np.ones((96, 128), np.float32), 0.5)
    if reviewed:
        project.save_mask(rec.id, np.full((96, 128), 1, np.uint8), "reviewed")
    project.close()
    return tmp_path / "proj", rec.id


def _open(qtbot, window, folder):
    window.opening.open_paths([folder])
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)


def test_accepting_the_prediction_over_a_reviewed_mask_asks_first(qtbot, window, tmp_path, photo_folder):
    folder, image_id = _project(tmp_path, photo_folder, reviewed=True)
    _open(qtbot, window, folder)
    asked = []
    window.shell.asker = lambda title, text: asked.append(text) or False  # "no"
    window.commands.accept_prediction()  # the stored prediction, not only one made in this session
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert "reviewed" in asked[0] and (window.overlay.mask == 1).all()
    window.shell.asker = lambda title, text: True  # "yes"
    window.commands.accept_prediction()
    qtbot.waitUntil(lambda: (window.overlay.mask == 2).all(), timeout=5000)
    assert window.session.flush(5)
    project = Project.open(folder)
    assert project.image(image_id).state == "corrected" and (project.load_mask(image_id) == 2).all()
    window.commands.undo()  # one step: the person's reviewed mask and its mark come back together
    assert window.session.flush(5)
    assert project.image(image_id).state == "reviewed" and (project.load_mask(image_id) == 1).all()
    assert (window.overlay.mask == 1).all()


def test_accept_prediction_is_one_undo_step(qtbot, window, tmp_path, photo_folder):
    folder, image_id = _project(tmp_path, photo_folder, reviewed=False)
    _open(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.commands.last_prediction is not None, timeout=60_000)  # the default model's
    prediction = window.commands.last_prediction[1]
    cls = 1 if prediction[10, 30] != 1 else 2
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{cls}"))
    drag(qtbot, window, [(10, 10), (60, 10)])  # a stroke, then the person thinks better of it
    window.answers = [True]  # "replace your mask?" yes
    window.commands.accept_prediction()
    qtbot.waitUntil(lambda: (window.overlay.mask == prediction).all(), timeout=5000)
    assert window.session.flush(5) and window.project.image(image_id).state == "corrected"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one Ctrl+Z undoes the accept
    assert window.session.flush(5)
    assert window.overlay.mask[10, 30] == cls  # the stroke is back
    assert window.project.image(image_id).state == "corrected"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the next one undoes the stroke
    assert window.session.flush(5)
    assert (window.overlay.mask == prediction).all() and window.project.image(image_id).state == "predicted"


def test_accept_prediction_says_when_there_is_none(qtbot, window, tmp_path, photo_folder):
    folder = Project.create(tmp_path / "empty", SAMPLE_LABELS)
    folder.add_images([photo_folder])
    folder.close()
    _open(qtbot, window, tmp_path / "empty")
    said = []  # every message, not only the last: the new project's model may report itself right after
    window.status.messageChanged.connect(said.append)
    window.commands.accept_prediction()
    qtbot.waitUntil(lambda: any("no prediction" in m for m in said), timeout=5000)
    assert window.project.image(window.current_id).state == "new"


def test_changing_classes_right_after_a_stroke_keeps_it_and_does_not_block(qtbot, window, tmp_path, photo_folder):
    folder, image_id = _project(tmp_path, photo_folder, reviewed=False)
    window.session.autosave_delay = 30  # the stroke's save is still waiting when the classes change
    _open(qtbot, window, folder)
    window.session.set_project(window.project)
    window.show_image(image_id)
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_3)
    qtbot.keyClick(window, Qt.Key.Key_B)
    window.tools_panel.size.setValue(5)
    drag(qtbot, window, [(10, 40), (60, 40)])
    assert window.session.unsaved()
    # drop "disc" (1 -> ignore), "box" 2 -> 1, "triangle" 3 -> 2
    window.commands.change_labels(LabelSet(("background", "box", "triangle")), {0: 0, 1: 255, 2: 1, 3: 2})
    assert not window.canvas.isEnabled()  # returned at once; the canvas waits for the change
    qtbot.waitUntil(lambda: window.canvas.isEnabled() and window.class_panel.list.count() == 3, timeout=20_000)
    project = Project.open(folder)
    mask = project.load_mask(image_id)
    assert mask[40, 30] == 2 and mask[80, 100] == 1  # the stroke (triangle) and the prediction (box), remapped
    assert (project.load_prediction(image_id) == 1).all()  # the prediction was remapped too

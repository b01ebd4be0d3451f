"""Editing in the real window: mouse strokes on the canvas, keys, undo, marking, saving (offscreen)."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.project import Project
from tests.ui.conftest import open_photo_project, overlay_pixels, wait_for_image


@pytest.fixture
def opened(qtbot, window, tmp_path, photo_folder):
    root = open_photo_project(qtbot, window, tmp_path, photo_folder)
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B)  # the person picks the brush: the window starts in Navigate
    return root


def at(window, x, y):
    return window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def drag(qtbot, window, points, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    vp = window.canvas.viewport()
    qtbot.mousePress(vp, button, modifier, at(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, at(window, *p))
    qtbot.mouseRelease(vp, button, modifier, at(window, *points[-1]))


def saved_mask(window, project_dir, index=0):
    assert window.session.flush(10)
    project = Project.open(project_dir)
    rec = project.images()[index]
    return project.load_mask(rec.id), project.image(rec.id).state


def test_a_brush_stroke_with_the_mouse_is_saved_as_a_png(qtbot, window, opened):
    qtbot.keyClick(window, Qt.Key.Key_2)  # class 2: box
    window.tools_panel.size.setValue(5)
    drag(qtbot, window, [(10, 40), (60, 40), (110, 41)])
    mask, state = saved_mask(window, opened)
    assert (mask[40, 12:108] == 2).all() and mask[10, 10] == 255 and state == "corrected"
    qtbot.waitUntil(lambda: not window.image_list.model.unsaved, timeout=5000)
    assert "*" not in window.windowTitle()
    px = overlay_pixels(window)
    assert px[40, 50] == (0xFF << 24) | (60 << 16) | (180 << 8) | 75  # the overlay shows it at once


def test_undo_and_redo_with_the_keyboard_reach_the_disk(qtbot, window, opened):
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(10, 10), (50, 10)])
    drag(qtbot, window, [(10, 60), (50, 60)])
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    mask, _ = saved_mask(window, opened)
    assert mask[10, 30] == 1 and mask[60, 30] == 255
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    mask, _ = saved_mask(window, opened)
    assert mask[60, 30] == 1
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # nothing left to redo
    assert "Nothing to redo" in window.status.currentMessage()


def test_undo_history_survives_switching_images(qtbot, window, opened):
    qtbot.keyClick(window, Qt.Key.Key_3)
    drag(qtbot, window, [(20, 20), (40, 20)])
    qtbot.keyClick(window, Qt.Key.Key_D)
    wait_for_image(qtbot, window, "img_1.png")
    qtbot.keyClick(window, Qt.Key.Key_A)
    wait_for_image(qtbot, window, "img_0.png")
    assert window.overlay.mask[20, 30] == 3
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    mask, state = saved_mask(window, opened)
    assert mask is None and state == "new"  # undone to nothing: no person's mask, and the state says so


def test_fill_polygon_eraser_and_alt_click(qtbot, window, opened):
    vp = window.canvas.viewport()
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_P)
    for p in [(10, 10), (60, 10), (60, 60), (10, 60)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at(window, *p))
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert window.overlay.mask[30, 30] == 1
    qtbot.keyClick(window, Qt.Key.Key_G)  # fill the unlabelled rest with class 2
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at(window, 100, 80))
    assert window.overlay.mask[90, 120] == 2 and window.overlay.mask[30, 30] == 1
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(window, 30, 30))
    assert window.tools.current_class == 1  # alt-click picked the class under the cursor
    qtbot.keyClick(window, Qt.Key.Key_B)
    window.tools_panel.size.setValue(9)
    drag(qtbot, window, [(30, 30), (40, 30)], button=Qt.MouseButton.RightButton)  # right-drag erases
    mask, _ = saved_mask(window, opened)
    assert mask[30, 35] == 255 and mask[50, 50] == 1 and mask[90, 120] == 2
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(window, 30, 35))
    assert window.tools.current_class == 1  # an unlabelled pixel is no class to pick


def test_lasso_and_preserve_unlabelled(qtbot, window, opened):
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.tools_panel.size.setValue(11)
    drag(qtbot, window, [(0, 50), (127, 50)])
    window.tools_panel.preserve.setCurrentIndex(1)  # unlabelled pixels only
    qtbot.keyClick(window, Qt.Key.Key_L)
    qtbot.keyClick(window, Qt.Key.Key_3)
    drag(qtbot, window, [(20, 20), (100, 20), (100, 80), (20, 80)])
    mask = window.overlay.mask
    assert mask[30, 60] == 3 and mask[50, 60] == 1  # the painted band survived the lasso


def test_brush_size_keys_and_footprint_cursor(qtbot, window, opened):
    window.tools_panel.size.setValue(20)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.tools_panel.size.value() == 25
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    assert window.tools_panel.size.value() == 20
    qtbot.mouseMove(window.canvas.viewport(), at(window, 40, 40))  # the pointer may already be at (50, 50):
    qtbot.mouseMove(window.canvas.viewport(), at(window, 50, 50))  # a move there alone would send no event
    assert window.tools.cursor.isVisible() and window.tools.cursor.rect().width() == 20


def test_marking_reviewed_is_undoable_and_flows_to_the_next_image(qtbot, window, opened):
    drag(qtbot, window, [(10, 10), (20, 10)])
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert saved_mask(window, opened)[1] == "reviewed"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert saved_mask(window, opened)[1] == "corrected"
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # mark reviewed, next
    wait_for_image(qtbot, window, "img_1.png")
    assert saved_mask(window, opened)[1] == "reviewed"


def test_clear_and_relabel(qtbot, window, opened):
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.tools_panel.size.setValue(15)
    drag(qtbot, window, [(10, 30), (120, 30)])
    window.commands.relabel(1, 2)
    assert window.overlay.mask[30, 60] == 2
    window.commands.clear_mask()
    mask, state = saved_mask(window, opened)
    assert mask is None and state == "new"  # cleared back to nothing labelled


def _open_one_object(qtbot, window, tmp_path):
    """A loose image with one yellow box on grey, opened for the session."""
    from PIL import Image

    folder = tmp_path / "obj"
    folder.mkdir()
    img = np.full((96, 128, 3), 40, np.uint8)
    img[30:70, 40:90] = (230, 210, 30)
    Image.fromarray(img).save(folder / "object.png")
    window.answers = [False]
    window.opening.open_paths([folder])
    wait_for_image(qtbot, window, "object.png")


def test_smart_box_selects_an_object(qtbot, window, tmp_path):
    _open_one_object(qtbot, window, tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_S)
    qtbot.keyClick(window, Qt.Key.Key_2)
    with qtbot.waitSignal(window.tools.operation_finished, timeout=10_000):
        drag(qtbot, window, [(30, 20), (100, 80)])
    sel = window.overlay.mask == 2
    assert sel[30:70, 40:90].mean() > 0.9 and sel.sum() < 1.2 * 40 * 50


def test_a_save_that_fails_says_so_keeps_the_edit_and_guards_quitting(qtbot, window, opened, read_only):
    read_only(opened / "masks")
    drag(qtbot, window, [(10, 10), (40, 10)])
    with qtbot.waitSignal(window.session.save_failed, timeout=10_000) as blocker:
        pass
    assert "read-only" in blocker.args[1]
    assert window.overlay.mask[10, 20] == 1  # the edit is still there
    assert window.image_list.model.unsaved and "*" in window.windowTitle()
    assert Project.open(opened).images()[0].state == "new"  # never marked saved
    window.answers = [False]  # "Quit without saving?" -> no
    window.close()
    assert window.isVisible()
    window.answers = [True]
    window.close()
    assert not window.isVisible()


def test_quitting_right_after_a_stroke_saves_it_and_closes_without_asking(qtbot, window, opened):
    window.session.autosave_delay = 5  # the pause has not come yet when the user quits
    window.session.set_project(window.project)
    window.show_image(window.current_id)
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)
    drag(qtbot, window, [(10, 10), (40, 10)])
    asked = []
    window.shell.asker = lambda title, text: asked.append(title) or False
    window.close()  # does not wait on the GUI thread: the window closes once the save has landed
    qtbot.waitUntil(lambda: window.closed, timeout=10_000)
    assert not window.isVisible() and asked == []  # everything was saved: nothing to ask
    project = Project.open(opened)
    assert read_mask(project.mask_path(project.images()[0].id))[10, 20] == 1


def test_polygon_can_erase_and_the_undo_limit_is_a_setting(qtbot, window, opened):

    vp = window.canvas.viewport()
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.tools_panel.size.setValue(30)
    drag(qtbot, window, [(10, 40), (120, 40)])
    qtbot.keyClick(window, Qt.Key.Key_P)
    for p in [(40, 20), (80, 20), (80, 60), (40, 60)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at(window, *p))
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert window.overlay.mask[40, 60] == 255 and window.overlay.mask[40, 20] == 1
    window.commands.undo_limit(64)
    assert window.session.budget.limit == 64 * 2**20 and int(window.settings.value("undo_limit_mb")) == 64


def test_undoing_a_mark_while_its_save_is_still_queued_wins(qtbot, window, opened):
    window.session.autosave_delay = 5  # the stroke's save is still waiting when the user marks and undoes
    window.session.set_project(window.project)
    window.show_image(window.current_id)
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)
    drag(qtbot, window, [(10, 10), (40, 10)])
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # mark reviewed: queued, no wait
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the mark
    mask, state = saved_mask(window, opened)
    assert state == "corrected" and mask[10, 20] == 1
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # redo it
    assert saved_mask(window, opened)[1] == "reviewed"


def test_a_smart_selection_arriving_mid_stroke_waits_for_the_stroke(qtbot, window, tmp_path):
    _open_one_object(qtbot, window, tmp_path)
    vp = window.canvas.viewport()
    qtbot.keyClick(window, Qt.Key.Key_S)
    qtbot.keyClick(window, Qt.Key.Key_2)
    drag(qtbot, window, [(30, 20), (100, 80)])  # the smart selection starts in the background
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(window, 5, 90))
    with qtbot.waitSignal(window.tools.busy, check_params_cb=lambda text: text == "", timeout=10_000):
        pass  # the selection's result arrives while the mouse button is still down
    editor = window.session.editor
    assert editor.in_operation and window.overlay.mask[30:70, 40:90].mean() != 2  # not applied mid-stroke
    qtbot.mouseMove(vp, at(window, 60, 90))
    qtbot.mouseMove(vp, at(window, 120, 90))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(window, 120, 90))
    mask = window.overlay.mask
    assert (mask[90, 8:118] == 1).all()  # the whole stroke, one piece
    assert (mask[30:70, 40:90] == 2).mean() > 0.9  # the selection, applied after it
    assert [e.name for e in editor.stack.done[-2:]] == ["brush", "smart selection"]
    assert not editor.in_operation
    window.commands.undo()
    assert (window.overlay.mask[30:70, 40:90] == 2).mean() < 0.1 and (window.overlay.mask[90, 8:118] == 1).all()


def test_a_mark_pressed_mid_stroke_leaves_the_rest_of_the_stroke_drawable(qtbot, window, opened):
    vp = window.canvas.viewport()
    qtbot.keyClick(window, Qt.Key.Key_1)
    window.tools_panel.size.setValue(5)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=at(window, 10, 20))
    qtbot.mouseMove(vp, at(window, 40, 20))
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # closes the open operation
    qtbot.mouseMove(vp, at(window, 80, 20))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=at(window, 80, 20))
    mask, state = saved_mask(window, opened)
    assert (mask[20, 8:82] == 1).all() and state == "reviewed"
    assert [e.name for e in window.session.editor.stack.done] == ["brush", "mark reviewed", "brush"]

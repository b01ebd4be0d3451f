"""The Click tool in a real window (offscreen): clicks answered off the GUI thread and outlined, the
last one taken back with Backspace, the object painted by Enter through "Paint over" as one undo step,
and a click model file that cannot be read turns the tool off in one line while the rest works."""

import numpy as np
from PySide6.QtCore import Qt

from fcn_studio.core.labels import IGNORE_INDEX
from tests.ui.canvas.test_canvas_clicks import at, drag
from tests.ui.conftest import open_photo_project


def _click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(window.canvas.viewport(), button, modifier, pos=at(window, x, y))


def _answered(tool):
    return tool.selection is not None and not tool._working


def _open_with(qtbot, window, tmp_path, photo_folder, click_model, model):
    # the model's first prediction gives the image a new editor: the clicks start after it
    with qtbot.waitSignal(window.worker.predicted, timeout=30_000):
        root = open_photo_project(qtbot, window, tmp_path, photo_folder, model)
    window.workspace.project.set_click_model_path(click_model)
    window.workspace.clicks.changed.emit(click_model)
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)
    window.tools_panel.set_tool("click")
    return root


def test_clicks_propose_an_object_backspace_takes_one_back_enter_paints_it_as_one_step(
        qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint):
    _open_with(qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint)
    tool = window.tools.click_tool
    editor = window.session.editor
    before = editor.mask.copy()
    _click(qtbot, window, 60, 40)
    qtbot.waitUntil(lambda: _answered(tool), timeout=20000)
    first = tool.selection.copy()
    assert not tool.outline.path().isEmpty() and len(tool.marks) == 1
    _click(qtbot, window, 20, 70, Qt.MouseButton.RightButton)  # "not this"
    qtbot.waitUntil(lambda: _answered(tool) and len(tool.answers) == 2, timeout=20000)
    assert [c.positive for c in tool.clicks] == [True, False]
    _click(qtbot, window, 100, 20, modifier=Qt.KeyboardModifier.ShiftModifier)  # Shift+click: "not this" too
    qtbot.waitUntil(lambda: _answered(tool) and len(tool.clicks) == 3, timeout=20000)
    assert not tool.clicks[-1].positive
    assert (editor.mask == before).all()  # nothing painted until Enter
    qtbot.keyClick(window.canvas, Qt.Key.Key_Backspace)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Backspace)
    assert len(tool.clicks) == 1 and np.array_equal(tool.selection, first)
    window.tools.set_class(2)
    value = window.tools.current_class
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not tool.clicks, timeout=20000)
    assert (editor.mask[first] == value).all() and np.array_equal(editor.mask[~first], before[~first])
    assert tool.outline.path().isEmpty() and not tool.marks
    assert editor.stack.done[-1].name == "click object"
    window.commands.undo()
    assert np.array_equal(editor.mask, before)  # one step
    window.commands.redo()
    assert (editor.mask[first] == value).all()


def test_enter_right_after_a_click_paints_once_the_answer_is_in_and_paint_over_protects(
        qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint):
    _open_with(qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint)
    tool, editor = window.tools.click_tool, window.session.editor
    editor.begin("seed")
    editor.apply((0, 0, *editor.shape), None, IGNORE_INDEX)  # nothing labelled...
    editor.apply((0, 0, 60, 80), None, 3)  # ... but a corner of class 3, under the click
    editor.end()
    protected = editor.mask.copy()
    window.tools_panel.preserve.setCurrentIndex(1)  # "unlabelled pixels only"
    assert window.tools_panel.preserve_rule().mode == "unlabelled"
    _click(qtbot, window, 60, 40)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)  # before the answer: it waits for it
    qtbot.waitUntil(lambda: not tool.clicks, timeout=20000)
    painted = editor.mask != protected
    assert painted.any()
    assert (protected[painted] == IGNORE_INDEX).all()  # only what nobody labelled was painted
    assert (editor.mask[:60, :80] == 3).all()


def test_esc_drops_the_clicks_and_another_image_starts_afresh(
        qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint):
    _open_with(qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint)
    tool = window.tools.click_tool
    _click(qtbot, window, 60, 40)
    qtbot.waitUntil(lambda: _answered(tool), timeout=20000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not tool.clicks and tool.outline.path().isEmpty()
    _click(qtbot, window, 60, 40)
    window.image_list.step(1)  # moving on mid-answer: the late answer is dropped
    qtbot.waitUntil(lambda: not tool._working, timeout=20000)
    assert not tool.clicks and tool.outline.path().isEmpty()


def test_a_click_model_that_cannot_be_read_turns_the_tool_off_in_one_line(
        qtbot, window, tmp_path, photo_folder, tiny_checkpoint):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    _open_with(qtbot, window, tmp_path, photo_folder, bad, tiny_checkpoint)
    said = []
    window.tools.notice.connect(said.append)
    _click(qtbot, window, 60, 40)
    qtbot.waitUntil(lambda: bool(said), timeout=20000)
    assert said[-1].startswith("Click tool is off: bad.safetensors") and "\n" not in said[-1]
    assert not window.tools.click_tool.clicks
    window.tools_panel.set_tool("brush")  # everything else works
    before = window.session.editor.mask.copy()
    drag(qtbot, window, [(10, 10), (40, 30)])
    assert (window.session.editor.mask != before).any()


def test_an_answer_keeps_only_the_selections_box_and_its_borders_are_ready_for_the_outline():
    from fcn_studio.ui.canvas.click_tool import Answer, outline_path

    selection = np.zeros((5000, 6000), bool)
    selection[1000:1100, 2000:2050] = True
    selection[1040:1060, 2020:2030] = False  # a hole
    answer = Answer(3, selection)
    assert answer.rect == (1000, 2000, 1100, 2050) and answer.local.shape == (100, 50)
    assert np.array_equal(answer.selection, selection) and len(answer.contours) == 2
    box = outline_path(answer.contours).boundingRect()
    assert (box.left(), box.top(), box.right(), box.bottom()) == (2000.5, 1000.5, 2049.5, 1099.5)
    assert Answer(1, np.zeros((10, 10), bool)).rect is None


def test_picking_the_tool_reads_the_model_so_the_first_click_only_answers(
        qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint):
    with qtbot.waitSignal(window.worker.predicted, timeout=30_000):
        open_photo_project(qtbot, window, tmp_path, photo_folder, tiny_checkpoint)
    window.workspace.project.set_click_model_path(click_model)
    tool = window.tools.click_tool
    assert not tool._nets
    window.tools_panel.set_tool("click")
    qtbot.waitUntil(lambda: str(click_model) in tool._nets, timeout=20000)


def test_undo_right_after_a_click_takes_the_click_back_not_the_last_painted_edit(
        qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint):
    _open_with(qtbot, window, tmp_path, photo_folder, click_model, tiny_checkpoint)
    tool, editor = window.tools.click_tool, window.session.editor
    window.tools_panel.set_tool("brush")
    drag(qtbot, window, [(10, 10), (40, 30)])
    painted = editor.mask.copy()
    window.tools_panel.set_tool("click")
    _click(qtbot, window, 60, 40)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not tool.clicks and np.array_equal(editor.mask, painted)  # the stroke stays
    qtbot.waitUntil(lambda: not tool._working, timeout=20000)
    assert tool.outline.path().isEmpty()  # the late answer to the taken-back click is not shown
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not np.array_equal(editor.mask, painted)  # no clicks left: undo undoes the stroke

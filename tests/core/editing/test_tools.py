"""Every tool on the model side, no Qt: what a person painting would see in the mask."""

import numpy as np
import pytest

from fcn_studio.core.editing.grabcut import grabcut_region
from fcn_studio.core.editing.mask_editor import MaskEditor, Preserve
from fcn_studio.core.editing.tools import (
    Stroke,
    class_at,
    fill_polygon,
    flood_fill,
    relabel,
    replace_all,
    segment_footprint,
)
from fcn_studio.core.editing.undo import UndoBudget


def editor(h=200, w=300, fill=0):
    return MaskEditor(np.full((h, w), fill, np.uint8))


@pytest.mark.parametrize("diameter", [1, 2, 5, 50])
def test_brush_footprint_is_round_and_the_right_size(diameter):
    (top, left, bottom, right), fp = segment_footprint((100.0, 100.0), (100.0, 100.0), diameter)
    ys, xs = np.nonzero(fp)
    width = xs.max() - xs.min() + 1
    assert abs(width - diameter) <= 1
    if diameter >= 5:  # round: the corners of the bounding square are empty
        assert not fp[ys.min(), xs.min()]


def test_a_fast_stroke_leaves_no_gaps():
    ed = editor()
    s = Stroke(ed, 3, diameter=4)
    s.to(10, 100)
    s.to(290, 100)  # one mouse event far from the last
    s.finish()
    assert (ed.mask[100, 10:291] == 3).all()
    assert (ed.mask[90, :] == 0).all()


def test_one_drag_is_one_undo_step_and_redo_restores_it():
    ed = editor()
    s = Stroke(ed, 2, diameter=10)
    for x in range(20, 200, 7):
        s.to(x, 50 + x / 4)
    s.finish()
    painted = ed.mask.copy()
    assert len(ed.stack.done) == 1 and (painted == 2).sum() > 500
    ed.undo()
    assert (ed.mask == 0).all()
    ed.redo()
    assert np.array_equal(ed.mask, painted)


def test_undo_stores_touched_tiles_not_the_whole_mask():
    ed = MaskEditor(np.zeros((4000, 6000), np.uint8))
    s = Stroke(ed, 1, diameter=20)
    s.to(100, 100)
    s.to(150, 120)
    edit = s.finish()
    assert edit.nbytes < 4 * 128 * 128 * 2 + 100  # a few tiles, not 24 MB
    assert ed.stack.nbytes == edit.nbytes


def test_eraser_sets_ignore_or_background():
    ed = editor(fill=4)
    s = Stroke(ed, 255, diameter=6, name="eraser")
    s.to(50, 50)
    s.finish()
    assert ed.mask[50, 50] == 255
    s = Stroke(ed, 0, diameter=6, name="eraser")
    s.to(80, 50)
    s.finish()
    assert ed.mask[50, 80] == 0


def test_preserve_unlabelled_only_and_one_class_only():
    ed = editor(fill=255)
    ed.mask[:, :100] = 1
    s = Stroke(ed, 2, diameter=40, preserve=Preserve("unlabelled"))
    s.to(100, 100)
    s.finish()
    assert ed.mask[100, 90] == 1 and ed.mask[100, 110] == 2
    s = Stroke(ed, 3, diameter=40, preserve=Preserve("class", 1))
    s.to(100, 100)
    s.finish()
    assert ed.mask[100, 90] == 3 and ed.mask[100, 110] == 2


def test_painting_off_the_edge_is_clipped():
    ed = editor()
    s = Stroke(ed, 1, diameter=30)
    s.to(-20, -20)
    s.to(5, 5)
    s.finish()
    assert ed.mask[0, 0] == 1 and ed.mask.shape == (200, 300)


def test_flood_fill_fills_one_connected_region():
    ed = editor()
    ed.mask[:, 150] = 5  # a wall
    flood_fill(ed, 10, 10, 2)
    assert (ed.mask[:, :150] == 2).all() and (ed.mask[:, 151:] == 0).all() and (ed.mask[:, 150] == 5).all()
    ed.undo()
    assert (ed.mask[:, :150] == 0).all()
    assert flood_fill(ed, 500, 500, 1) is None  # outside: nothing


def test_polygon_fills_and_erases_its_inside():
    ed = editor()
    square = [(50, 50), (150, 50), (150, 150), (50, 150)]
    fill_polygon(ed, square, 7)
    assert ed.mask[100, 100] == 7 and ed.mask[40, 40] == 0 and ed.mask[151 + 2, 100] == 0
    fill_polygon(ed, [(90, 90), (110, 90), (110, 110), (90, 110)], 255, name="erase polygon")
    assert ed.mask[100, 100] == 255 and ed.mask[80, 80] == 7
    assert fill_polygon(ed, [(1, 1), (2, 2)], 3) is None  # two points are no area


def test_relabel_inside_a_selection_only():
    ed = editor(fill=1)
    relabel(ed, 1, 2, [(0, 0), (100, 0), (100, 199), (0, 199)])
    assert ed.mask[100, 50] == 2 and ed.mask[100, 200] == 1
    relabel(ed, 1, 3)
    assert ed.mask[100, 200] == 3 and ed.mask[100, 50] == 2


def test_accept_prediction_and_clear_are_single_steps():
    ed = editor()
    pred = np.random.default_rng(0).integers(0, 4, (200, 300)).astype(np.uint8)
    replace_all(ed, pred, "accept prediction")
    assert np.array_equal(ed.mask, pred)
    replace_all(ed, 255, "clear")
    assert (ed.mask == 255).all()
    ed.undo()
    assert np.array_equal(ed.mask, pred)
    with pytest.raises(ValueError, match="does not fit"):
        replace_all(ed, np.zeros((5, 5), np.uint8), "accept prediction")


def test_an_operation_that_changes_nothing_leaves_no_step():
    ed = editor(fill=2)
    s = Stroke(ed, 2, diameter=10)
    s.to(20, 20)
    assert s.finish() is None and not ed.stack.done


def test_new_edit_after_undo_drops_the_redo_branch():
    ed = editor()
    for x in (20, 60):
        s = Stroke(ed, 1, diameter=5)
        s.to(x, 20)
        s.finish()
    ed.undo()
    s = Stroke(ed, 2, diameter=5)
    s.to(100, 20)
    s.finish()
    assert ed.redo() is None and ed.mask[20, 60] == 0 and ed.mask[20, 100] == 2


def test_undo_budget_drops_oldest_steps_of_the_least_recent_image_first():
    budget = UndoBudget(limit=300_000)
    a, b = MaskEditor(np.zeros((1000, 1000), np.uint8), budget), MaskEditor(np.zeros((1000, 1000), np.uint8), budget)
    for ed in (a, b):
        for i in range(4):
            s = Stroke(ed, 1 + i % 2, diameter=120)
            s.to(100 + 200 * i, 500)
            s.finish()
    assert budget.nbytes <= 300_000
    assert len(b.stack.done) >= 1 and len(a.stack.done) < 4


def test_state_changes_are_undo_steps():
    ed = editor()
    ed.record_state("corrected", "reviewed")
    edit = ed.undo()
    assert (edit.state_before, edit.state_after) == ("corrected", "reviewed")
    assert ed.redo().state_after == "reviewed"


def test_change_callback_reports_the_touched_rectangle():
    rects = []
    ed = MaskEditor(np.zeros((100, 100), np.uint8), on_change=rects.append)
    s = Stroke(ed, 1, diameter=10)
    s.to(50, 50)
    s.finish()
    y0, x0, y1, x1 = rects[0]
    assert y0 <= 45 and y1 >= 55 and x1 - x0 < 20
    assert class_at(ed, 50, 50) == 1 and class_at(ed, 500, 5) is None


def test_grabcut_selects_the_object_in_the_box():
    img = np.full((120, 160, 3), 30, np.uint8)
    img[40:80, 60:110] = (220, 200, 40)  # a bright object
    noise = np.random.default_rng(0).integers(0, 20, img.shape).astype(np.uint8)
    img = img + noise
    ed = MaskEditor(np.zeros((120, 160), np.uint8))
    rect, fg = grabcut_region(img, (50, 30, 120, 90))
    ed.begin("smart selection")
    ed.apply(rect, fg, 3)
    assert ed.end() is not None
    obj = ed.mask[40:80, 60:110] == 3
    outside = ed.mask == 3
    outside[40:80, 60:110] = False
    assert obj.mean() > 0.9 and outside.sum() < 0.1 * obj.sum()

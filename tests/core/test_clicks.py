"""The click protocol against hand-worked cases: where the simulated person clicks, which regions are
objects, and how NoC and the summary count."""

import cv2
import numpy as np
import pytest

from fcn_studio.core.clicks import Click, ClickRun, clicked_parts, iou, next_click, objects, simulate, summary


def _square(shape, y0, x0, size):
    out = np.zeros(shape, bool)
    out[y0:y0 + size, x0:x0 + size] = True
    return out


def test_objects_are_connected_regions_of_each_class_but_background_ignore_and_specks():
    mask = np.zeros((40, 40), np.uint8)
    mask[2:8, 2:8] = 1  # 36 px
    mask[20:26, 20:26] = 1  # another region of the same class
    mask[30:33, 30:33] = 2  # 9 px: a speck
    mask[10:20, 30:40] = 255  # not labelled
    found = objects(mask)
    assert [c for c, _ in found] == [1, 1]
    assert [int(f.sum()) for _, f in found] == [36, 36]
    assert objects(mask, min_pixels=9)[-1][0] == 2


def test_the_first_click_is_the_point_of_the_object_farthest_from_its_border():
    truth = _square((40, 40), 10, 20, 7)  # rows 10-16, columns 20-26: the centre is (13, 23)
    assert next_click(truth, np.zeros_like(truth)) == Click(13, 23, True)


def test_the_image_edge_is_a_border_too():
    truth = _square((40, 40), 0, 0, 7)
    assert next_click(truth, np.zeros_like(truth)) == Click(3, 3, True)


def test_a_spill_larger_than_what_is_missed_gets_a_negative_click_in_its_middle():
    truth = _square((60, 60), 5, 5, 9)
    selection = truth | _square((60, 60), 30, 30, 11)  # rows/columns 30-40 spill: centre (35, 35)
    selection[9, 9] = False  # one missed pixel: a smaller error
    assert next_click(truth, selection) == Click(35, 35, False)
    assert next_click(truth, truth) is None  # nothing left to correct


def test_ignored_pixels_are_neither_errors_nor_counted():
    truth = _square((30, 30), 5, 5, 9)
    ignore = _square((30, 30), 0, 0, 30)
    assert next_click(truth, np.zeros_like(truth), ignore) is None
    selection = truth.copy()
    selection[20:25, 20:25] = True
    assert iou(truth, selection) == pytest.approx(81 / 106)
    assert iou(truth, selection, _square((30, 30), 20, 20, 5)) == 1.0


def test_noc_counts_the_clicks_to_reach_each_threshold_and_the_maximum_when_never():
    run = ClickRun(ious=[0.5, 0.86, 0.92])
    assert (run.noc(0.85), run.noc(0.90), run.noc(0.95)) == (2, 3, 20)
    assert run.reached(0.9) and not run.reached(0.95)


def test_simulate_calls_the_method_after_each_click_with_the_clicks_so_far():
    truth = _square((50, 50), 10, 10, 20)
    seen = []

    def half_then_all(clicks, previous):  # the first answer covers the top half, the second everything
        seen.append((tuple(clicks), previous.sum()))
        out = truth.copy()
        if len(clicks) == 1:
            out[20:] = False
        return out

    run = simulate(half_then_all, truth)
    assert run.ious == pytest.approx([0.5, 1.0]) and len(run.seconds) == 2
    assert seen[0] == ((Click(19, 19, True),), 0)
    second = seen[1][0][1]
    assert second.positive and second.y >= 20  # the missed bottom half
    assert seen[1][1] == 200  # the previous selection is handed back


def test_summary_means_over_objects():
    runs = [ClickRun(ious=[0.9], seconds=[0.010]), ClickRun(ious=[0.5, 0.6], seconds=[0.020, 0.030])]
    figures = summary(runs)
    assert figures["noc85"] == pytest.approx((1 + 20) / 2)
    assert figures["noc90"] == pytest.approx((1 + 20) / 2)
    assert figures["failed85"] == pytest.approx(0.5)
    assert figures["ms_per_click"] == pytest.approx(20.0)


def test_only_the_parts_of_a_selection_holding_a_positive_click_are_the_object():
    selection = np.zeros((40, 60), bool)
    selection[5:15, 5:15] = True  # clicked
    selection[25:35, 40:50] = True  # a look-alike lit up elsewhere
    selection[5:15, 40:50] = True  # holds only a negative click
    kept = clicked_parts(selection, [Click(10, 10, True), Click(10, 45, False)])
    assert kept[5:15, 5:15].all() and np.count_nonzero(kept) == 100
    both = clicked_parts(selection, [Click(10, 10, True), Click(30, 45, True)])
    assert np.count_nonzero(both) == 200 and not both[5:15, 40:50].any()
    missed = clicked_parts(selection, [Click(30, 20, True)])  # the model missed the click: left as it is
    assert np.array_equal(missed, selection)


def test_a_negative_click_the_model_ignored_cuts_a_touching_neighbour_off_at_the_neck():
    selection = np.zeros((60, 100), np.uint8)
    cv2.circle(selection, (30, 30), 20, 1, -1)  # the object
    cv2.circle(selection, (62, 30), 14, 1, -1)  # a neighbour touching it, selected with it
    selection = selection.astype(bool)
    kept = clicked_parts(selection, [Click(30, 30, True), Click(30, 64, False)])
    assert kept[30, 30] and not kept[30, 64]
    assert np.count_nonzero(kept[:, :46]) > 0.97 * np.count_nonzero(selection[:, :46])  # the object stays whole
    assert np.count_nonzero(kept[:, 52:]) < 10  # the neighbour goes
    unasked = clicked_parts(selection, [Click(30, 30, True), Click(5, 5, False)])  # a negative click elsewhere
    assert np.array_equal(unasked, selection)
    large = cv2.resize(selection.astype(np.uint8), None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST) > 0
    kept = clicked_parts(large, [Click(240, 240, True), Click(240, 512, False)])  # split at a coarser scale
    assert np.count_nonzero(kept[:, : 46 * 8]) > 0.97 * np.count_nonzero(large[:, : 46 * 8])
    assert np.count_nonzero(kept[:, 52 * 8 :]) < 10 * 64


def test_a_negative_click_on_a_thin_spill_takes_only_the_rim_near_it():
    selection = np.zeros((80, 80), np.uint8)
    cv2.circle(selection, (40, 40), 25, 1, -1)
    selection = selection.astype(bool)
    kept = clicked_parts(selection, [Click(40, 40, True), Click(40, 64, False)])  # two pixels inside the rim
    assert not kept[40, 64] and kept[40, 40]
    assert 0 < np.count_nonzero(selection & ~kept) < 0.05 * np.count_nonzero(selection)
    assert kept[40, 16] and kept[15:20, 40].all()  # the far rim stays

import numpy as np
import pytest

from fcn_studio.core.metrics import ConfusionMatrix, confusion_histogram, format_scores, scores_from_histogram


def test_scores_match_values_worked_out_by_hand():
    # 3 classes. truth row by row, prediction below; one pixel ignored (255).
    truth = np.array([[0, 0, 0, 1], [1, 1, 2, 255]], np.uint8)
    pred = np.array([[0, 0, 1, 1], [1, 2, 2, 0]], np.uint8)
    # hist rows=truth: class0: [2,1,0]; class1: [0,2,1]; class2: [0,0,1]; 7 counted pixels
    hist = confusion_histogram(truth, pred, 3)
    assert hist.tolist() == [[2, 1, 0], [0, 2, 1], [0, 0, 1]]
    s = scores_from_histogram(hist)
    assert s.pixels == 7
    assert s.pixel_accuracy == pytest.approx(5 / 7)
    assert s.mean_accuracy == pytest.approx((2 / 3 + 2 / 3 + 1 / 1) / 3)
    # IU: c0 = 2/(3+2-2)=2/3, c1 = 2/(3+3-2)=1/2, c2 = 1/(1+2-1)=1/2
    assert s.per_class_iu == pytest.approx((2 / 3, 1 / 2, 1 / 2))
    assert s.mean_iu == pytest.approx((2 / 3 + 1 / 2 + 1 / 2) / 3)
    assert s.frequency_weighted_iu == pytest.approx(3 / 7 * 2 / 3 + 3 / 7 * 1 / 2 + 1 / 7 * 1 / 2)


def test_classes_absent_from_truth_and_prediction_do_not_count():
    truth = np.array([[0, 1]], np.uint8)
    s = scores_from_histogram(confusion_histogram(truth, truth, 5))
    assert s.mean_iu == 1.0 and s.mean_accuracy == 1.0
    assert np.isnan(s.per_class_iu[4])


def test_a_class_predicted_but_never_true_counts_zero_in_mean_iu():
    truth = np.array([[0, 0]], np.uint8)
    pred = np.array([[0, 1]], np.uint8)
    s = scores_from_histogram(confusion_histogram(truth, pred, 2))
    assert s.per_class_iu == pytest.approx((0.5, 0.0))
    assert s.mean_iu == pytest.approx(0.25)
    assert s.mean_accuracy == pytest.approx(0.5)  # class 1 has no truth: its accuracy is undefined


def test_dataset_histogram_is_the_sum_of_image_histograms(rng):
    cm = ConfusionMatrix(4)
    total = np.zeros((4, 4), np.int64)
    for _ in range(3):
        t = rng.integers(0, 4, (20, 30)).astype(np.uint8)
        p = rng.integers(0, 4, (20, 30)).astype(np.uint8)
        cm.update(t, p)
        total += confusion_histogram(t, p, 4)
    assert (cm.hist == total).all()


def test_bincount_agrees_with_a_plain_loop(rng):
    t = rng.integers(0, 6, (50, 40)).astype(np.uint8)
    t[rng.random(t.shape) < 0.1] = 255
    p = rng.integers(0, 6, (50, 40)).astype(np.uint8)
    expected = np.zeros((6, 6), np.int64)
    for a, b in zip(t.ravel(), p.ravel(), strict=True):
        if a < 6:
            expected[a, b] += 1
    assert (confusion_histogram(t, p, 6) == expected).all()


def test_shape_mismatch_and_out_of_range_predictions_are_errors():
    with pytest.raises(ValueError, match="shape"):
        confusion_histogram(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8), 2)
    with pytest.raises(ValueError, match="class 7"):
        confusion_histogram(np.zeros((1, 1), np.uint8), np.full((1, 1), 7, np.uint8), 3)


def test_everything_ignored_gives_undefined_scores_not_a_crash():
    s = scores_from_histogram(confusion_histogram(np.full((2, 2), 255, np.uint8), np.zeros((2, 2), np.uint8), 3))
    assert s.pixels == 0 and np.isnan(s.mean_iu)
    assert "n/a" in format_scores(s, ["a", "b", "c"])

"""Segmentation metrics as in the FCN paper, all from one confusion histogram over a dataset.

Pixels whose truth is the ignore index (or any value >= the class count) are left out. A class that is
absent from both truth and prediction has an undefined IU and accuracy and does not count in the means;
a class predicted but never true has IU 0 (it counts) and an undefined accuracy (it does not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_histogram(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """num_classes x num_classes int64 counts, rows = truth, columns = prediction."""
    truth = np.asarray(truth)
    pred = np.asarray(pred)
    if truth.shape != pred.shape:
        raise ValueError(f"truth {truth.shape} and prediction {pred.shape} differ in shape")
    truth = truth.ravel()
    pred = pred.ravel()
    valid = truth < num_classes
    if not valid.all():
        truth = truth[valid]
        pred = pred[valid]
    if pred.size and int(pred.max()) >= num_classes:
        raise ValueError(f"prediction has class {int(pred.max())} but there are only {num_classes} classes")
    # uint16/int32 index arithmetic is enough for 255 classes and keeps 24-MP masks fast.
    idx_type = np.uint16 if num_classes * num_classes <= 65536 else np.int64
    index = truth.astype(idx_type) * idx_type(num_classes) + pred.astype(idx_type)
    counts = np.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


@dataclass(frozen=True)
class Scores:
    pixel_accuracy: float
    mean_accuracy: float
    mean_iu: float
    frequency_weighted_iu: float
    per_class_iu: tuple[float, ...]  # NaN where the class is absent from truth and prediction
    per_class_accuracy: tuple[float, ...]
    pixels: int

    def to_dict(self, names=None) -> dict:
        def clean(v: float):
            return None if np.isnan(v) else float(v)

        names = list(names) if names is not None else [str(i) for i in range(len(self.per_class_iu))]
        return {
            "pixel_accuracy": clean(self.pixel_accuracy),
            "mean_accuracy": clean(self.mean_accuracy),
            "mean_iu": clean(self.mean_iu),
            "frequency_weighted_iu": clean(self.frequency_weighted_iu),
            "per_class_iu": {n: clean(v) for n, v in zip(names, self.per_class_iu, strict=True)},
            "per_class_accuracy": {n: clean(v) for n, v in zip(names, self.per_class_accuracy, strict=True)},
            "pixels": self.pixels,
        }


def scores_from_histogram(hist: np.ndarray) -> Scores:
    hist = np.asarray(hist, dtype=np.float64)
    total = hist.sum()
    diag = np.diag(hist)
    true_count = hist.sum(axis=1)
    pred_count = hist.sum(axis=0)
    union = true_count + pred_count - diag
    with np.errstate(divide="ignore", invalid="ignore"):
        acc_cls = np.where(true_count > 0, diag / true_count, np.nan)
        iu = np.where(union > 0, diag / union, np.nan)
    nan = float("nan")
    if total == 0:
        return Scores(nan, nan, nan, nan, tuple(iu), tuple(acc_cls), 0)
    freq = true_count / total
    present = freq > 0
    return Scores(
        pixel_accuracy=float(diag.sum() / total),
        mean_accuracy=float(np.nanmean(acc_cls)) if np.isfinite(acc_cls).any() else nan,
        mean_iu=float(np.nanmean(iu)) if np.isfinite(iu).any() else nan,
        frequency_weighted_iu=float((freq[present] * iu[present]).sum()),
        per_class_iu=tuple(float(v) for v in iu),
        per_class_accuracy=tuple(float(v) for v in acc_cls),
        pixels=int(total),
    )


class ConfusionMatrix:
    """Accumulates over a dataset so the means are dataset means, not means of per-image means."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.hist = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, truth: np.ndarray, pred: np.ndarray) -> None:
        self.hist += confusion_histogram(truth, pred, self.num_classes)

    def scores(self) -> Scores:
        return scores_from_histogram(self.hist)


def format_scores(scores: Scores, names) -> str:
    """A plain-text table: the four paper metrics, then per-class IU."""

    def pct(v: float) -> str:
        return "   n/a" if np.isnan(v) else f"{100 * v:6.2f}"

    lines = [
        f"pixel accuracy         {pct(scores.pixel_accuracy)}",
        f"mean accuracy          {pct(scores.mean_accuracy)}",
        f"mean IU                {pct(scores.mean_iu)}",
        f"frequency weighted IU  {pct(scores.frequency_weighted_iu)}",
        "",
        f"{'class':<22} {'IU':>6} {'acc':>6}",
    ]
    for name, iu, acc in zip(names, scores.per_class_iu, scores.per_class_accuracy, strict=True):
        lines.append(f"{name:<22} {pct(iu)} {pct(acc)}")
    return "\n".join(lines)

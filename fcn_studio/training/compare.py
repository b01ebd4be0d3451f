"""Is a new model better than the one in use? Both are scored on the project's current validation
split (whole validation images and every training image's held-out regions, core.splits) by the one
evaluation (inference.evaluate: float32, on the device the person chose), so the
answer compares like with like. The trainer has already scored the new model on those images: its
checkpoint records the score with the fingerprint of the images and masks it was computed on, and
while the fingerprint still matches, that score is used rather than computed a second time. The same
rule holds for the model in use (one a run scored on these very images); otherwise it is evaluated,
once. Keep learning needs none of this: its trainer re-scores the kept model itself (trainer.rescore),
through the same evaluation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from fcn_studio.core.splits import HELD_OUT, WHOLE, measured_on
from fcn_studio.inference.device import pick_device
from fcn_studio.inference.evaluate import evaluate_pairs, load_for_scoring, validation_fingerprint
from fcn_studio.model.checkpoint import read_info
from fcn_studio.training.data import DataSource, project_source


@dataclass(frozen=True)
class Score:
    mean_iu: float | None  # None: not scored (its classes do not fit the project, or nothing validates)
    images: int  # validation images scored (whole, or their held-out regions)
    how: str  # "recorded" (the trainer's own, read from the checkpoint), "evaluated" (here) or "unfit"


@dataclass(frozen=True)
class Comparison:
    new_mean_iu: float | None
    in_use_mean_iu: float | None  # None: no model in use, or one that could not be scored
    images: int  # validation images scored
    image_ids: tuple[str, ...]  # the project's ids of the validation images (whole, or their held-out regions)
    fingerprint: str  # of those images and their masks (inference.evaluate.validation_fingerprint)
    device: str  # where a model was evaluated
    evaluated: tuple[Path, ...]  # the checkpoints evaluated here; the others' scores were recorded ones
    measured_on: str = ""  # in words (core.splits.measured_on): the images and regions both were scored on

    @property
    def better(self) -> bool:
        return self.new_mean_iu is not None and (self.in_use_mean_iu is None or self.new_mean_iu > self.in_use_mean_iu)


def score_on_validation(checkpoint: Path, source: DataSource, fingerprint: str, device: torch.device) -> Score:
    """The checkpoint's mean IU on `source.val` (whose fingerprint is `fingerprint`): the one it
    records when it was computed on these images and masks, else evaluated on `device`."""
    info = read_info(checkpoint)
    if len(info.labels) != len(source.labels) or not source.val:
        return Score(None, 0, "unfit")
    metrics = info.provenance.get("metrics") or {}
    recorded = metrics.get("mean_iu")
    if (metrics.get("val_fingerprint") == fingerprint and isinstance(recorded, (int, float))
            and math.isfinite(recorded)):
        return Score(float(recorded), len(source.val), "recorded")
    predictor, _ = load_for_scoring(checkpoint, device)
    result = evaluate_pairs(predictor, source.labels, [(item.image, item.mask) for item in source.val],
                            parts=[(item.key, item.part) for item in source.val])
    return Score(result.mean_iu, result.images, "evaluated")


def compare_with_in_use(new: Path, in_use: Path | None, project_root: Path, device: str | None) -> Comparison:
    """The new model and the one in use on the project's validation images; `device` as the person
    chose it (None or "auto": CUDA, MPS, then the CPU)."""
    source = project_source(project_root)
    fingerprint = validation_fingerprint((item.name, item.image, item.mask) for item in source.val)
    dev = pick_device(device)
    scores = {Path(new): score_on_validation(Path(new), source, fingerprint, dev)}
    if in_use is not None and Path(in_use).is_file() and Path(in_use) != Path(new):
        scores[Path(in_use)] = score_on_validation(Path(in_use), source, fingerprint, dev)
    new_score = scores[Path(new)]
    old_score = None if in_use is None else scores.get(Path(in_use))
    return Comparison(new_score.mean_iu, None if old_score is None else old_score.mean_iu,
                      max(s.images for s in scores.values()), tuple(item.key for item in source.val), fingerprint,
                      str(dev), tuple(p for p, s in scores.items() if s.how == "evaluated"),
                      measured_on(sum(it.part == WHOLE for it in source.val),
                                  sum(it.part == HELD_OUT for it in source.val)))

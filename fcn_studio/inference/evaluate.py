"""Evaluates a model on image/mask pairs with the paper's metrics, from one dataset histogram. The one
evaluation: `fcn-studio eval`, the model comparison and the trainer's validation all go through
`confusion_over_pairs`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcn_studio.core.image_io import ImageLoadError, find_images, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import MaskError, read_mask
from fcn_studio.core.metrics import ConfusionMatrix, Scores
from fcn_studio.core.progress import Progress
from fcn_studio.inference.predictor import Predictor


@dataclass
class EvalResult:
    scores: Scores
    images: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def pair_images_and_masks(images: Path, masks: Path) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """Pairs `images/a/b.jpg` with `masks/a/b.png`; images without a mask are reported, not fatal."""
    pairs, missing = [], []
    for img in find_images(images):
        mask = Path(masks) / img.relative_to(images).with_suffix(".png")
        (pairs.append((img, mask)) if mask.is_file() else missing.append((img, f"no mask {mask}")))
    return pairs, missing


def confusion_over_pairs(predict: Callable[[np.ndarray], np.ndarray], labels: LabelSet,
                         pairs: list[tuple[Path, Path]], progress: Progress | None = None,
                         ) -> tuple[ConfusionMatrix, int, list[tuple[Path, str]]]:
    """One confusion histogram over (image, mask) pairs, `predict` giving class indices for an RGB
    image; the label set's ignore index (and any unknown id) is left out. Unusable pairs are
    reported, not fatal. Returns (histogram, images scored, skipped)."""
    cm = ConfusionMatrix(len(labels))
    done, skipped = 0, []
    for k, (img_path, mask_path) in enumerate(pairs):
        try:
            image = load_image(img_path)
            truth = read_mask(mask_path, shape=image.shape[:2], labels=labels)
            cm.update(truth, predict(image))
            done += 1
        except (ImageLoadError, MaskError) as exc:
            skipped.append((img_path, str(exc)))
        if progress:
            progress(k + 1, len(pairs))
    return cm, done, skipped


def evaluate_pairs(predictor: Predictor, labels: LabelSet, pairs: list[tuple[Path, Path]],
                   progress: Progress | None = None) -> EvalResult:
    """Scores over (image, mask) pairs from one dataset histogram; unusable pairs are reported."""
    cm, done, skipped = confusion_over_pairs(lambda image: predictor.predict(image).labels, labels, pairs,
                                             progress)
    return EvalResult(cm.scores(), done, skipped)


def evaluate_folders(predictor: Predictor, labels: LabelSet, images: Path, masks: Path,
                     progress: Progress | None = None) -> EvalResult:
    pairs, missing = pair_images_and_masks(images, masks)
    result = evaluate_pairs(predictor, labels, pairs, progress)
    result.skipped = missing + result.skipped
    return result

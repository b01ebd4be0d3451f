"""Evaluates a model on image/mask pairs with the paper's metrics, from one dataset histogram. The one
evaluation: `fcn-studio eval`, the trainer's validation (and its re-scoring of the kept model, which is
keep learning's comparison) and the comparison with the model in use after a run all score through
`confusion_over_pairs` with a Predictor, so one model on one set of images gets one number.

A score that decides between models is computed by `scoring_predictor`: in float32 (low precision is
for speed when labelling; a few pixels that flip between two classes must not flip the choice), on
the device asked for. `validation_fingerprint` names what a score was computed on, so a score the
trainer recorded in a checkpoint can be used again instead of evaluating the same model twice."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fcn_studio.core.image_io import ImageLoadError, find_images, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import MaskError, read_mask
from fcn_studio.core.metrics import ConfusionMatrix, Scores
from fcn_studio.core.progress import Progress
from fcn_studio.core.splits import mask_part
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.checkpoint import CheckpointInfo
from fcn_studio.model.input_spec import InputSpec

SCORING_PRECISION = "float32"


@dataclass
class EvalResult:
    scores: Scores
    images: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    pixels: int = 0  # labelled pixels scored

    @property
    def mean_iu(self) -> float | None:
        """None when nothing was scored (no image, or no labelled pixel)."""
        value = self.scores.mean_iu
        return value if self.images and math.isfinite(value) else None


def scoring_predictor(model: torch.nn.Module, spec: InputSpec, device: str | torch.device | None) -> Predictor:
    """The predictor a score comes from: float32 on `device` (None: CUDA, MPS, then the CPU). It puts
    `model` in eval mode; a caller that goes on training it sets train mode again."""
    return Predictor(model, spec, device=device, precision=SCORING_PRECISION)


def load_for_scoring(checkpoint: str | Path, device: str | torch.device | None) -> tuple[Predictor, CheckpointInfo]:
    """A saved model as `scoring_predictor` would hold it, loaded straight onto `device`."""
    return Predictor.from_checkpoint(checkpoint, device=device, precision=SCORING_PRECISION)


def pair_images_and_masks(images: Path, masks: Path) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """Pairs `images/a/b.jpg` with `masks/a/b.png`; images without a mask are reported, not fatal."""
    pairs, missing = [], []
    for img in find_images(images):
        mask = Path(masks) / img.relative_to(images).with_suffix(".png")
        (pairs.append((img, mask)) if mask.is_file() else missing.append((img, f"no mask {mask}")))
    return pairs, missing


def confusion_over_pairs(predictor: Predictor, labels: LabelSet, pairs: list[tuple[Path, Path]],
                         progress: Progress | None = None, parts: Sequence[tuple[str, str]] | None = None,
                         ) -> tuple[ConfusionMatrix, int, list[tuple[Path, str]]]:
    """One confusion histogram over (image, mask) pairs; the label set's ignore index (and any unknown
    id) is left out. `parts`: each pair's (key, part) where only part of its mask counts (a training
    image's held-out regions, core.splits). Unusable pairs are reported, not fatal. Returns
    (histogram, images scored, skipped)."""
    cm = ConfusionMatrix(len(labels))
    done, skipped = 0, []
    for k, (img_path, mask_path) in enumerate(pairs):
        try:
            image = load_image(img_path)
            truth = read_mask(mask_path, shape=image.shape[:2], labels=labels)
            if parts is not None:
                truth = mask_part(truth, *parts[k], labels.ignore_index)
            cm.update(truth, predictor.predict(image).labels)
            done += 1
        except (ImageLoadError, MaskError) as exc:
            skipped.append((img_path, str(exc)))
        if progress:
            progress(k + 1, len(pairs))
    return cm, done, skipped


def evaluate_pairs(predictor: Predictor, labels: LabelSet, pairs: list[tuple[Path, Path]],
                   progress: Progress | None = None, parts: Sequence[tuple[str, str]] | None = None) -> EvalResult:
    """Scores over (image, mask) pairs from one dataset histogram; unusable pairs are reported."""
    cm, done, skipped = confusion_over_pairs(predictor, labels, pairs, progress, parts)
    return EvalResult(cm.scores(), done, skipped, int(cm.hist.sum()))


def evaluate_folders(predictor: Predictor, labels: LabelSet, images: Path, masks: Path,
                     progress: Progress | None = None) -> EvalResult:
    pairs, missing = pair_images_and_masks(images, masks)
    result = evaluate_pairs(predictor, labels, pairs, progress)
    result.skipped = missing + result.skipped
    return result


def validation_fingerprint(items: Iterable[tuple[str, Path, Path]]) -> str:
    """Names a validation set as scored: each (key, image, mask) by its key, the image file's size and
    modification time and the mask's bytes, in key order. Two scores with the same fingerprint were
    computed on the same images and the same labels; a mask a person corrected since changes it."""
    digest = hashlib.sha256()
    for key, image, mask in sorted(items, key=lambda item: item[0]):
        try:
            st = Path(image).stat()
            seen = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            seen = "missing"
        digest.update(f"{key}\0{seen}\0".encode())
        try:
            digest.update(hashlib.sha256(Path(mask).read_bytes()).digest())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()

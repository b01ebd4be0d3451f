"""Is a new model better than the one in use? Both are scored on the project's current validation
split with the same evaluation as `fcn-studio eval`, so the answer compares like with like."""

from __future__ import annotations

from pathlib import Path

from fcn_studio.inference.evaluate import evaluate_pairs
from fcn_studio.inference.predictor import Predictor
from fcn_studio.training.data import project_source


def mean_iu_on_split(checkpoint: Path, project_root: Path) -> float | None:
    """None when the checkpoint's classes do not fit the project or there is nothing to validate on."""
    source = project_source(project_root)
    predictor, info = Predictor.from_checkpoint(checkpoint, device="cpu")
    if len(info.labels) != len(source.labels) or not source.val:
        return None
    result = evaluate_pairs(predictor, source.labels, [(item.image, item.mask) for item in source.val])
    return result.scores.mean_iu if result.images else None

"""Predicts files and folders to palette PNGs: one bad file is reported and skipped, never fatal.
Images are decoded on a background thread while the model works on the previous one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.image_io import ImageLoadError, find_images, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask
from fcn_studio.core.overlay import blend_overlay
from fcn_studio.inference.predictor import Predictor


@dataclass
class BatchResult:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def collect_inputs(inputs: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, output path without suffix): folders keep their sub-folder structure, so two `x.jpg`
    in different folders do not overwrite each other's mask."""
    pairs = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            pairs.extend((f, f.relative_to(p).with_suffix("")) for f in find_images(p))
        else:
            pairs.append((p, Path(p.stem)))
    return pairs


def predict_files(predictor: Predictor, labels: LabelSet, inputs: Iterable[str | Path], out_dir: Path,
                  overlay: bool = False, confidence: bool = False, opacity: float = 0.5,
                  progress: Callable[[Path], None] | None = None) -> BatchResult:
    out_dir = Path(out_dir)
    result = BatchResult()
    pairs = collect_inputs(inputs)

    def load(path: Path):
        try:
            return load_image(path), None
        except ImageLoadError as exc:
            return None, exc.reason
        except OSError as exc:
            return None, str(exc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for (path, rel), (image, error) in zip(pairs, pool.map(lambda pr: load(pr[0]), pairs), strict=True):
            if image is not None:
                try:
                    _write_outputs(predictor, labels, image, out_dir / rel, overlay, confidence, opacity)
                    result.written.append(out_dir / rel.with_suffix(".png"))
                except (RuntimeError, OSError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                result.failed.append((path, error))
            if progress:
                progress(path)
    return result


def _write_outputs(predictor: Predictor, labels: LabelSet, image: np.ndarray, base: Path, overlay: bool,
                   confidence: bool, opacity: float) -> None:
    pred = predictor.predict(image)
    write_mask(base.with_suffix(".png"), pred.labels, labels)
    if overlay:
        blended = blend_overlay(image, pred.labels, labels, opacity)
        _save_rgb(base.parent / f"{base.name}_overlay.jpg", blended)
    if confidence:
        conf = np.clip(pred.confidence * 255 + 0.5, 0, 255).astype(np.uint8)
        with atomic_path(base.parent / f"{base.name}_confidence.png") as tmp:
            Image.fromarray(conf, mode="L").save(tmp, format="PNG")


def _save_rgb(path: Path, rgb: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="JPEG", quality=90)

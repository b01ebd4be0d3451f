"""Predicts files and folders to palette PNGs: one bad file is reported and skipped, never fatal.

Memory does not grow with the number of files: a background pool decodes at most `ahead` images
ahead of the model (not all of them, as Executor.map would), consecutive images of the same size
share a forward pass within the predictor's pixel budget, and each batch is written before the next
is formed. Under torchrun each
rank takes every world-th file of the same list (`shard`), so the ranks' outputs together are
exactly those of one process."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.image_io import ImageLoadError, find_images, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask
from fcn_studio.core.overlay import blend_overlay
from fcn_studio.core.progress import Progress
from fcn_studio.inference.predictor import Predictor

Pair = tuple[Path, Path]  # (image file, output path relative to the output folder, without suffix)


@dataclass
class BatchResult:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class _Item:
    path: Path
    rel: Path
    image: np.ndarray | None
    error: str | None


def collect_inputs(inputs: Iterable[str | Path]) -> list[Pair]:
    """(file, output path without suffix) in a fixed order (the inputs as given, each folder's files
    sorted): folders keep their sub-folder structure, so two `x.jpg` in different folders do not
    overwrite each other's mask."""
    pairs = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            pairs.extend((f, f.relative_to(p).with_suffix("")) for f in sorted(find_images(p)))
        else:
            pairs.append((p, Path(p.stem)))
    return pairs


def shard(pairs: Sequence[Pair], rank: int, world: int) -> list[Pair]:
    """This rank's share: files rank, rank + world, ...; the shares of all ranks are disjoint and
    cover the list."""
    return list(pairs[rank::world])


def predict_files(predictor: Predictor, labels: LabelSet, pairs: Sequence[Pair], out_dir: Path,
                  overlay: bool = False, confidence: bool = False, opacity: float = 0.5,
                  progress: Progress | None = None, batch_size: int = 4, ahead: int = 4) -> BatchResult:
    """Writes `<out_dir>/<rel>.png` for each pair; `progress(done, total)` after each file, written or
    failed (the failures are in the result)."""
    out_dir = Path(out_dir)
    result = BatchResult()
    done = 0
    stream = decode_ahead(pairs, ahead)
    for batch in same_size_batches(stream, batch_size, predictor.max_pixels):
        errors: dict[int, str] = {}
        good = [i for i, item in enumerate(batch) if item.image is not None]
        if good:
            try:
                preds = predictor.predict_batch([batch[i].image for i in good], batch_size)
            except (RuntimeError, ValueError) as exc:  # e.g. out of memory: the files fail, the run goes on
                errors.update((i, f"{type(exc).__name__}: {exc}") for i in good)
                preds = []
            for i, pred in zip(good, preds, strict=False):
                item = batch[i]
                try:
                    _write_outputs(pred, labels, item.image, out_dir / item.rel, overlay, confidence, opacity)
                    result.written.append(out_dir / item.rel.with_suffix(".png"))
                except (RuntimeError, OSError, ValueError) as exc:
                    errors[i] = f"{type(exc).__name__}: {exc}"
        for i, item in enumerate(batch):
            error = item.error or errors.get(i)
            if error is not None:
                result.failed.append((item.path, error))
            done += 1
            if progress:
                progress(done, len(pairs))
    return result


def decode_ahead(pairs: Iterable[Pair], ahead: int = 4, workers: int = 2) -> Iterator[_Item]:
    """The decoded images in order, with at most `ahead` decoded or being decoded beyond the one
    handed out: a bounded window, however many files there are."""
    ahead = max(1, ahead)
    todo = iter(pairs)
    window: deque[tuple[Pair, Future]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, ahead))) as pool:

        def submit() -> None:
            pair = next(todo, None)
            if pair is not None:
                window.append((pair, pool.submit(_load, pair[0])))

        for _ in range(ahead):
            submit()
        while window:
            (path, rel), future = window.popleft()
            image, error = future.result()
            submit()
            yield _Item(path, rel, image, error)


def same_size_batches(items: Iterable[_Item], batch_size: int, max_pixels: int) -> Iterator[list[_Item]]:
    """Consecutive images of one size, up to batch_size and up to max_pixels in all (the most the
    predictor takes in one pass: a batch never needs more memory than its largest single image);
    an image that failed to decode, or that fills a pass alone (or is tiled), goes alone."""
    batch: list[_Item] = []
    for item in items:
        alone = item.image is None or 2 * _pixels(item) > max_pixels
        if batch and (alone or len(batch) >= batch_size or item.image.shape != batch[0].image.shape
                      or (len(batch) + 1) * _pixels(item) > max_pixels):
            yield batch
            batch = []
        if alone:
            yield [item]
        else:
            batch.append(item)
    if batch:
        yield batch


def _pixels(item: _Item) -> int:
    return item.image.shape[0] * item.image.shape[1]


def _load(path: Path) -> tuple[np.ndarray | None, str | None]:
    try:
        return load_image(path), None
    except ImageLoadError as exc:
        return None, exc.reason
    except OSError as exc:
        return None, exc.strerror or str(exc)


def _write_outputs(pred, labels: LabelSet, image: np.ndarray, base: Path, overlay: bool, confidence: bool,
                   opacity: float) -> None:
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

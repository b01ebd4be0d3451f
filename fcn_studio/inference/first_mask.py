"""`fcn-studio bench --checkpoint`: time to first mask as a user meets it, start-up included.

Each measurement is a fresh `fcn-studio predict` process (interpreter start, imports, checkpoint
load, image decoding, the forward passes, writing the PNGs, exit), for one image and for N, in float32
and in the device's low precision; next to it, in the same run, the bare PyTorch port's N forward
passes alone (inference.port_baseline). The low-precision label maps are compared with float32's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.inference.device import device_name, pick_device
from fcn_studio.inference.port_baseline import time_port_forwards
from fcn_studio.inference.precision import cpu_has_fast_bfloat16
from fcn_studio.model.checkpoint import read_info


@dataclass
class FirstMaskResult:
    port_seconds: float
    seconds: dict[tuple[str, int], float] = field(default_factory=dict)  # (precision, images) -> s
    agreement: float | None = None  # share of pixels where low precision and float32 agree
    classes_seen: int = 0  # distinct classes in the float32 maps: with one, agreement says nothing
    skipped: str = ""  # why the low precision was not run


def synthetic_images(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """Smooth, photo-like JPEGs (no files of anyone's), different from each other."""
    folder.mkdir(parents=True, exist_ok=True)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(xx / 53), 128 + 100 * np.cos(yy / 71),
                     128 + 100 * np.sin((xx + yy) / 97)], -1).astype(np.uint8)
    paths = []
    for i in range(count):
        path = folder / f"image{i:03d}.jpg"
        Image.fromarray(np.roll(base, 37 * i, axis=1)).save(path, quality=90)
        paths.append(path)
    return paths


def images_from(folder: Path, count: int) -> list[Path]:
    from fcn_studio.inference.batch_predict import collect_inputs  # noqa: PLC0415

    found = [p for p, _ in collect_inputs([folder])][:count]
    if not found:
        raise ValueError(f"{folder}: no image found to benchmark with")
    return found


def predict_in_fresh_process(checkpoint: Path, images: list[Path], out: Path, device: str,
                             precision: str) -> float:
    """Wall seconds of `fcn-studio predict` from launch to exit, as a user would time it."""
    cmd = [sys.executable, "-m", "fcn_studio", "predict", *map(str, images), "--model", str(checkpoint),
           "--out", str(out), "--device", device, "--precision", precision]
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        tail = (run.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"fcn-studio predict failed while benchmarking {checkpoint}: {tail}")
    return seconds


def _agreement(a: Path, b: Path, images: list[Path]) -> tuple[float, int]:
    """(share of pixels with the same class, distinct classes in the first set of maps)."""
    same = total = 0
    classes: set[int] = set()
    for image in images:
        x = np.asarray(Image.open(a / f"{image.stem}.png"))
        y = np.asarray(Image.open(b / f"{image.stem}.png"))
        same += int((x == y).sum())
        total += x.size
        classes.update(np.unique(x).tolist())
    return same / total, len(classes)


def run_first_mask_bench(checkpoint: Path, count: int = 6, size: tuple[int, int] = (500, 500),
                         image_dir: Path | None = None, device: str | None = None, rounds: int = 1,
                         report: Callable[[str], None] = print) -> FirstMaskResult:
    info = read_info(checkpoint)  # a bad file fails here, in one line, before anything is timed
    dev = pick_device(device)
    low = "float16" if dev.type in ("cuda", "mps") else "bfloat16"
    precisions = ["float32", low]
    skipped = ""
    if low == "bfloat16" and not cpu_has_fast_bfloat16():
        precisions, skipped = ["float32"], "bfloat16 not run: this CPU has neither AVX512-BF16 nor AMX"
    with tempfile.TemporaryDirectory(prefix="fcn-first-mask-") as tmp:
        tmp_path = Path(tmp)
        images = images_from(image_dir, count) if image_dir else synthetic_images(tmp_path / "images", count, size)
        if image_dir:
            with Image.open(images[0]) as first:
                size = (first.height, first.width)
        result = FirstMaskResult(port_seconds=float("inf"), skipped=skipped)
        for r in range(rounds):  # the best of each over the rounds: the least disturbed by other load
            result.port_seconds = min(result.port_seconds, time_port_forwards(len(images), size,
                                                                              info.config.num_classes, dev))
            for precision in precisions:
                for subset in (images[:1], images):
                    out = tmp_path / f"{precision}-{len(subset)}-{r}"
                    seconds = predict_in_fresh_process(checkpoint, subset, out, str(dev), precision)
                    key = (precision, len(subset))
                    result.seconds[key] = min(result.seconds.get(key, float("inf")), seconds)
        if len(precisions) > 1:
            n = len(images)
            result.agreement, result.classes_seen = _agreement(tmp_path / f"float32-{n}-0", tmp_path / f"{low}-{n}-0",
                                                               images)
    _report(result, checkpoint, info, dev, len(images), size, rounds, report)
    return result


def _report(result: FirstMaskResult, checkpoint: Path, info, dev, n: int, size: tuple[int, int], rounds: int,
            report: Callable[[str], None]) -> None:
    c = info.config
    report(f"time to first mask: {checkpoint} ({c.arch} {c.backbone} {c.alignment}) on {device_name(dev)}, "
           f"{size[0]}x{size[1]} images; ours = a fresh `fcn-studio predict` process, start-up included"
           + (f"; best of {rounds} rounds" if rounds > 1 else ""))
    report(f"{'':<36} {'1 image':>9} {f'{n} images':>10} {'vs port':>8}")
    port = result.port_seconds
    report(f"{f'PyTorch port FCN-8s, {n} forwards only':<36} {'':>9} {port:9.2f}s {1:7.2f}x")
    for precision in ("float32", "bfloat16", "float16"):
        if (precision, n) in result.seconds:
            one, all_ = result.seconds[(precision, 1)], result.seconds[(precision, n)]
            report(f"{f'fcn-studio predict, {precision}':<36} {one:8.2f}s {all_:9.2f}s {all_ / port:7.2f}x")
    if result.skipped:
        report(result.skipped)
    if result.agreement is not None:
        report(f"low precision vs float32 label maps: {100 * result.agreement:.2f}% of pixels agree ({n} images)"
               + ("; but float32 predicts one class everywhere, so this says nothing: use a trained model"
                  if result.classes_seen < 2 else ""))

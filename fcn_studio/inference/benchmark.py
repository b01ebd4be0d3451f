"""`fcn-studio bench`: milliseconds per image, multiply-adds and achieved GFLOP/s for our models,
against the device's own matrix-multiply peak and torchvision's fcn_resnet50, all in one run (our
fcn_resnet50 is that same network, so the two rows show what our wrapper costs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from fcn_studio.inference.device import device_name, pick_device
from fcn_studio.inference.precision import DTYPES, autocast, choose_precision
from fcn_studio.model.backbones import LIGHT_BACKBONES
from fcn_studio.model.fcn import build_fcn
from fcn_studio.model.network import build_network, is_dilated, make_config

DEFAULT_MODELS = ("fcn8s-vgg16-classic", "fcn8s-vgg16-fast",
                  *(f"fcn8s-{b}-fast" for b in LIGHT_BACKBONES), "fcn_resnet50", "torchvision-fcn_resnet50")


@dataclass
class BenchRow:
    name: str
    ms_per_image: float
    gmacs: float
    gflops: float
    peak_fraction: float


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of convolutions, transposed convolutions and linear layers for one forward."""
    total = 0

    def conv_hook(m: nn.Conv2d, inp, out):
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def deconv_hook(m: nn.ConvTranspose2d, inp, out):
        nonlocal total
        total += inp[0].numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m: nn.Linear, inp, out):
        nonlocal total
        total += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.ConvTranspose2d):
            hooks.append(m.register_forward_hook(deconv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return total


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def matmul_peak_gflops(device: torch.device, precision: str = "float32", sizes: tuple[int, ...] | None = None,
                       repeat: int = 5) -> float:
    """The device's achievable dense matrix-multiply rate (best over a few sizes), the yardstick for
    every model below. Convolution libraries can beat it (oneDNN does on some CPUs), so a model can
    show more than 100%."""
    on_gpu = device.type in ("cuda", "mps")
    sizes = sizes or ((2048, 4096, 8192) if on_gpu else (1024, 2048, 3072))
    dtype = DTYPES.get(precision, torch.float32)
    best_rate = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        with torch.inference_mode():
            a @ b
            _sync(device)
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                a @ b
                _sync(device)
                best = min(best, time.perf_counter() - t)
        best_rate = max(best_rate, 2 * n**3 / best / 1e9)
    return best_rate


def build_bench_model(name: str, num_classes: int = 21) -> nn.Module:
    if name == "torchvision-fcn_resnet50":
        import torchvision.models.segmentation  # noqa: PLC0415 (a second to import; only this row needs it)

        return torchvision.models.segmentation.fcn_resnet50(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
    if is_dilated(name):
        return build_network(make_config(name, num_classes))
    try:
        arch, backbone, alignment = name.split("-")
    except ValueError as exc:
        raise ValueError(f"model names look like fcn8s-resnet18-fast or fcn_resnet50, got {name!r}") from exc
    return build_fcn(arch, backbone, num_classes=num_classes, alignment=alignment)


def time_model(model: nn.Module, x: torch.Tensor, repeat: int, precision: str = "float32") -> float:
    """Best-of-`repeat` seconds per forward after one warm-up (the minimum is the least noisy
    estimate on a shared machine)."""
    device = x.device
    with torch.inference_mode(), autocast(device, precision):
        model(x)
        _sync(device)
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            model(x)
            _sync(device)
            best = min(best, time.perf_counter() - t)
    return best


def run_benchmark(models=DEFAULT_MODELS, size: tuple[int, int] = (500, 500), batch: int = 1,
                  repeat: int = 3, device: str | None = None, precision: str | None = None,
                  channels_last: bool = True, report: Callable[[str], None] = print) -> tuple[list[BenchRow], float]:
    """`precision` is chosen per model as the predictor would (inference.precision); each row is
    measured against the matrix-multiply peak in its own precision."""
    dev = pick_device(device)
    chosen = {name: choose_precision(precision, dev, _backbone_of(name)) for name in models}
    peaks = {p: matmul_peak_gflops(dev, p) for p in sorted(set(chosen.values()))}
    layout = "channels-last" if channels_last else "NCHW"
    report(f"device: {device_name(dev)}; input {batch}x3x{size[0]}x{size[1]}, {layout}; matmul peak "
           + ", ".join(f"{p} {g:.0f}" for p, g in peaks.items()) + " GFLOP/s")
    report(f"{'model':<28} {'precision':>9} {'ms/img':>9} {'img/s':>8} {'GMAC/img':>9} {'GFLOP/s':>9} "
           f"{'of mm peak':>10}")
    rows = []
    for name in models:
        prec, peak = chosen[name], peaks[chosen[name]]
        torch.manual_seed(0)
        model = build_bench_model(name).to(dev).eval()
        x = torch.randn(batch, 3, *size, device=dev)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        macs = count_macs(model, x[:1])
        seconds = time_model(model, x, repeat, prec)
        ms = 1000 * seconds / batch
        gflops = 2 * macs * batch / seconds / 1e9
        row = BenchRow(name, ms, macs / 1e9, gflops, gflops / peak)
        rows.append(row)
        report(f"{name:<28} {prec:>9} {ms:9.1f} {1000 / ms:8.2f} {row.gmacs:9.1f} {gflops:9.1f} "
               f"{100 * row.peak_fraction:9.0f}%")
        del model, x
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    by_name = {r.name: r for r in rows}
    if "fcn8s-vgg16-classic" in by_name and "fcn8s-vgg16-fast" in by_name:
        c, f = by_name["fcn8s-vgg16-classic"], by_name["fcn8s-vgg16-fast"]
        report(f"VGG16 FCN-8s fast vs classic: {c.ms_per_image / f.ms_per_image:.2f}x faster, "
               f"{100 * (1 - f.gmacs / c.gmacs):.0f}% fewer multiply-adds")
    return rows, max(peaks.values())


def _backbone_of(name: str) -> str | None:
    """The backbone in a bench model name (fcn8s-vgg16-fast, torchvision-fcn_resnet50)."""
    if name.startswith("torchvision-fcn_"):
        return name.removeprefix("torchvision-fcn_")
    parts = name.split("-")
    return parts[1] if len(parts) == 3 else None

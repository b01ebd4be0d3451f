"""The one place that decides the number format a prediction runs in.

"auto" (the default, and what FCN_STUDIO_PRECISION=auto or no setting means) is float16 autocast on
GPUs, as before, and bfloat16 autocast on a CPU that has AVX512-BF16 or AMX (detected, never assumed),
for the backbones where it was measured to be faster; float32 everywhere else. FCN_STUDIO_PRECISION
or a command's --precision chooses another (float32 is the switch that turns low precision off).
Only the encoder runs in low precision: FCN keeps its score head in float32 (see model.fcn)."""

from __future__ import annotations

import contextlib
import os

import torch

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}
ENV = "FCN_STUDIO_PRECISION"
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
# Backbones for which "auto" picks bfloat16 on a capable CPU. Measured at 500x500 on this project's
# 2-core AVX512-BF16 CPU (`fcn-studio bench --precision float32|bfloat16`): VGG16 FCN-8s 0.63x the
# float32 time (classic) and 0.80x (fast); the light backbones were 2-4x slower in bfloat16 (ResNet-18
# 108 vs 48 ms, MobileNetV3-Large 52 vs 20 ms), and a fine-tuned MobileNetV2 agreed with float32 on
# only 98.9% of pixels, so they stay float32.
CPU_BF16_AUTO_BACKBONES = frozenset({"vgg16"})
# Backbones that train in bfloat16 autocast on a capable CPU (recipes that ask for mixed precision).
# Measured with the interactive recipe on generated data (benchmarks/ and the note of issue 10): the
# same validation mean IU per iteration as float32, and faster per iteration.
CPU_BF16_TRAINING_BACKBONES = frozenset({"mobilenet_v2"})


def parse_precision(text: str) -> str:
    """A precision name as the user may write it (float32, fp32, bf16, ...) in its canonical form."""
    name = ALIASES.get(text.strip().lower(), text.strip().lower())
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {text!r}; use auto, float32, bfloat16 or float16")
    return name


def for_evaluation(requested: str | None) -> str:
    """`eval` reproduces published numbers: float32 unless the command (--precision) or
    FCN_STUDIO_PRECISION asks for another (auto included)."""
    if requested is not None:
        return requested
    return os.environ.get(ENV, "").strip() or "float32"


def explain(chosen: str, requested: str | None, device: torch.device, backbone: str | None = None,
            default: str = "auto") -> str:
    """One line saying the precision a run uses and what chose it, printed once per run. `requested`:
    what the command line asked (None: nothing), `default`: the command's own default."""
    setting = os.environ.get(ENV, "").strip()
    if requested not in (None, "auto"):
        return f"precision: {chosen} (as asked)"
    if requested is None and setting and parse_precision(setting) != "auto":
        return f"precision: {chosen} ({ENV}={setting})"
    if requested is None and not setting and default == "float32":
        return "precision: float32 (eval's default, so numbers reproduce; --precision auto lets the machine choose)"
    if chosen == "float32":
        return f"precision: float32 (on {device.type})"
    why = (f"chosen for {backbone or 'this model'} on this CPU's bfloat16 hardware" if chosen == "bfloat16"
           else f"chosen on {device.type}")
    return f"precision: {chosen} ({why}; --precision float32 gives float32's exact results)"


def cpu_has_fast_bfloat16() -> bool:
    """True where the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX tiles). Elsewhere torch
    emulates it, slower than float32. The probes are private torch functions, so guarded."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except (RuntimeError, AttributeError):  # a torch build without the probe's backend
            continue
    return False


def choose_precision(requested: str | None, device: torch.device, backbone: str | None = None) -> str:
    """float32, bfloat16 or float16 for a model with `backbone` on `device`. `requested` None or
    "auto" defers to FCN_STUDIO_PRECISION, then to the machine; an explicit choice the device cannot
    run well is a one-line error rather than a silent slowdown."""
    name = parse_precision(requested or "auto")
    if name == "auto":
        setting = os.environ.get(ENV, "").strip()
        if setting:
            try:
                name = parse_precision(setting)
            except ValueError as exc:
                raise ValueError(f"{ENV}={setting!r}: {exc}") from None
    if name == "auto":
        if device.type in ("cuda", "mps"):
            return "float16"
        if device.type == "cpu" and backbone in CPU_BF16_AUTO_BACKBONES and cpu_has_fast_bfloat16():
            return "bfloat16"
        return "float32"
    if device.type == "cpu" and name == "bfloat16" and not cpu_has_fast_bfloat16():
        raise ValueError("bfloat16 asked for, but this CPU has neither AVX512-BF16 nor AMX, so it would "
                         "be slower than float32; use --precision float32 (or auto)")
    if device.type == "cpu" and name == "float16":
        raise ValueError("float16 runs on GPUs; on the CPU use bfloat16 (where the CPU has it) or float32")
    return name


def training_precision(device: torch.device, backbone: str | None) -> str:
    """float16 on GPUs (with a gradient scaler), bfloat16 on a CPU with bfloat16 hardware for the
    backbones measured to learn as well and faster, float32 otherwise. FCN_STUDIO_PRECISION=float32
    turns low precision off for training as for prediction."""
    if os.environ.get(ENV, "").strip() and parse_precision(os.environ[ENV]) == "float32":
        return "float32"
    if device.type == "cuda":
        return "float16"
    if device.type == "cpu" and backbone in CPU_BF16_TRAINING_BACKBONES and cpu_has_fast_bfloat16():
        return "bfloat16"
    return "float32"


def autocast(device: torch.device, precision: str):
    """The autocast context for `precision` (nothing at all for float32, so that path is unchanged)."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])

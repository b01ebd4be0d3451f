"""The encoder's normalisation: "batch" (the backbone's own BatchNorm, as its ImageNet weights were
trained; VGG16 has none) or "group" (GroupNorm, Wu & He 2018).

Why two: a pretrained encoder's BatchNorm statistics are part of what it learned, so it keeps them. An
encoder that starts random (offline, no weights) learns from a handful of corrected images, and there
BatchNorm fails in two ways: its running averages lag the weights (eval mode predicts only background
after a short run), and statistics pooled over a batch of different images are not the statistics one
image has at prediction time (measured on the sample project: the same ResNet-18 weights reach held-out
mean IU 0.30 with per-image statistics against 0.10-0.12 with batch ones). GroupNorm normalises each
image by its own statistics, identically in training and prediction, with nothing to settle."""

from __future__ import annotations

import math

from torch import nn

NORMS = ("batch", "group")
GROUPS = 32  # the paper's default; fewer where the channel count is not a multiple (MobileNets' 24, 40...)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(GROUPS, channels), channels)


def check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown normalisation {norm!r}; choose batch or group")


def norm_for_start(encoder_tensors_loaded: int) -> str:
    """The one rule: an encoder that loaded pretrained tensors keeps its BatchNorm; a random one gets
    GroupNorm."""
    return "batch" if encoder_tensors_loaded > 0 else "group"

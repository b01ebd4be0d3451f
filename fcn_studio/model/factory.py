"""New models as a user asks for them: architecture, backbone, label set, and ImageNet weights when
they can be had (a clear note, not a hang, when they cannot)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from torch import nn

from fcn_studio.core.labels import LabelSet
from fcn_studio.model.checkpoint import CheckpointInfo, new_provenance
from fcn_studio.model.input_spec import IMAGENET
from fcn_studio.model.network import build_network, is_dilated, make_config
from fcn_studio.model.norm import norm_for_start
from fcn_studio.model.pretrained import imagenet_weights_file, load_encoder_weights, load_imagenet
from fcn_studio.model_choices import DEFAULT_ARCH, DEFAULT_BACKBONE_PREFERENCE


def default_backbone() -> str:
    """The one default backbone: the first of model_choices.DEFAULT_BACKBONE_PREFERENCE with ImageNet
    weights on this machine (pretrained learns from a few corrected images far faster), else the first.
    FCN_STUDIO_DEFAULT_BACKBONE overrides the choice."""
    chosen = os.environ.get("FCN_STUDIO_DEFAULT_BACKBONE")
    if chosen:
        return chosen
    return next((b for b in DEFAULT_BACKBONE_PREFERENCE if imagenet_weights_file(b) is not None),
                DEFAULT_BACKBONE_PREFERENCE[0])


# fc6/fc7 of a VGG16 that starts random: 4096 wide only to hold ImageNet's fully connected weights; from
# scratch on a CPU that width more than halves the steps a few minutes give (sample project, 3 minutes:
# 60 steps and held-out mean IU 0.24 at 4096, 134 steps and 0.31 at 1024).
RANDOM_VGG_FC = 1024


def _random_start(backbone: str, asked: dict) -> dict:
    """How an encoder without pretrained tensors is built, where the caller did not say otherwise."""
    start = {"norm": norm_for_start(0)}
    if backbone == "vgg16":
        start["fc_channels"] = RANDOM_VGG_FC
    return {k: v for k, v in start.items() if k not in asked}


def new_model(arch: str = DEFAULT_ARCH, backbone: str | None = None, labels: LabelSet | None = None,
              alignment: str = "fast", weights: str | Path | None = "imagenet",
              **config) -> tuple[nn.Module, CheckpointInfo, str]:
    """`weights`: "imagenet" (torchvision's cache), a state-dict path, or None for random init. The
    provenance keeps how many encoder tensors were loaded (`encoder_tensors_loaded`), so whether the
    encoder is pretrained is a number to read, not a message to parse. A dilated FCN (fcn_resnet50/101)
    has its own backbone, whose ImageNet weights come through the same path; `with_aux=True` adds its
    auxiliary head."""
    labels = labels or LabelSet.voc()
    if not is_dilated(arch):
        backbone = backbone or default_backbone()
        if weights is None or (str(weights) == "imagenet" and imagenet_weights_file(backbone) is None):
            config.update(_random_start(backbone, config))  # no pretrained tensors to come: built for that
    cfg = make_config(arch, len(labels), backbone, alignment, **config)
    backbone = cfg.backbone
    model = build_network(cfg)
    if weights is None:
        note, loaded = "encoder randomly initialised", 0
    else:
        report = load_imagenet(model.backbone, backbone) if str(weights) == "imagenet" \
            else load_encoder_weights(model.backbone, weights)
        note, loaded = report.summary(), len(report.loaded)
        if not is_dilated(arch) and "norm" not in config and cfg.norm != norm_for_start(loaded):
            # a weights file that filled nothing: built again as any random encoder is
            cfg = replace(cfg, **_random_start(backbone, config))
            model = build_network(cfg)
    if getattr(cfg, "norm", "batch") == "group":
        note += "; GroupNorm (a random encoder learns from a few images with per-image statistics)"
    info = CheckpointInfo(cfg, labels, IMAGENET, new_provenance(
        f"new {arch} on {backbone}", backbone_weights=note, encoder_tensors_loaded=loaded))
    return model.eval(), info, note

"""New models as a user asks for them: architecture, backbone, label set, and ImageNet weights when
they can be had (a clear note, not a hang, when they cannot)."""

from __future__ import annotations

import os
from pathlib import Path

from fcn_studio.core.labels import LabelSet
from fcn_studio.model.checkpoint import CheckpointInfo, new_provenance
from fcn_studio.model.fcn import FCN, FCNConfig
from fcn_studio.model.input_spec import IMAGENET
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


def new_model(arch: str = DEFAULT_ARCH, backbone: str | None = None, labels: LabelSet | None = None,
              alignment: str = "fast", weights: str | Path | None = "imagenet",
              **config) -> tuple[FCN, CheckpointInfo, str]:
    """`weights`: "imagenet" (torchvision's cache), a state-dict path, or None for random init. The
    provenance keeps how many encoder tensors were loaded (`encoder_tensors_loaded`), so whether the
    encoder is pretrained is a number to read, not a message to parse."""
    labels = labels or LabelSet.voc()
    backbone = backbone or default_backbone()
    cfg = FCNConfig(arch=arch, backbone=backbone, num_classes=len(labels), alignment=alignment, **config)
    model = FCN(cfg)
    if weights is None:
        note, loaded = "encoder randomly initialised", 0
    else:
        report = load_imagenet(model.backbone, backbone) if str(weights) == "imagenet" \
            else load_encoder_weights(model.backbone, weights)
        note, loaded = report.summary(), len(report.loaded)
    info = CheckpointInfo(cfg, labels, IMAGENET, new_provenance(
        f"new {arch} on {backbone}", backbone_weights=note, encoder_tensors_loaded=loaded))
    return model.eval(), info, note

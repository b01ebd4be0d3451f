"""torchvision's fcn_resnet50 / fcn_resnet101: one FCN head (3x3 conv, BN, ReLU, dropout, 1x1 conv) on a
ResNet whose last two stages are dilated (output stride 8), logits bilinearly upsampled to the input
size, and an optional auxiliary head on layer3 for training. Not FCN-8s: no skip layers.

Built from torchvision's own builders, so the state-dict keys are torchvision's exactly and its
released weights (COCO_WITH_VOC_LABELS_V1) load as they are. torchvision is imported only when a network
is built, so reading a checkpoint's metadata never pays for it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fcn_studio.model_choices import DILATED_ARCHS


@dataclass(frozen=True)
class DilatedFCNConfig:
    arch: str = "fcn_resnet50"
    num_classes: int = 21
    with_aux: bool = False  # the layer3 head torchvision's reference trains with (loss weight 0.5)

    def __post_init__(self) -> None:
        if self.arch not in DILATED_ARCHS:
            raise ValueError(f"unknown dilated-ResNet FCN {self.arch!r}; choose one of {', '.join(DILATED_ARCHS)}")
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) \
                or not 1 <= self.num_classes <= 255:
            raise ValueError(f"num_classes must be a whole number 1..255, got {self.num_classes!r}")
        if not isinstance(self.with_aux, bool):
            raise ValueError(f"with_aux must be true or false, got {self.with_aux!r}")

    @property
    def backbone(self) -> str:
        """Fixed by the architecture; a property so code that shows `arch on backbone` reads both kinds."""
        return DILATED_ARCHS[self.arch][0]

    @property
    def alignment(self) -> str:
        return "fast"  # output exactly H x W for any input; there is no Caffe-aligned variant

    def to_dict(self) -> dict:
        return {"arch": self.arch, "backbone": self.backbone, "num_classes": self.num_classes,
                "with_aux": self.with_aux}

    @classmethod
    def from_dict(cls, data: dict) -> DilatedFCNConfig:
        if not isinstance(data, dict):
            raise ValueError(f"a model description must be a JSON object, not {type(data).__name__}")
        config = cls(**{k: data[k] for k in ("arch", "num_classes", "with_aux") if k in data})
        if data.get("backbone", config.backbone) != config.backbone:
            raise ValueError(f"{config.arch} is built on {config.backbone}, not {data['backbone']!r}")
        return config


class DilatedResNetFCN(nn.Module):
    """torchvision's segmentation FCN with our calling convention: forward returns logits N x C x H x W,
    and (logits, aux_logits) only while training with an aux head, for the trainer's auxiliary loss."""

    def __init__(self, config: DilatedFCNConfig) -> None:
        super().__init__()
        from torchvision.models.segmentation import fcn as tv_fcn  # noqa: PLC0415 (only when built)

        self.config = config
        builder = getattr(tv_fcn, config.arch)
        net = builder(weights=None, weights_backbone=None, num_classes=config.num_classes,
                      aux_loss=config.with_aux)
        self.backbone = net.backbone
        self.classifier = net.classifier
        self.aux_classifier = net.aux_classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        size = x.shape[-2:]
        features = self.backbone(x)
        logits = F.interpolate(self.classifier(features["out"]), size=size, mode="bilinear", align_corners=False)
        if self.training and self.aux_classifier is not None:
            aux = F.interpolate(self.aux_classifier(features["aux"]), size=size, mode="bilinear",
                                align_corners=False)
            return logits, aux
        return logits

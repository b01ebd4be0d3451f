"""Light torchvision backbones cut at strides 8, 16 and 32 for the FCN skip head. They make
interactive training on a laptop CPU possible, so they get the same head and tests as VGG16.

torchvision is imported only when one of them is built: its package import loads its whole model zoo,
datasets and ops (about a second), which a VGG16 model never needs."""

from __future__ import annotations

import torch
from torch import nn

from fcn_studio.model.norm import check_norm, group_norm
from fcn_studio.model.vgg import VGG16Encoder
from fcn_studio.model_choices import BACKBONES

LIGHT_BACKBONES = tuple(b for b in BACKBONES if b != "vgg16")


class ResNetEncoder(nn.Module):
    """Keeps torchvision's module names (conv1, bn1, layer1..4) so ImageNet state dicts load as is."""

    supports_classic = False

    def __init__(self, name: str, norm: str = "batch") -> None:
        super().__init__()
        net = _torchvision_model(name, norm)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        expansion = 4 if name == "resnet50" else 1
        self.channels = (128 * expansion, 256 * expansion, 512 * expansion)

    def forward(self, x: torch.Tensor):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c8 = self.layer2(self.layer1(x))
        c16 = self.layer3(c8)
        return c8, c16, self.layer4(c16)


class MobileNetEncoder(nn.Module):
    """torchvision's `features` sequence, split after the last block at each of strides 8 and 16."""

    supports_classic = False

    def __init__(self, name: str, norm: str = "batch") -> None:
        super().__init__()
        self.features = _torchvision_model(name, norm).features
        self.cut8, self.cut16, self.channels = _find_cuts(self.features)

    def forward(self, x: torch.Tensor):
        c8 = self.features[: self.cut8 + 1](x)
        c16 = self.features[self.cut8 + 1 : self.cut16 + 1](c8)
        return c8, c16, self.features[self.cut16 + 1 :](c16)


def _torchvision_model(name: str, norm: str = "batch") -> nn.Module:
    """torchvision's network with its own BatchNorm, or GroupNorm in every place it has one."""
    import torchvision.models  # noqa: PLC0415 (see the module docstring)

    check_norm(norm)
    extra = {"norm_layer": group_norm} if norm == "group" else {}
    return getattr(torchvision.models, name)(weights=None, **extra)


def stride_ends(features: nn.Sequential) -> dict[int, tuple[int, int]]:
    """{stride: (index of the last layer at that stride, its channels)}, found by running a small
    input through once instead of hard-coding indices that differ between MobileNet versions."""
    size = 64
    last: dict[int, tuple[int, int]] = {}
    x = torch.zeros(1, 3, size, size)
    was_training = features.training
    features.eval()
    with torch.no_grad():
        for i, layer in enumerate(features):
            x = layer(x)
            last[size // x.shape[-1]] = (i, x.shape[1])
    features.train(was_training)
    return last


def _find_cuts(features: nn.Sequential) -> tuple[int, int, tuple[int, int, int]]:
    last = stride_ends(features)
    return last[8][0], last[16][0], (last[8][1], last[16][1], last[32][1])


def build_encoder(name: str, alignment: str = "fast", fc_channels: int = 4096, norm: str = "batch") -> nn.Module:
    """`norm`: see model/norm.py."""
    if name == "vgg16":
        return VGG16Encoder(alignment=alignment, fc_channels=fc_channels, norm=norm)
    if alignment == "classic":
        raise ValueError(f"the classic alignment exists only for vgg16 (Caffe's FCN), not {name}")
    if name.startswith("resnet") and name in LIGHT_BACKBONES:
        return ResNetEncoder(name, norm)
    if name.startswith("mobilenet") and name in LIGHT_BACKBONES:
        return MobileNetEncoder(name, norm)
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")

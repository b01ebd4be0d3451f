"""FCN-32s, FCN-16s and FCN-8s (Long, Shelhamer & Darrell) on any encoder with stride-8/16/32 features.

Layer names follow the Caffe release (score_fr, score_pool4, score_pool3, upscore2, upscore_pool4,
upscore8, upscore16, upscore) so the two alignments share one state dict and converted weights map
one to one. The output is exactly H x W for every input H x W."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from fcn_studio.model.backbones import build_encoder
from fcn_studio.model.bilinear import init_bilinear_
from fcn_studio.model.norm import check_norm
from fcn_studio.model_choices import BACKBONES, FCN_ARCHS

ALIGNMENTS = ("fast", "classic")
# Crop offsets of the Caffe release for its 100-pixel padded VGG16 (voc-fcn{32,16,8}s/net.py).
CLASSIC_OFFSETS = {"score_pool4": 5, "score_pool3": 9, "fcn8s": 31, "fcn16s": 27, "fcn32s": 19}
STRIDE = 32


@dataclass(frozen=True)
class FCNConfig:
    arch: str = "fcn8s"
    backbone: str = "resnet18"
    num_classes: int = 21
    alignment: str = "fast"
    fc_channels: int = 4096  # VGG16's fc6/fc7 width; ignored by the light backbones
    pool4_scale: float = 1.0  # 0.01 and 0.0001 in the "at-once" FCN-8s of the release
    pool3_scale: float = 1.0
    norm: str = "batch"  # the encoder's normalisation (model/norm.py): "group" for one that started random

    def __post_init__(self) -> None:
        """Checks every field, so a config read from a file either builds a network or says why not."""
        if self.arch not in FCN_ARCHS:
            raise ValueError(f"unknown FCN architecture {self.arch!r}; choose one of {', '.join(FCN_ARCHS)}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.alignment not in ALIGNMENTS:
            raise ValueError(f"unknown alignment {self.alignment!r}; choose fast or classic")
        if self.alignment == "classic" and self.backbone != "vgg16":
            raise ValueError(f"the classic alignment exists only for vgg16 (Caffe's FCN), not {self.backbone}")
        if not _is_int(self.num_classes) or not 1 <= self.num_classes <= 255:
            raise ValueError(f"num_classes must be a whole number 1..255, got {self.num_classes!r}")
        if not _is_int(self.fc_channels) or self.fc_channels < 1:
            raise ValueError(f"fc_channels must be a positive whole number, got {self.fc_channels!r}")
        check_norm(self.norm)
        for name in ("pool4_scale", "pool3_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FCNConfig:
        if not isinstance(data, dict):
            raise ValueError(f"a model description must be a JSON object, not {type(data).__name__}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FCN(nn.Module):
    def __init__(self, config: FCNConfig) -> None:
        super().__init__()
        self.config = config
        n = config.num_classes
        self.backbone = build_encoder(config.backbone, config.alignment, config.fc_channels, config.norm)
        c8, c16, c32 = self.backbone.channels
        fast = config.alignment == "fast"
        self.score_fr = nn.Conv2d(c32, n, 1)
        if config.arch == "fcn32s":
            self.upscore = nn.ConvTranspose2d(n, n, 64, stride=32, padding=16 if fast else 0, bias=False)
        else:
            self.score_pool4 = nn.Conv2d(c16, n, 1)
            self.upscore2 = nn.ConvTranspose2d(n, n, 4, stride=2, padding=1 if fast else 0, bias=False)
        if config.arch == "fcn16s":
            self.upscore16 = nn.ConvTranspose2d(n, n, 32, stride=16, padding=8 if fast else 0, bias=False)
        if config.arch == "fcn8s":
            self.score_pool3 = nn.Conv2d(c8, n, 1)
            self.upscore_pool4 = nn.ConvTranspose2d(n, n, 4, stride=2, padding=1 if fast else 0, bias=False)
            self.upscore8 = nn.ConvTranspose2d(n, n, 16, stride=8, padding=4 if fast else 0, bias=False)
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                init_bilinear_(m)
        for name in ("score_fr", "score_pool4", "score_pool3"):
            layer = getattr(self, name, None)
            if layer is not None:  # zero-initialised class scoring, as in the release
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if self.config.alignment == "fast":
            pad_h, pad_w = (-h) % STRIDE, (-w) % STRIDE
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h))
        features = self.backbone(x)
        device_type = x.device.type
        if not torch.is_autocast_enabled(device_type):
            return self._head(*features, h, w)
        # Under autocast (bfloat16 on the CPU, float16 on GPUs) only the encoder runs in low precision:
        # the score layers and up-convolutions are a few % of the time and, in float32, keep the label
        # map closer to float32's (random VGG16 FCN-8s, bfloat16: 99.6% of pixels agree instead of 98.9%).
        with torch.autocast(device_type, enabled=False):
            return self._head(*(f.float() for f in features), h, w)

    def _head(self, pool3: torch.Tensor, pool4: torch.Tensor, top: torch.Tensor, h: int, w: int) -> torch.Tensor:
        if self.config.alignment == "classic":
            return self._head_classic(pool3, pool4, top, h, w)
        score = self.score_fr(top)
        if self.config.arch == "fcn32s":
            return self.upscore(score)[..., :h, :w]
        score = self.upscore2(score) + self.score_pool4(pool4 * self.config.pool4_scale)
        if self.config.arch == "fcn16s":
            return self.upscore16(score)[..., :h, :w]
        score = self.upscore_pool4(score) + self.score_pool3(pool3 * self.config.pool3_scale)
        return self.upscore8(score)[..., :h, :w]

    def _head_classic(self, pool3: torch.Tensor, pool4: torch.Tensor, top: torch.Tensor, h: int,
                      w: int) -> torch.Tensor:
        score = self.score_fr(top)
        arch = self.config.arch
        if arch == "fcn32s":
            return _crop(self.upscore(score), CLASSIC_OFFSETS[arch], h, w)
        up = self.upscore2(score)
        skip = _crop(self.score_pool4(pool4 * self.config.pool4_scale), CLASSIC_OFFSETS["score_pool4"],
                     *up.shape[-2:])
        score = up + skip
        if arch == "fcn16s":
            return _crop(self.upscore16(score), CLASSIC_OFFSETS[arch], h, w)
        up = self.upscore_pool4(score)
        skip = _crop(self.score_pool3(pool3 * self.config.pool3_scale), CLASSIC_OFFSETS["score_pool3"],
                     *up.shape[-2:])
        return _crop(self.upscore8(up + skip), CLASSIC_OFFSETS[arch], h, w)


def _crop(t: torch.Tensor, offset: int, h: int, w: int) -> torch.Tensor:
    return t[..., offset : offset + h, offset : offset + w]


class _SkipInit(TorchFunctionMode):
    """Turns the in-place random and constant fills of weight initialisation into no-ops on meta
    tensors. Computing them on meta would be free but for one thing: torch routes normal_ there through
    a decorator that imports torch._dynamo, a second of start-up for nothing."""

    FILLS = frozenset({torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.zero_, torch.Tensor.fill_,
                       torch.Tensor.copy_, *(getattr(nn.init, name) for name in (
                           "normal_", "uniform_", "trunc_normal_", "constant_", "zeros_", "ones_",
                           "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"))})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.FILLS and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            return args[0]
        return func(*args, **(kwargs or {}))


@contextmanager
def empty_init() -> Iterator[None]:
    """Modules built inside have their structure with no memory behind it (meta device) and nothing
    initialised, so a checkpoint's tensors can be assigned in without first computing a random start
    that is thrown away (about a second for VGG16's 134M parameters). Fill them with
    load_state_dict(..., assign=True)."""
    with torch.device("meta"), _SkipInit():
        yield


def build_empty(config: FCNConfig) -> FCN:
    """An FCN built inside empty_init()."""
    with empty_init():
        return FCN(config)


def build_fcn(arch: str = "fcn8s", backbone: str = "resnet18", num_classes: int = 21,
              alignment: str = "fast", **kwargs) -> FCN:
    return FCN(FCNConfig(arch=arch, backbone=backbone, num_classes=num_classes, alignment=alignment,
                         **kwargs))

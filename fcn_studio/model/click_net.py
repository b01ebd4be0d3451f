"""The click model: an object from a few clicks. Xu et al. 2016 (an FCN whose input adds positive and
negative click maps), with RITM's inputs (Sofiiuk et al. 2022: clicks as disks, the previous selection)
fused late: the ImageNet encoder sees only the image, and the click maps join its features in an FCN
decoder with skips from strides 32, 16, 8 and 4 (small objects get sharp edges). So learning on a CPU
trains only the decoder (the encoder's pass needs no gradients, and a crop's features serve every click
simulated on it), which is what lets the model learn from a project's masks within minutes. It runs on a
zoomed crop around the object (inference/click_session.py), so each click costs one pass over a couple
of hundred pixels square, whatever the image's size."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from fcn_studio.model.backbones import MobileNetEncoder, stride_ends

WIDTH = 64  # channels of the fused decoder features
CLICK_BACKBONES = ("mobilenet_v2", "mobilenet_v3_large")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class ClickNet(nn.Module):
    """`forward(image, maps)`: image N x 3 x H x W (normalised), maps N x 3 x H x W (positive disks,
    negative disks, previous selection 0/1) -> logits N x 1 x H x W of the object the clicks mean.
    `features(image)` then `decode(features, maps)` is the same in two parts: training reuses one crop's
    features for the clicks it simulates, and learns only the decoder while the encoder is frozen."""

    def __init__(self, backbone: str = "mobilenet_v2") -> None:
        super().__init__()
        if backbone not in CLICK_BACKBONES:
            raise ValueError(f"the click model is built on {' or '.join(CLICK_BACKBONES)}, not {backbone}")
        self.backbone = backbone
        self.encoder = MobileNetEncoder(backbone)
        ends = stride_ends(self.encoder.features)
        self._cuts = [ends[s][0] + 1 for s in (4, 8, 16)]
        c4, c8, c16, c32 = (ends[s][1] for s in (4, 8, 16, 32))
        self.maps4 = nn.Sequential(_conv(3, 16, 2), _conv(16, WIDTH, 2))  # the clicks at stride 4
        self.maps8 = _conv(WIDTH, WIDTH, 2)  # ... and at stride 8
        self.proj4, self.proj8, self.proj16, self.proj32 = (nn.Conv2d(c, WIDTH, 1) for c in (c4, c8, c16, c32))
        self.head8 = nn.Sequential(_conv(2 * WIDTH, WIDTH), _conv(WIDTH, WIDTH))
        self.head4 = nn.Sequential(_conv(2 * WIDTH, WIDTH), _conv(WIDTH, WIDTH), nn.Conv2d(WIDTH, 1, 1))

    def features(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f = self.encoder.features
        a, b, c = self._cuts
        c4 = f[:a](image)
        c8 = f[a:b](c4)
        c16 = f[b:c](c8)
        return c4, c8, c16, f[c:](c16)

    def decode(self, features: tuple[torch.Tensor, ...], maps: torch.Tensor) -> torch.Tensor:
        c4, c8, c16, c32 = features
        m4 = self.maps4(maps)
        m4 = _up(m4, c4) if m4.shape[-2:] != c4.shape[-2:] else m4
        m8 = self.maps8(m4)
        m8 = _up(m8, c8) if m8.shape[-2:] != c8.shape[-2:] else m8
        image8 = self.proj8(c8) + _up(self.proj16(c16), c8) + _up(self.proj32(c32), c8)
        x = self.head8(torch.cat([image8, m8], 1))
        x = self.head4(torch.cat([_up(x, c4) + self.proj4(c4), m4], 1))
        return _up(x, maps)

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        return self.decode(self.features(image), maps)


CLICK_META_KEY = "fcn_studio_click_model"
CLICK_FORMAT_VERSION = 2  # 1 was a late-fusion network that never shipped


def save_click_model(path: str | Path, net: ClickNet, provenance: dict) -> None:
    """safetensors with JSON metadata, written atomically, like the semantic model's checkpoints."""
    from safetensors.torch import save_file  # noqa: PLC0415

    from fcn_studio.core.atomic import atomic_path  # noqa: PLC0415

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in net.state_dict().items()}
    meta = {CLICK_META_KEY: json.dumps({"format_version": CLICK_FORMAT_VERSION, "backbone": net.backbone,
                                        "provenance": provenance}, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_click_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[ClickNet, dict]:
    """The click model and its metadata; a file that is not one (a pickle, another checkpoint, damaged
    tensors, a missing file) raises CheckpointError with one line that says why. Never runs code from
    the file."""
    from safetensors import SafetensorError, safe_open  # noqa: PLC0415

    from fcn_studio.model.checkpoint import CheckpointError  # noqa: PLC0415
    from fcn_studio.model.state_dict_io import sniff_weights_file  # noqa: PLC0415

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.name}: no such click model file")
    if sniff_weights_file(path) == "pickle":
        raise CheckpointError(f"{path.name}: a PyTorch pickle, which can run code when loaded; not loaded")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            raw = (f.metadata() or {}).get(CLICK_META_KEY)
            if raw is None:
                raise CheckpointError(f"{path.name}: not an FCN Studio click model (no click-model metadata)")
            meta = json.loads(raw)
            if int(meta.get("format_version", 0)) != CLICK_FORMAT_VERSION:
                raise CheckpointError(f"{path.name}: a click model of format {meta.get('format_version')}, "
                                      f"this FCN Studio reads format {CLICK_FORMAT_VERSION}")
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name}: not a readable click model ({exc})") from exc
    try:
        net = ClickNet(str(meta.get("backbone", "mobilenet_v2")))
        net.load_state_dict(tensors)
    except (RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path.name}: the click model's tensors do not fit its network "
                              f"({str(exc)[:120]})") from exc
    return net.to(device).eval(), meta


def new_click_net(backbone: str = "mobilenet_v2") -> tuple[ClickNet, str]:
    """A click model whose encoder starts from the ImageNet weights on this machine (offline too: the
    model cache), else from random weights; with one line that says which."""
    from fcn_studio.model.pretrained import load_imagenet  # noqa: PLC0415

    net = ClickNet(backbone)
    report = load_imagenet(net.encoder, backbone)
    return net, report.summary()

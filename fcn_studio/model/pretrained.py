"""ImageNet initialisation of an encoder: torchvision's weights from its local cache (never a download
that could hang offline), or any state-dict file, matched by key with a report of what loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torchvision
from torch import nn

from fcn_studio.model.state_dict_io import read_state_dict

# Wrapper prefixes other code puts in front of a backbone's own names.
STRIP_PREFIXES = ("module.", "backbone.", "encoder.", "model.", "body.", "net.", "base.")


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.loaded)

    def summary(self) -> str:
        if self.message:
            return self.message
        total = len(self.loaded) + len(self.missing)
        text = f"{self.source}: loaded {len(self.loaded)} of {total} encoder tensors"
        if self.missing:
            text += f"; not in the file (left random): {_short(self.missing)}"
        if self.mismatched:
            text += f"; wrong shape (left random): {_short(self.mismatched)}"
        if self.unexpected:
            text += f"; unused from the file: {_short(self.unexpected)}"
        return text


def _short(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def torchvision_weights_file(backbone: str) -> Path | None:
    """Where torchvision keeps its default ImageNet weights for `backbone`, if they are in the cache."""
    try:
        weights = torchvision.models.get_model_weights(backbone).DEFAULT
    except (ValueError, KeyError):
        return None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    return cached if cached.is_file() else None


def load_imagenet(encoder: nn.Module, backbone: str) -> LoadReport:
    cached = torchvision_weights_file(backbone)
    if cached is None:
        return LoadReport("imagenet", message=(
            f"no ImageNet weights for {backbone} in torchvision's cache ({torch.hub.get_dir()}/checkpoints); "
            f"the encoder starts from random weights. Put the file there, or pass a state-dict file."))
    return load_encoder_weights(encoder, cached)


def load_encoder_weights(encoder: nn.Module, path: str | Path) -> LoadReport:
    return match_and_load(encoder, read_state_dict(path), str(path))


def match_and_load(encoder: nn.Module, source: dict[str, torch.Tensor], name: str) -> LoadReport:
    target = encoder.state_dict()
    source = _vgg_classifier_as_convs(source, target)
    report = LoadReport(name)
    chosen: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        tkey = _match_key(key, target)
        if tkey is None:
            report.unexpected.append(key)
        elif tuple(target[tkey].shape) != tuple(value.shape):
            report.mismatched.append(f"{tkey} {tuple(value.shape)} vs {tuple(target[tkey].shape)}")
        else:
            chosen[tkey] = value
    report.loaded = sorted(chosen)
    report.missing = [k for k in target if k not in chosen and not k.endswith("num_batches_tracked")]
    encoder.load_state_dict(chosen, strict=False)
    return report


def _match_key(key: str, target: dict) -> str | None:
    while True:
        if key in target:
            return key
        stripped = next((key[len(p):] for p in STRIP_PREFIXES if key.startswith(p)), None)
        if stripped is None:
            return None
        key = stripped


def _vgg_classifier_as_convs(source: dict, target: dict) -> dict:
    """torchvision's VGG16 fc6/fc7 are Linear layers; FCN makes them convolutions of the same weights."""
    if "fc6.weight" not in target:
        return source
    out = dict(source)
    for lin, conv in (("classifier.0", "fc6"), ("classifier.3", "fc7")):
        w = source.get(f"{lin}.weight")
        shape = target[f"{conv}.weight"].shape
        if w is not None and w.numel() == shape.numel():
            out[f"{conv}.weight"] = w.reshape(shape)
            out[f"{conv}.bias"] = source[f"{lin}.bias"]
            del out[f"{lin}.weight"], out[f"{lin}.bias"]
    out.pop("classifier.6.weight", None)
    out.pop("classifier.6.bias", None)
    return out

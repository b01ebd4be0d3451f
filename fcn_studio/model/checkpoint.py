"""Our checkpoint: one .safetensors file whose header carries JSON metadata (architecture, label set,
input normalisation, provenance). Loading reads tensors and JSON only, so a file can never run code;
a pickle handed to us is refused with a message that says what to do instead."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from fcn_studio import __version__
from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.labels import LabelSet
from fcn_studio.model.fcn import FCN, FCNConfig
from fcn_studio.model.input_spec import IMAGENET, InputSpec
from fcn_studio.model.state_dict_io import looks_like_safetensors

FORMAT = "fcn-studio-checkpoint"
FORMAT_VERSION = 1
META_KEY = "fcn_studio"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and says why."""


@dataclass
class CheckpointInfo:
    config: FCNConfig
    labels: LabelSet
    input: InputSpec = IMAGENET
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.config.to_dict(),
                "labels": self.labels.to_dict(), "input": self.input.to_dict(),
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, d: dict) -> CheckpointInfo:
        return cls(FCNConfig.from_dict(d["model"]), LabelSet.from_dict(d["labels"]),
                   InputSpec.from_dict(d.get("input", {})), dict(d.get("provenance", {})))


def new_provenance(source: str, **extra) -> dict:
    return {"source": source, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "created_by": f"fcn-studio {__version__}", "trained_images": 0, "metrics": {}, **extra}


def save_checkpoint(path: str | Path, model: FCN, info: CheckpointInfo) -> None:
    if info.config.num_classes != len(info.labels):
        raise CheckpointError(f"{path}: the model has {info.config.num_classes} classes but the label set "
                              f"has {len(info.labels)}")
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = {META_KEY: json.dumps(info.to_dict(), sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read_info(path: str | Path) -> CheckpointInfo:
    """The metadata alone: cheap, for `model info` and for listing models."""
    path = Path(path)
    with _open(path) as f:
        return _info(path, f.metadata())


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[FCN, CheckpointInfo]:
    path = Path(path)
    with _open(path) as f:
        info = _info(path, f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    model = FCN(info.config)
    result = model.load_state_dict(tensors, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{path}: tensors do not match a {info.config.arch}/{info.config.backbone}: "
                              f"missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")
    return model.to(device).eval(), info


def _open(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not looks_like_safetensors(path) and (head[:2] == b"PK" or head[:1] == b"\x80"):
        raise CheckpointError(
            f"{path}: this is a PyTorch pickle (.pth/.pt), which can run code when loaded, so FCN Studio "
            f"never loads it as a model. Convert it once with `fcn-studio model convert {path} OUT.safetensors`, "
            f"which reads tensors only.")
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc


def _info(path: Path, metadata: dict | None) -> CheckpointInfo:
    raw = (metadata or {}).get(META_KEY)
    if raw is None:
        raise CheckpointError(f"{path}: a safetensors file, but without FCN Studio metadata; if it holds a "
                              f"state dict from elsewhere, use `fcn-studio model convert`")
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"format version {data['format_version']} is newer than this FCN Studio "
                             f"understands ({FORMAT_VERSION}); update the app")
        return CheckpointInfo.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: bad checkpoint metadata: {exc}") from exc

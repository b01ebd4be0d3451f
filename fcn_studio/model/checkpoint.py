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
from fcn_studio.model.input_spec import IMAGENET, InputSpec
from fcn_studio.model.network import ModelConfig, build_empty, config_from_dict
from fcn_studio.model.state_dict_io import one_line, sniff_weights_file

FORMAT = "fcn-studio-checkpoint"
FORMAT_VERSION = 1
META_KEY = "fcn_studio"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and says why, on one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


@dataclass
class CheckpointInfo:
    config: ModelConfig  # FCNConfig or DilatedFCNConfig (model/network.py)
    labels: LabelSet
    input: InputSpec = IMAGENET
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.config.to_dict(),
                "labels": self.labels.to_dict(), "input": self.input.to_dict(),
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, d: dict) -> CheckpointInfo:
        for key in ("model", "labels", "input", "provenance"):
            if key in d and not isinstance(d[key], dict):
                raise ValueError(f"{key!r} must be a JSON object, not {type(d[key]).__name__}")
        return cls(config_from_dict(d["model"]), LabelSet.from_dict(d["labels"]),
                   InputSpec.from_dict(d.get("input", {})), dict(d.get("provenance", {})))


def new_provenance(source: str, **extra) -> dict:
    return {"source": source, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "created_by": f"fcn-studio {__version__}", "trained_images": 0, "metrics": {}, **extra}


def save_checkpoint(path: str | Path, model: torch.nn.Module, info: CheckpointInfo) -> None:
    _check_class_count(path, info)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = {META_KEY: json.dumps(info.to_dict(), sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read_info(path: str | Path) -> CheckpointInfo:
    """The metadata alone: cheap, for `model info` and for listing models."""
    path = Path(path)
    with _open(path) as f:
        return _info(path, f.metadata())


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu", memory_format: torch.memory_format =
                    torch.contiguous_format) -> tuple[torch.nn.Module, CheckpointInfo]:
    """The model on `device`, its 4-D weights in `memory_format` (channels_last for the predictor).
    The network is built empty and the file's tensors are assigned in, each converted once (dtype,
    device, layout), so no random initialisation is computed only to be overwritten."""
    path = Path(path)
    with _open(path) as f:
        info = _info(path, f.metadata())
        try:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: damaged tensor data ({exc})") from exc
    model = build_empty(info.config)
    expected = model.state_dict()
    _check_tensors(path, info.config, expected, tensors)
    model.load_state_dict({k: _converted(v, expected[k], device, memory_format) for k, v in tensors.items()},
                          assign=True)
    unfilled = [name for name, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
    if unfilled:
        raise CheckpointError(f"{path}: the network needs tensors its file cannot give ({_first(unfilled)}); "
                              f"this FCN Studio cannot load it, re-save it with `fcn-studio model convert`")
    return model.eval(), info


def _converted(t: torch.Tensor, like: torch.Tensor, device, memory_format) -> torch.Tensor:
    """One copy at most: the empty network's dtype (a float16 file still loads as float32), the device,
    and the layout for convolution weights."""
    fmt = memory_format if t.dim() == 4 else torch.contiguous_format
    return t.to(device=device, dtype=like.dtype, memory_format=fmt)


def _check_tensors(path: Path, config: ModelConfig, expected: dict[str, torch.Tensor],
                   found: dict[str, torch.Tensor]) -> None:
    """Every tensor the declared network has, in its shape and kind (floating or not), and no others;
    checked here so the user reads which tensors are wrong instead of torch's multi-line dump."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    wrong = [f"{k} {tuple(found[k].shape)} {str(found[k].dtype).removeprefix('torch.')} "
             f"(needs {tuple(v.shape)} {str(v.dtype).removeprefix('torch.')})"
             for k, v in expected.items() if k in found and (
                 found[k].shape != v.shape or found[k].is_floating_point() != v.is_floating_point())]
    if missing or unexpected or wrong:
        problems = [f"{label} {_first(keys)}" for label, keys in (
            ("missing:", missing), ("unexpected:", unexpected), ("wrong shape or type:", wrong)) if keys]
        raise CheckpointError(f"{path}: its tensors do not fit the {config.arch}/{config.backbone} with "
                              f"{config.num_classes} classes that its metadata declares: {'; '.join(problems)}")


def _first(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def _open(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if sniff_weights_file(path) == "pickle":
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
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"format version {data['format_version']} is newer than this FCN Studio "
                             f"understands ({FORMAT_VERSION}); update the app")
        info = CheckpointInfo.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: bad checkpoint metadata: {exc}") from exc
    _check_class_count(path, info)
    return info


def _check_class_count(path: str | Path, info: CheckpointInfo) -> None:
    if info.config.num_classes != len(info.labels):
        raise CheckpointError(f"{path}: the model has {info.config.num_classes} classes but the label set "
                              f"has {len(info.labels)}")

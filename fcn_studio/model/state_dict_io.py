"""Reads other people's weight files as plain tensors. Pickles go through torch's weights-only
unpickler, which refuses anything but tensors and containers, so a malicious file cannot run code."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


class WeightsFileError(ValueError):
    """A weight file we will not or cannot read; the message names it."""


def looks_like_safetensors(path: str | Path) -> bool:
    """A safetensors file is an 8-byte header length, then a JSON header: byte 8 is "{". (Its first byte
    is the length's low byte, so it can be 0x80 like a pickle's: that alone proves nothing.)"""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such file")
    if looks_like_safetensors(path):
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsFileError(f"{path}: neither a safetensors file nor a PyTorch file ({exc})") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsFileError(
            f"{path}: refused: the file holds Python objects other than tensors, and loading it could run "
            f"code. Only plain state dicts are accepted. ({str(exc).splitlines()[0]})") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise WeightsFileError(f"{path}: unreadable PyTorch file ({exc})") from exc
    return unwrap_state_dict(obj, path)


def unwrap_state_dict(obj, path: Path | str = "<memory>") -> dict[str, torch.Tensor]:
    """Accepts a state dict or the usual training-script wrappers around one; drops DDP's `module.`."""
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict):
        raise WeightsFileError(f"{path}: expected a state dict, found {type(obj).__name__}")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise WeightsFileError(f"{path}: no tensors in the file")
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors

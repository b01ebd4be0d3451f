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
    """A weight file we will not or cannot read; the message names it, on one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: str) -> str:
    """Library errors (torch's above all) span lines; ours are read in a status bar or a terminal."""
    return " ".join(str(text).split())


def sniff_weights_file(path: Path) -> str:
    """Says "safetensors", "pickle" (torch's zip format or a bare pickle) or "unknown" from the header.
    A safetensors file starts with its header's length (8 bytes, little-endian) and then "{"; that
    length's first byte may be anything, even a pickle's 0x80, so it is checked before the pickle marks."""
    with open(path, "rb") as fh:
        head = fh.read(9)
        size = fh.seek(0, 2)
    if len(head) == 9 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size:
        return "safetensors"
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such file")
    kind = sniff_weights_file(path)
    if kind == "unknown":
        raise WeightsFileError(f"{path}: neither a safetensors file nor a PyTorch file")
    if kind == "safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsFileError(f"{path}: damaged safetensors file ({exc})") from exc
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

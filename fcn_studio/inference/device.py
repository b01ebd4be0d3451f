"""Device choice: CUDA, then Apple MPS, then the CPU, unless the user names one."""

from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    if requested and requested != "auto":
        try:
            dev = torch.device(requested)
        except RuntimeError:  # torch's message lists two dozen device types few people have
            raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {requested!r} asked for, but CUDA is not available here")
        if dev.type == "mps" and not _mps_available():
            raise ValueError(f"device {requested!r} asked for, but Apple MPS is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"

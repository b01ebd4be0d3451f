"""Resumable trainer state (optimizer moments, schedule position, best score) in safetensors + JSON,
like our checkpoints: resuming never unpickles anything."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from fcn_studio.core.atomic import atomic_path

KEY = "fcn_studio_trainer"


def save_trainer_state(path: str | Path, optimizer: torch.optim.Optimizer, extra: dict) -> None:
    sd = optimizer.state_dict()
    tensors, state = {}, {}
    for pid, pstate in sd["state"].items():
        state[str(pid)] = {}
        for name, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous().clone()
                state[str(pid)][name] = None
            else:
                state[str(pid)][name] = value
    meta = {"param_groups": sd["param_groups"], "state": state, "extra": extra}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={KEY: json.dumps(meta)})


def load_trainer_state(path: str | Path, optimizer: torch.optim.Optimizer) -> dict:
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = json.loads(f.metadata()[KEY])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    state = {}
    for pid, pstate in meta["state"].items():
        state[int(pid)] = {name: (tensors[f"{pid}.{name}"] if value is None else value)
                           for name, value in pstate.items()}
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta["extra"]

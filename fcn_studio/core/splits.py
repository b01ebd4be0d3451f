"""Deterministic train/val assignment: a hash of a stable key, so an item lands on the same side on
every machine and run, and adding items never moves the ones already there."""

from __future__ import annotations

import hashlib


def split_side(key: str, val_fraction: float) -> str:
    fraction = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if fraction < val_fraction else "train"

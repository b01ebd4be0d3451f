"""The one train/validation split policy, for training, evaluation, comparison and export.

An item gets its side once, when it first joins (a project stores the answer, so it holds across runs,
machines and the app's "is the new model better?" question), and never moves: an image that was scored
as validation is never trained on later, and adding items never changes the sides of earlier ones.

A new item goes to validation when that keeps the validation share at or under `val_fraction` of
all items, counting it: with 0.2 the 5th, 10th, 15th... item validates. So a project with fewer than
5 labelled images has no validation images yet; the trainer then says so instead of scoring the
images it trains on. Items are taken in a stable order (a project's image ids, a folder's sorted
names), so the same items always give the same split. Training images also keep a share of their
pixels away from training (held-out regions, below), so validation starts with the first label."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping

import numpy as np

TRAIN, VAL = "train", "val"


def assign_sides(known: Mapping[str, str], new: Iterable[str], val_fraction: float) -> dict[str, str]:
    """`known` sides kept as they are, plus a side for each key of `new` (in the order given)."""
    sides = dict(known)
    total = len(sides)
    val = sum(1 for side in sides.values() if side == VAL)
    for key in new:
        if key in sides:
            continue
        total += 1
        side = VAL if val + 1 <= math.floor(val_fraction * total + 1e-9) else TRAIN
        val += side == VAL
        sides[key] = side
    return sides


# -- held-out regions ---------------------------------------------------------------------------------
# A "train" image is not trained on whole: a fixed share of it, in blocks, is kept out of training (its
# pixels read as ignore) and validates instead. So a model can be scored from the first corrected image
# on, long before the 5th whole image validates, and two versions are compared on the same pixels. The
# blocks are a pseudo-random pattern seeded by the item's key, so an image keeps its regions for good.
WHOLE, TRAINED, HELD_OUT = "whole", "trained", "held out"  # the part of an item's mask that is used
REGION_SHARE = 0.15  # of each training image's blocks
REGION_GRID = 8  # blocks along the shorter side (each at least MIN_BLOCK pixels)
MIN_BLOCK = 1


def held_out_blocks(key: str, shape: tuple[int, int], share: float = REGION_SHARE) -> np.ndarray:
    """H x W bool: the pixels of item `key` kept out of training (at least one block, never all)."""
    h, w = int(shape[0]), int(shape[1])
    block = max(MIN_BLOCK, -(-min(h, w) // REGION_GRID))
    rows, cols = -(-h // block), -(-w // block)
    seed = int.from_bytes(hashlib.sha256(f"held-out:{key}".encode()).digest()[:8], "little")
    count = min(rows * cols - 1, max(1, round(share * rows * cols)))  # never the whole image
    chosen = np.random.default_rng(seed).permutation(rows * cols)[:count]
    grid = np.zeros(rows * cols, dtype=bool)
    grid[chosen] = True
    return np.repeat(np.repeat(grid.reshape(rows, cols), block, 0), block, 1)[:h, :w]


def mask_part(mask: np.ndarray, key: str, part: str, ignore: int) -> np.ndarray:
    """The part of a mask that trains (TRAINED) or validates (HELD_OUT); the rest reads as `ignore`."""
    if part == WHOLE:
        return mask
    held = held_out_blocks(key, mask.shape[:2])
    return np.where(held if part == TRAINED else ~held, ignore, mask).astype(mask.dtype)


def measured_on(images: int, regions: int = 0, pixels: int | None = None) -> str:
    """What a validation score was measured on, in words: "2 whole images + held-out regions of 8
    (12,345 pixels)". Scores are comparable only when measured on the same pixels."""
    parts = ([f"{images} whole image{'s' * (images != 1)}"] if images else []) + (
        [f"held-out regions of {regions} image{'s' * (regions != 1)}"] if regions else [])
    text = " + ".join(parts) or "nothing"
    return text + ("" if pixels is None else f" ({pixels:,} pixels)")

"""The one train/validation split policy, for training, evaluation, comparison and export.

An item gets its side once, when it first joins (a project stores the answer, so it holds across runs,
machines and the app's "is the new model better?" question), and never moves: an image that was scored
as validation is never trained on later, and adding items never changes the sides of earlier ones.

A new item goes to validation when that keeps the validation share at or under `val_fraction` of
all items, counting it: with 0.2 the 5th, 10th, 15th... item validates. So a project with fewer than
5 labelled images has no validation images yet; the trainer then says so instead of scoring the
images it trains on. Items are taken in a stable order (a project's image ids, a folder's sorted
names), so the same items always give the same split."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

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

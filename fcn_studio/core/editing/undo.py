"""Undo history that stores only what a command changed: 128 x 128 tiles, before and after, for
the tiles the command touched. All images share one memory budget; the oldest steps go first."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

TILE = 128
MANY_TILES = 64  # from this many tiles on, an operation looks for uniform tiles in one vectorised pass


@dataclass
class Edit:
    """One undo step: one mouse drag, one fill, one polygon, one state change."""

    name: str
    # (tile row, tile column) -> (before, after); a tile of one value is kept as that int (a fill of
    # a 100-MP mask then holds a few kilobytes of history, not 200 MB)
    tiles: dict[tuple[int, int], tuple[np.ndarray | int, np.ndarray | int]] = field(default_factory=dict)
    state_before: str | None = None  # for "mark reviewed" and the like
    state_after: str | None = None

    @property
    def nbytes(self) -> int:
        return sum(getattr(b, "nbytes", 8) + getattr(a, "nbytes", 8) for b, a in self.tiles.values()) + 64

    def rect(self) -> tuple[int, int, int, int] | None:
        """(y0, x0, y1, x1) covering every tile, or None for a state-only step."""
        if not self.tiles:
            return None
        ys = [ty for ty, _ in self.tiles]
        xs = [tx for _, tx in self.tiles]
        return min(ys) * TILE, min(xs) * TILE, (max(ys) + 1) * TILE, (max(xs) + 1) * TILE


class UndoStack:
    def __init__(self, budget: UndoBudget | None = None) -> None:
        self.done: list[Edit] = []
        self.undone: list[Edit] = []
        self.budget = budget
        if budget is not None:
            budget.register(self)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.done) + sum(e.nbytes for e in self.undone)

    def push(self, edit: Edit) -> None:
        self.done.append(edit)
        self.undone.clear()
        if self.budget is not None:
            self.budget.touch(self)
            self.budget.enforce()

    def pop_undo(self) -> Edit | None:
        if not self.done:
            return None
        edit = self.done.pop()
        self.undone.append(edit)
        return edit

    def pop_redo(self) -> Edit | None:
        if not self.undone:
            return None
        edit = self.undone.pop()
        self.done.append(edit)
        return edit

    def drop_oldest(self) -> bool:
        if self.done:
            self.done.pop(0)
            return True
        if self.undone:
            self.undone.pop(0)
            return True
        return False


class UndoBudget:
    """Keeps the undo history of every open image under `limit` bytes; the least recently edited
    image loses its oldest steps first."""

    def __init__(self, limit: int = 300 * 2**20) -> None:
        self.limit = limit
        self._stacks: OrderedDict[int, UndoStack] = OrderedDict()

    def register(self, stack: UndoStack) -> None:
        self._stacks[id(stack)] = stack

    def forget(self, stack: UndoStack) -> None:
        self._stacks.pop(id(stack), None)

    def touch(self, stack: UndoStack) -> None:
        self._stacks.move_to_end(id(stack))

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._stacks.values())

    def enforce(self) -> None:
        """Drops the oldest steps, least recently edited image first, until the history fits; the
        image being edited keeps at least its newest step, so one undo always works."""
        total = self.nbytes
        stacks = list(self._stacks.values())
        for stack in stacks:
            keep = 1 if stack is stacks[-1] else 0
            while total > self.limit and len(stack.done) + len(stack.undone) > keep:
                before = stack.nbytes
                stack.drop_oldest()
                total -= before - stack.nbytes
            if total <= self.limit:
                return


def _block_reduce(a: np.ndarray, op, axis: int) -> np.ndarray:
    """`op` (np.minimum or np.maximum) over blocks of TILE along `axis` (0 or 1); the last block may be short."""
    n = a.shape[axis]
    full = n // TILE * TILE
    parts = []
    if full:
        body = a[:full] if axis == 0 else a[:, :full]
        shape = (full // TILE, TILE, a.shape[1]) if axis == 0 else (a.shape[0], full // TILE, TILE)
        parts.append(op.reduce(body.reshape(shape), axis=axis + 1))
    if full < n:
        rest = a[full:] if axis == 0 else a[:, full:]
        parts.append(op.reduce(rest, axis=axis, keepdims=True))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def uniform_tiles(region: np.ndarray) -> np.ndarray:
    """For a tile-aligned region of a mask: per tile, its value if all its pixels share it, else -1
    (an int16 array of tile rows x tile columns). Four passes at memory speed: a whole 100-MP mask
    takes a few tens of milliseconds, against a copy and a compare of each of its 6,700 tiles."""
    lo = _block_reduce(_block_reduce(region, np.minimum, 0), np.minimum, 1)
    hi = _block_reduce(_block_reduce(region, np.maximum, 0), np.maximum, 1)
    return np.where(lo == hi, lo.astype(np.int16), np.int16(-1))

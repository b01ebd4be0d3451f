"""A mask being edited. Every change goes through `begin()` / `apply()` / `end()`: the first time an
operation touches a tile, the tile is copied, so the undo step holds only touched tiles, and each
change reports the rectangle it touched so the overlay and the screen update only there."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fcn_studio.core.editing.undo import MANY_TILES, TILE, Edit, UndoBudget, UndoStack, uniform_tiles
from fcn_studio.core.labels import IGNORE_INDEX

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)


class Preserve:
    """Which pixels a tool may change: all, only unlabelled (the ignore index), or only one class."""

    def __init__(self, mode: str = "off", cls: int = 0, ignore: int = IGNORE_INDEX) -> None:
        if mode not in ("off", "unlabelled", "class"):
            raise ValueError(f"preserve mode must be off, unlabelled or class, not {mode!r}")
        self.mode, self.cls, self.ignore = mode, cls, ignore

    def allowed(self, current: np.ndarray) -> np.ndarray | None:
        """A boolean mask of changeable pixels, or None when all are."""
        if self.mode == "unlabelled":
            return current == self.ignore
        if self.mode == "class":
            return current == self.cls
        return None


def tile_runs(tiles) -> list[Rect]:
    """The touched tiles as rectangles: runs of neighbouring tiles along each tile row."""
    rects = []
    by_row: dict[int, list[int]] = {}
    for ty, tx in tiles:
        by_row.setdefault(ty, []).append(tx)
    for ty, xs in by_row.items():
        xs.sort()
        start = prev = xs[0]
        for tx in xs[1:] + [None]:
            if tx is not None and tx == prev + 1:
                prev = tx
                continue
            rects.append((ty * TILE, start * TILE, (ty + 1) * TILE, (prev + 1) * TILE))
            if tx is not None:
                start = prev = tx
    return rects


class MaskEditor:
    def __init__(self, mask: np.ndarray, budget: UndoBudget | None = None,
                 on_change: Callable[[Rect], None] | None = None) -> None:
        if mask.ndim != 2 or mask.dtype != np.uint8:
            raise ValueError(f"a mask is H x W uint8, got {mask.shape} {mask.dtype}")
        self.mask = mask
        self.stack = UndoStack(budget)
        self.on_change = on_change
        self.version = 0  # bumps on every change; the autosaver compares it with what is on disk
        self._edit: Edit | None = None
        self._touched: set[tuple[int, int]] = set()  # tiles changed since take_touched()

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape

    # -- recording ----------------------------------------------------------------------------------
    def begin(self, name: str, states: tuple[str, str] | None = None) -> None:
        """`states`: (before, after) when the operation also changes the image's state (Accept
        Prediction marks it corrected): pixels and mark are then one undo step."""
        if self._edit is not None:
            self.end()
        self._edit = Edit(name) if states is None else Edit(name, state_before=states[0], state_after=states[1])

    def end(self) -> Edit | None:
        """Closes the operation; an operation that changed nothing leaves no undo step."""
        edit, self._edit = self._edit, None
        if edit is None:
            return None
        after = self._snapshot(edit.tiles)
        changed = {}
        for key, (before, _) in edit.tiles.items():
            now = after[key]
            same = (before == now if isinstance(before, int) and isinstance(now, int)
                    else np.array_equal(before, now))
            if not same:
                changed[key] = (before, now)
        edit.tiles = changed
        if not changed and edit.state_after is None:
            return None
        self.stack.push(edit)
        return edit

    def _snapshot(self, keys) -> dict[tuple[int, int], np.ndarray | int]:
        """The tiles' contents now: a copy, or the value of a tile of one value. Many tiles are
        looked at in one vectorised pass over their bounding box (see undo.uniform_tiles)."""
        keys = list(keys)
        uniform = None
        if len(keys) >= MANY_TILES:
            ty0, tx0 = min(k[0] for k in keys), min(k[1] for k in keys)
            ty1, tx1 = max(k[0] for k in keys) + 1, max(k[1] for k in keys) + 1
            uniform = uniform_tiles(self.mask[ty0 * TILE : ty1 * TILE, tx0 * TILE : tx1 * TILE])
        out = {}
        for ty, tx in keys:
            value = -1 if uniform is None else int(uniform[ty - ty0, tx - tx0])
            out[(ty, tx)] = value if value >= 0 else self._tile_view(ty, tx).copy()
        return out

    @property
    def in_operation(self) -> bool:
        return self._edit is not None

    def _tile_view(self, ty: int, tx: int) -> np.ndarray:
        return self.mask[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]

    def _remember(self, rect: Rect) -> None:
        y0, x0, y1, x1 = rect
        edit = self._edit
        assert edit is not None, "apply() outside begin()/end()"
        new = [(ty, tx) for ty in range(y0 // TILE, (y1 - 1) // TILE + 1)
               for tx in range(x0 // TILE, (x1 - 1) // TILE + 1) if (ty, tx) not in edit.tiles]
        for key, before in self._snapshot(new).items():
            edit.tiles[key] = (before, None)
        self._touched.update(new)

    # -- changing pixels ----------------------------------------------------------------------------
    def clip(self, rect: Rect) -> Rect | None:
        h, w = self.mask.shape
        y0, x0, y1, x1 = max(0, rect[0]), max(0, rect[1]), min(h, rect[2]), min(w, rect[3])
        return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None

    def apply(self, rect: Rect, footprint: np.ndarray | None, value: int | np.ndarray,
              preserve: Preserve | None = None) -> bool:
        """Sets `value` where `footprint` (bool, the size of `rect`) is true inside `rect`, honouring
        `preserve`. `value` may be an array the size of `rect` (to paste predictions). Returns whether
        a pixel could have changed."""
        clipped = self.clip(rect)
        if clipped is None:
            return False
        if clipped != rect:  # crop footprint and value to the part inside the image
            oy, ox = clipped[0] - rect[0], clipped[1] - rect[1]
            sl = (slice(oy, oy + clipped[2] - clipped[0]), slice(ox, ox + clipped[3] - clipped[1]))
            footprint = None if footprint is None else footprint[sl]
            value = value[sl] if isinstance(value, np.ndarray) else value
            rect = clipped
        self._remember(rect)
        y0, x0, y1, x1 = rect
        region = self.mask[y0:y1, x0:x1]
        where = footprint
        allowed = (preserve or Preserve()).allowed(region)
        if allowed is not None:
            where = allowed if where is None else (where & allowed)
        if where is None:
            region[...] = value
        else:  # copyto with `where`, not boolean indexing: no index arrays (3x faster at 100 MP)
            np.copyto(region, value, where=where, casting="unsafe")
        self.version += 1
        if self.on_change:
            self.on_change(rect)
        return True

    # -- undo ---------------------------------------------------------------------------------------
    def undo(self) -> Edit | None:
        self._end_open()
        return self._replay(self.stack.pop_undo(), 0)

    def redo(self) -> Edit | None:
        self._end_open()
        return self._replay(self.stack.pop_redo(), 1)

    def _end_open(self) -> None:
        """An operation still open (Ctrl+Z during a drag) becomes a step first, so undo takes it back
        rather than pasting an older step's tiles over it."""
        if self._edit is not None:
            self.end()

    def _replay(self, edit: Edit | None, which: int) -> Edit | None:
        if edit is None:
            return None
        for (ty, tx), pair in edit.tiles.items():
            self._tile_view(ty, tx)[...] = pair[which]  # an array, or the one value of a uniform tile
        self._touched.update(edit.tiles)
        if edit.tiles:
            self.version += 1
            if self.on_change:
                for rect in tile_runs(edit.tiles):  # not the union box: a diagonal stroke's is huge
                    clipped = self.clip(rect)
                    if clipped:
                        self.on_change(clipped)
        return edit

    def take_touched(self) -> set[tuple[int, int]]:
        """The tiles changed since the last call: what the edit journal must record."""
        touched, self._touched = self._touched, set()
        return touched

    def record_state(self, before: str, after: str) -> None:
        """A state change (corrected -> reviewed) as an undo step of its own."""
        if self._edit is not None:
            self.end()
        self.stack.push(Edit(f"mark {after}", state_before=before, state_after=after))

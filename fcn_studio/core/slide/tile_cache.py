"""Decoded slide tiles kept in memory within a byte budget, least recently used dropped first, shared by
every reader of every open slide: panning back over a region costs no decoding, and however large the
slide, the cache never holds more than its budget.

cachetools' LRUCache does the bookkeeping (sizes through `getsizeof`); this adds a lock (readers run in
worker threads) and counters, so tests and benchmarks can see how many tiles were really decoded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

import numpy as np
from cachetools import LRUCache

DEFAULT_BUDGET = 256 * 2**20


class TileCache:
    """`get(key, load)` returns the cached tile for `key`, or calls `load()` once and keeps its result
    (unless it alone is larger than the whole budget)."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget = int(budget_bytes)
        self._tiles: LRUCache = LRUCache(maxsize=self.budget, getsizeof=lambda a: a.nbytes)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0  # tiles decoded

    def get(self, key: Hashable, load: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self.hits += 1
                return tile
            self.misses += 1
        tile = load()  # outside the lock: two threads may decode the same tile once each, never wait
        tile.setflags(write=False)  # shared: nobody may paint into a cached tile
        if tile.nbytes <= self.budget:
            with self._lock:
                self._tiles[key] = tile
        return tile

    @property
    def nbytes(self) -> int:
        with self._lock:
            return int(self._tiles.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tiles)

    def forget(self, owner: Hashable) -> None:
        """Drops every tile whose key starts with `owner` (a slide being closed)."""
        with self._lock:
            for key in [k for k in self._tiles if isinstance(k, tuple) and k and k[0] == owner]:
                del self._tiles[key]

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()


_shared: TileCache | None = None
_shared_lock = threading.Lock()


def shared_cache() -> TileCache:
    """The process's one tile cache, made on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TileCache()
        return _shared

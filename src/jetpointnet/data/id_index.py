"""Rows of 64-bit cell IDs through a hash table built and probed with numpy.

:class:`~jetpointnet.data.geometry.CellTable` maps the cell IDs of every cluster entry of a
chunk (~860 k for 100 JZ3 events) to its rows. A binary search (``np.searchsorted``) into the
~190 k sorted IDs costs ~54 ms per chunk on these cores, most of it cache misses. Here the IDs
sit in an open-addressing table (linear probing, at most a quarter full, Fibonacci hashing
of the whole 64 bits, so that IDs whose low bits are all alike still spread): a lookup is one
or two vectorised probes, ~5x faster, and gives the same rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IdIndex"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd


class IdIndex:
    """Row of each ID of ``ids`` (unique uint64): ``rows(query) -> (rows, found)``."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.asarray(ids).astype(np.uint64, copy=False)
        n = len(self.ids)
        bits = max(4, (4 * n - 1).bit_length())  # at least 4n slots
        self._shift = np.uint64(64 - bits)
        self._mask = np.int64((1 << bits) - 1)
        dtype = np.int32 if n < 2**31 else np.int64
        table = np.full(1 << bits, -1, dtype=dtype)
        slot = self._hash(self.ids)
        pending = np.arange(n, dtype=np.int64)
        while len(pending):
            s = slot[pending]
            free = table[s] < 0
            claim, where = pending[free], s[free]
            _, first = np.unique(where, return_index=True)  # one key per free slot
            table[where[first]] = claim[first]
            placed = np.zeros(n, dtype=bool)
            placed[claim[first]] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self._mask  # the others probe on
        self._table = table

    def _hash(self, ids: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((ids * _GOLDEN) >> self._shift).astype(np.int64)

    def rows(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows (int64; 0 where not found) of the IDs ``query`` and a boolean ``found``."""
        q = np.asarray(query).astype(np.uint64, copy=False)
        if len(self.ids) == 0:
            return np.zeros(len(q), dtype=np.int64), np.zeros(len(q), dtype=bool)
        slot = self._hash(q)
        row = self._table[slot]
        found = self.ids[np.maximum(row, 0)] == q
        found &= row >= 0
        rows = np.where(found, row, 0).astype(np.int64)
        # the few that met another ID first probe on, together
        pending = np.flatnonzero(~found & (row >= 0))
        slot = slot[pending]
        while len(pending):
            slot = (slot + 1) & self._mask
            row = self._table[slot].astype(np.int64)
            full = row >= 0
            hit = full & (self.ids[np.maximum(row, 0)] == q[pending])
            rows[pending[hit]] = row[hit]
            found[pending[hit]] = True
            more = full & ~hit
            pending, slot = pending[more], slot[more]
        return rows, found

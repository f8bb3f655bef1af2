"""The cell at (layer, eta, phi): one table over all region grids, no loop over them.

Each (layer, side) holds a few region grids (at most 7 in :mod:`.params`'s layers), side by
side in abs(eta) and disjoint. The table lists their abs(eta) lower edges per (layer, side),
sorted and padded with +inf, so a point finds its region by counting the edges at or
below its abs(eta); then the same arithmetic as a per-grid loop gives the cell (the same
float64 operations on the same values: the same cells, bit for bit).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

__all__ = ["CellLocator"]

_TWO_PI = 2.0 * math.pi


class _Grid(Protocol):  # a region grid of .geometry (read-only fields)
    @property
    def layer(self) -> int: ...
    @property
    def side(self) -> int: ...
    @property
    def eta_lo(self) -> float: ...
    @property
    def eta_hi(self) -> float: ...
    @property
    def deta(self) -> float: ...
    @property
    def nphi(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def neta(self) -> int: ...


class CellLocator:
    """Cell index of points, from the region grids of a :class:`.geometry.Geometry`."""

    def __init__(self, grids: Sequence[_Grid]) -> None:
        self.n_layers = max(g.layer for g in grids) + 1
        keys = [self._key(g.layer, g.side) for g in grids]
        per_key: dict[int, list[int]] = {}
        for i, k in enumerate(keys):
            per_key.setdefault(k, []).append(i)
        width = max(len(v) for v in per_key.values())
        n_keys = 2 * self.n_layers
        self.edges = np.full((n_keys, width), np.inf)  # abs(eta) lower edges, sorted
        self.grid = np.full((n_keys, width), -1, dtype=np.int64)  # index into the arrays below
        for k, idx in per_key.items():
            idx = sorted(idx, key=lambda i: grids[i].eta_lo)
            for a, b in itertools.pairwise(idx):
                if grids[b].eta_lo < grids[a].eta_hi:
                    raise ValueError("region grids of one layer and side overlap in eta")
            self.edges[k, : len(idx)] = [grids[i].eta_lo for i in idx]
            self.grid[k, : len(idx)] = idx
        self.eta_lo = np.array([g.eta_lo for g in grids])
        self.eta_hi = np.array([g.eta_hi for g in grids])
        self.deta = np.array([g.deta for g in grids])
        self.neta = np.array([g.neta for g in grids], dtype=np.int64)
        self.nphi = np.array([g.nphi for g in grids], dtype=np.int64)
        self.phi_step = np.array([_TWO_PI / g.nphi for g in grids])
        self.offset = np.array([g.offset for g in grids], dtype=np.int64)

    def _key(self, layer, side):
        return 2 * layer + (side > 0)

    def lookup(self, layer: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Cell index at (layer index, eta, phi) for each point; -1 outside every cell."""
        layer = np.asarray(layer, dtype=np.int64)
        eta = np.asarray(eta, dtype=np.float64)
        phi = np.asarray(phi, dtype=np.float64)
        out = np.full(eta.shape, -1, dtype=np.int64)
        aeta = np.abs(eta)
        known = (layer >= 0) & (layer < self.n_layers)
        key = np.where(known, self._key(layer, eta >= 0.0), 0)
        j = (self.edges[key] <= aeta[..., None]).sum(axis=-1) - 1
        g = np.where(j >= 0, self.grid[key, np.maximum(j, 0)], -1)
        sel = known & (g >= 0)
        sel[sel] = aeta[sel] < self.eta_hi[g[sel]]
        g, a = g[sel], aeta[sel]
        phin = np.mod(phi[sel] + math.pi, _TWO_PI)
        ieta = np.minimum(((a - self.eta_lo[g]) / self.deta[g]).astype(np.int64), self.neta[g] - 1)
        iphi = np.minimum((phin / self.phi_step[g]).astype(np.int64), self.nphi[g] - 1)
        out[sel] = self.offset[g] + ieta * self.nphi[g] + iphi
        return out

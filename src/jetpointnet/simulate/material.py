"""The material a particle crosses, as a function of its direction: depth <-> position.

Along a projective ray of pseudorapidity |eta| the calorimeter is a sequence of segments
(upstream material, instrumented layers, dead material) with path lengths s in mm and
depths in radiation lengths (X0) and interaction lengths (lambda). The sequence only depends
on |eta|, so it is tabulated once on a fine |eta| grid; a shower then converts a depth into
a path length and a layer by one vectorised search.

Barrel layers cover r in [lo, hi] (path s = r cosh(eta)), end-cap layers |z| in [lo, hi]
(s = |z| / tanh|eta|); where two segments overlap (the barrel / end-cap crack) the earlier
one is cut where the later one starts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from jetpointnet.simulate.params import DEAD_MATERIAL, DETECTOR, LAYERS

__all__ = ["DEAD", "UPSTREAM", "MaterialTable", "material_table"]

DEAD = -1  # layer code of uninstrumented material
UPSTREAM = len(LAYERS) + len(DEAD_MATERIAL)  # volume code of the upstream slab
_ETA_STEP = 0.005
_ETA_MAX = 3.3


@dataclass(frozen=True)
class MaterialTable:
    """Per |eta| bin (rows) the segments (columns, padded with zero-length dead ones)."""

    s0: np.ndarray  # (n_eta, K) mm
    s1: np.ndarray
    layer: np.ndarray  # (n_eta, K) int: index into LAYERS, or DEAD
    cum_x0: np.ndarray  # (n_eta, K + 1) depth at segment starts (and the end), X0
    cum_lam: np.ndarray  # (n_eta, K + 1) lambda
    # (n_eta, K) depth per mm of path in each segment (the material's 1 / X0 and 1 / lambda,
    # the upstream slab's depth / length; 0 for padding): the same along any direction
    x0_per_mm: np.ndarray | None = None
    lam_per_mm: np.ndarray | None = None
    # (n_eta, K) int: which volume each segment is: index into LAYERS, len(LAYERS) + index
    # into DEAD_MATERIAL, UPSTREAM (the upstream slab), -1 (padding)
    volume: np.ndarray | None = None

    def row(self, aeta: np.ndarray) -> np.ndarray:
        """Row of the table for each |eta| (clipped to the calorimeter's coverage)."""
        return np.clip((np.asarray(aeta) / _ETA_STEP).astype(np.int64), 0, self.s0.shape[0] - 1)

    def locate(
        self, rows: np.ndarray, depth: np.ndarray, *, unit: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(path length s in mm, layer code) at ``depth`` (X0 or lambda) along each row.

        Depths beyond the last segment give layer :data:`DEAD` (leakage).
        """
        cum = self.cum_x0 if unit == "x0" else self.cum_lam
        k = cum.shape[1]
        big, flat = self._stacked[unit]
        pos = np.searchsorted(flat, depth + big * rows, side="right") - 1 - rows * k
        seg = np.clip(pos, 0, k - 2)
        c0 = cum[rows, seg]
        c1 = cum[rows, seg + 1]
        s0 = self.s0[rows, seg]
        s1 = self.s1[rows, seg]
        frac = np.where(c1 > c0, (depth - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0)
        s = s0 + np.clip(frac, 0.0, 1.0) * (s1 - s0)
        layer = np.where((pos >= 0) & (pos <= k - 2), self.layer[rows, seg], DEAD)
        return s, layer

    @functools.cached_property
    def _stacked(self) -> dict[str, tuple[float, np.ndarray]]:
        """Per unit: the rows' cumulative depths stacked along one axis, each shifted by
        ``big`` (more than any depth), for one sorted search over all rows; built once per
        table (a frozen dataclass: the cache lives in the instance's ``__dict__``)."""
        out = {}
        for unit, cum in (("x0", self.cum_x0), ("lam", self.cum_lam)):
            big = float(cum[:, -1].max()) + 1.0
            out[unit] = (big, (cum + big * np.arange(cum.shape[0])[:, None]).ravel())
        return out

    def depth_at(self, rows: np.ndarray, s: np.ndarray, *, unit: str) -> np.ndarray:
        """Depth (X0 or lambda) reached at path length ``s`` along each row."""
        cum = self.cum_x0 if unit == "x0" else self.cum_lam
        s0, s1 = self.s0[rows], self.s1[rows]
        frac = np.clip((s[:, None] - s0) / np.maximum(s1 - s0, 1e-9), 0.0, 1.0)
        return cum[rows, 0] + (frac * np.diff(cum[rows], axis=1)).sum(axis=1)

    def front(self, rows: np.ndarray) -> np.ndarray:
        """Path length (mm) where the first instrumented layer starts."""
        instrumented = self.layer[rows] != DEAD
        first = np.argmax(instrumented, axis=1)
        return self.s0[rows, first]


def _upstream_x0(aeta: float) -> float:
    pts = np.asarray(DETECTOR.upstream_x0)
    return float(np.interp(aeta, pts[:, 0], pts[:, 1]))


def _segments(aeta: float) -> list[tuple[float, float, int, float, float, int]]:
    """(s0, s1, layer, x0_per_mm, lam_per_mm, volume) sorted along the ray."""
    ch = math.cosh(aeta)
    th = math.tanh(aeta) if aeta > 0 else 1e-12
    segs = []

    def path(kind: str, lo: float, hi: float) -> tuple[float, float]:
        return (lo * ch, hi * ch) if kind == "r" else (lo / th, hi / th)

    for li, spec in enumerate(LAYERS):
        if spec.eta_min <= aeta < spec.eta_max:
            a, b = path(spec.kind, spec.lo, spec.hi)
            segs.append((a, b, li, 1.0 / spec.x0, 1.0 / spec.lam, li))
    for di, dm in enumerate(DEAD_MATERIAL):
        if dm.eta_lo <= aeta < dm.eta_hi:
            a, b = path(dm.kind, dm.lo, dm.hi)
            segs.append((a, b, DEAD, 1.0 / dm.x0, 1.0 / dm.lam, len(LAYERS) + di))
    segs.sort(key=lambda t: t[0])
    clipped = []
    for i, (a, b, li, x, lam, vol) in enumerate(segs):
        if i + 1 < len(segs):
            b = min(b, segs[i + 1][0])
        if b > a:
            clipped.append((a, b, li, x, lam, vol))
    if clipped:
        # upstream material: a dead slab ending where the calorimeter starts, as deep as
        # the tracker, solenoid and cryostat (a hadron interacting there showers on its way)
        t_up = _upstream_x0(aeta)
        start = clipped[0][0]
        width = DETECTOR.upstream_path
        clipped.insert(0, (start - width, start, DEAD, t_up / width,
                           t_up * DETECTOR.upstream_lam_per_x0 / width, UPSTREAM))  # fmt: skip
    return clipped


@functools.cache
def material_table() -> MaterialTable:
    etas = np.arange(0.0, _ETA_MAX, _ETA_STEP) + 0.5 * _ETA_STEP
    rows = [_segments(float(a)) for a in etas]
    k = max(len(r) for r in rows) + 1
    n = etas.size
    s0 = np.zeros((n, k))
    s1 = np.zeros((n, k))
    layer = np.full((n, k), DEAD, dtype=np.int64)
    dx0 = np.zeros((n, k))
    dlam = np.zeros((n, k))
    x0_per_mm = np.zeros((n, k))
    lam_per_mm = np.zeros((n, k))
    volume = np.full((n, k), -1, dtype=np.int64)
    for i, segs in enumerate(rows):
        last = 0.0
        for j, (a, b, li, x, lam, vol) in enumerate(segs):
            s0[i, j], s1[i, j], layer[i, j] = a, b, li
            x0_per_mm[i, j], lam_per_mm[i, j], volume[i, j] = x, lam, vol
            dx0[i, j] = (b - a) * x
            dlam[i, j] = (b - a) * lam
            last = b
        s0[i, len(segs) :] = last
        s1[i, len(segs) :] = last
    zero = np.zeros((n, 1))
    cum_x0 = np.concatenate([zero, np.cumsum(dx0, axis=1)], axis=1)
    cum_lam = np.concatenate([zero, np.cumsum(dlam, axis=1)], axis=1)
    return MaterialTable(s0=s0, s1=s1, layer=layer, cum_x0=cum_x0, cum_lam=cum_lam,
                         x0_per_mm=x0_per_mm, lam_per_mm=lam_per_mm, volume=volume)  # fmt: skip

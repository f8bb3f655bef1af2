"""The material along any straight line: particles born away from the interaction point.

The projective table of :mod:`.material` describes the calorimeter along rays from the
origin. A particle born elsewhere (a K0S or an ALP decaying in flight, a photon converting
inside the calorimeter) crosses it along its own line, starting where it is born. This
module turns such a line into a table of the same form (:class:`.material.MaterialTable`),
one row per particle, with the path length s counted from the birth point: a shower on it
starts at depth 0 where the particle is born and crosses only what lies ahead of it.

The material at a point (x, y, z) is the projective table's at that point: the row of its
own abs(eta) (seen from the origin), the segment that holds its distance from the origin.
So the layers (barrel: r between their radii, end-caps: abs(z) between their planes),
the dead material and the upstream slab are the same volumes as for prompt particles, and
a line from the origin crosses exactly the projective depths. Depth per mm of path is the
material's (1 / X0, 1 / lambda), the same in every direction; the upstream slab (tracker,
solenoid, cryostat: ``upstream_x0`` spread over the last ``upstream_path`` mm of each
projective ray) is a shell of that density in front of the calorimeter, so a line crosses
the part of it that lies between its birth point and the calorimeter, at whatever angle.

A line is sampled every ``step`` mm from its start to where it leaves the calorimeter
(a sphere around the origin that holds all the table's material); where the material changes between two samples, bisection finds the boundary to
better than a micron. A feature thinner than ``step`` along the line can be missed.

Charged particles born inside the solenoid reach the straight part of their path at the
solenoid exit (:func:`.tracker.propagate_to_solenoid`); the helix before it is replaced by
its chord (the same points at both ends, up to a few per cent shorter at low pT).
"""

from __future__ import annotations

import numpy as np

from jetpointnet.simulate.material import DEAD, MaterialTable

__all__ = ["LinePath", "envelope", "line_table"]

_ETA_MAX = 3.3  # the material table's coverage (FCAL not simulated)
_BISECTIONS = 14  # 5 mm / 2^14: 0.3 micron


class LinePath:
    """Straight paths of ``n`` particles: a chord from the birth point ``b`` to the point
    ``e`` where the straight part begins (the same point for neutral particles), then the
    line from ``e`` along the unit vector ``u`` until it leaves the sphere of ``radius``
    (mm) around the origin (:func:`envelope`). Positions in mm."""

    def __init__(self, b: tuple[np.ndarray, ...], e: tuple[np.ndarray, ...],
                 u: tuple[np.ndarray, ...], *, radius: float) -> None:  # fmt: skip
        self.b = np.stack(b, axis=1)  # (n, 3)
        self.e = np.stack(e, axis=1)
        self.u = np.stack(u, axis=1)
        chord = self.e - self.b
        self.l_chord = np.linalg.norm(chord, axis=1)  # (n,) mm
        safe = np.where(self.l_chord > 0, self.l_chord, 1.0)
        self.d_chord = np.where(self.l_chord[:, None] > 0, chord / safe[:, None], self.u)
        self.length = self.l_chord + _to_envelope(self.e, self.u, radius)

    def point(self, i: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(m, 3) positions at path length ``s`` (mm from the birth point) of paths ``i``."""
        on_chord = (s < self.l_chord[i])[:, None]
        p_chord = self.b[i] + s[:, None] * self.d_chord[i]
        p_line = self.e[i] + (s - self.l_chord[i])[:, None] * self.u[i]
        return np.where(on_chord, p_chord, p_line)


def _to_envelope(p: np.ndarray, u: np.ndarray, radius: float) -> np.ndarray:
    """Path length (mm) from ``p`` along ``u`` to the sphere of ``radius`` around the
    origin (0 if ``p`` is outside it)."""
    pu = (p * u).sum(axis=1)
    c = (p * p).sum(axis=1) - radius**2
    return np.where(c < 0, -pu + np.sqrt(np.maximum(pu * pu - c, 0.0)), 0.0)


def envelope(mat: MaterialTable) -> float:
    """Radius (mm) of a sphere around the origin that holds all of ``mat``'s material."""
    return float(mat.s1.max()) + 1.0


def _material_at(mat: MaterialTable, pts: np.ndarray) -> np.ndarray:
    """Flat index (row * K + segment) of the table segment holding each point; -1: none."""
    x, y, z = pts.T
    r = np.hypot(x, y)
    dist = np.sqrt(r * r + z * z)
    with np.errstate(divide="ignore"):
        aeta = np.abs(np.arcsinh(z / np.maximum(r, 1e-9)))
    row = mat.row(aeta)
    s0, s1 = mat.s0[row], mat.s1[row]  # (m, K), segments sorted along the ray
    j = np.maximum((s0 <= dist[:, None]).sum(axis=1) - 1, 0)
    k = np.arange(row.size)
    inside = (dist >= s0[k, j]) & (dist < s1[k, j]) & (aeta < _ETA_MAX)
    return np.where(inside, row * s0.shape[1] + j, -1)


def _keys(mat: MaterialTable, code: np.ndarray) -> np.ndarray:
    """(m, 3) what a segment is made of: layer, X0 and lambda per mm (vacuum: DEAD, 0, 0)."""
    assert mat.x0_per_mm is not None and mat.lam_per_mm is not None
    c = np.maximum(code, 0)
    some = code >= 0
    return np.stack([
        np.where(some, mat.layer.ravel()[c], DEAD).astype(np.float64),
        np.where(some, mat.x0_per_mm.ravel()[c], 0.0),
        np.where(some, mat.lam_per_mm.ravel()[c], 0.0),
    ], axis=1)  # fmt: skip


def _boundaries(mat: MaterialTable, path: LinePath, step: float):
    """Where the material changes along each path: (path, s) pairs of every boundary and
    the material keys of the samples (path of each sample, its s, its key)."""
    # samples from the birth point (s = 0) to the end of each path, ``step`` mm apart
    n_samples = np.where(path.length > 0, np.ceil(path.length / step).astype(np.int64) + 1, 0)
    i = np.repeat(np.arange(n_samples.size), n_samples)  # sample -> path
    first = np.cumsum(n_samples) - n_samples
    s = np.minimum((np.arange(i.size) - first[i]) * step, path.length[i])
    key = _keys(mat, _material_at(mat, path.point(i, s)))
    change = (i[1:] == i[:-1]) & np.any(key[1:] != key[:-1], axis=1)
    lo, hi = s[:-1][change], s[1:][change]
    pi, key_lo = i[:-1][change], key[:-1][change]
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        same = np.all(_keys(mat, _material_at(mat, path.point(pi, mid))) == key_lo, axis=1)
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return pi, 0.5 * (lo + hi), i, key, change


def line_table(mat: MaterialTable, path: LinePath, *, step: float = 5.0) -> MaterialTable:
    """The material along each path as a table with one row per path (s from the birth
    point, mm), vacuum left out; the same methods as the projective table apply."""
    n = path.length.size
    pi, s_b, i, key, change = _boundaries(mat, path, step)
    # intervals of constant material: from the start, each boundary, to the end
    start = np.concatenate([np.zeros(n), s_b])
    path_of = np.concatenate([np.arange(n), pi])
    o = np.lexsort((start, path_of))
    start, path_of = start[o], path_of[o]
    last = np.append(path_of[1:] != path_of[:-1], True)
    end = np.where(last, path.length[path_of], np.roll(start, -1))
    # the key of each interval: the birth point's, then the sample after each change
    first_sample = np.concatenate([np.searchsorted(i, np.arange(n)), np.flatnonzero(change) + 1])
    ok = first_sample < i.size
    k_int = np.zeros((first_sample.size, 3))
    k_int[ok] = key[first_sample[ok]]
    k_int = k_int[o]
    live = (end > start) & (k_int[:, 1] > 0)  # vacuum adds no depth: left out
    start, end, path_of, k_int = start[live], end[live], path_of[live], k_int[live]
    count = np.bincount(path_of, minlength=n)
    width = int(count.max(initial=0)) + 1
    col = np.arange(path_of.size) - (np.cumsum(count) - count)[path_of]
    s0 = np.zeros((n, width))
    s0[path_of, col] = start
    s1 = s0.copy()
    s1[path_of, col] = end
    tail = np.arange(width)[None, :] >= count[:, None]  # padding: zero length at the end
    end_of = np.where(count > 0, s1[np.arange(n), np.maximum(count - 1, 0)], 0.0)
    s0 = np.where(tail, end_of[:, None], s0)
    s1 = np.where(tail, end_of[:, None], s1)
    layer = np.full((n, width), DEAD, dtype=np.int64)
    layer[path_of, col] = k_int[:, 0].astype(np.int64)
    x0_mm, lam_mm = np.zeros((n, width)), np.zeros((n, width))
    x0_mm[path_of, col], lam_mm[path_of, col] = k_int[:, 1], k_int[:, 2]
    zero = np.zeros((n, 1))
    cum_x0 = np.concatenate([zero, np.cumsum((s1 - s0) * x0_mm, axis=1)], axis=1)
    cum_lam = np.concatenate([zero, np.cumsum((s1 - s0) * lam_mm, axis=1)], axis=1)
    return MaterialTable(s0=s0, s1=s1, layer=layer, cum_x0=cum_x0, cum_lam=cum_lam,
                         x0_per_mm=x0_mm, lam_per_mm=lam_mm)  # fmt: skip

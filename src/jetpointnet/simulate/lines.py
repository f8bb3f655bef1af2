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

A line is sampled every ``step`` mm from its birth point to where it leaves the
calorimeter (a sphere around the origin that holds all the table's material). Where the
volume changes between two samples (a layer, a cryostat, the upstream slab, nothing),
bisection finds the boundary to better than a micron; a stretch in the upstream slab, whose
density follows abs(eta), takes the mean density of its samples. A
feature thinner than ``step`` along the line can be missed (the thinnest layer, EMB3,
is 30 mm deep).

Charged particles born inside the solenoid reach the straight part of their path at the
solenoid exit (:func:`.tracker.propagate_to_solenoid`); the helix before it is replaced by
its chord (the same points at both ends, up to a few per cent shorter at low pT).
"""

from __future__ import annotations

import numpy as np

from jetpointnet.simulate.material import DEAD, MaterialTable

__all__ = ["LinePath", "envelope", "line_table"]

_ETA_MAX = 3.3  # the material table's coverage (FCAL not simulated)
_BISECTIONS = 14  # 10 mm / 2^14: 0.6 micron


class LinePath:
    """Straight paths of ``n`` particles: a chord from the birth point ``b`` to the point
    ``e`` where the straight part begins (the same point for neutral particles), then the
    line from ``e`` along the unit vector ``u`` until it leaves the sphere of ``radius``
    (mm) around the origin (:func:`envelope`). Positions in mm."""

    def __init__(self, b: tuple[np.ndarray, ...], e: tuple[np.ndarray, ...],
                 u: tuple[np.ndarray, ...], *, radius: float) -> None:  # fmt: skip
        self.b = np.stack(b)  # (3, n)
        self.e = np.stack(e)
        self.u = np.stack(u)
        chord = self.e - self.b
        self.l_chord = np.sqrt((chord * chord).sum(axis=0))  # (n,) mm
        safe = np.where(self.l_chord > 0, self.l_chord, 1.0)
        self.d_chord = np.where(self.l_chord > 0, chord / safe, self.u)
        self._a = self.e - self.l_chord * self.u  # the line's point at s = 0
        self.length = self.l_chord + _to_envelope(self.e, self.u, radius)

    def point(self, i: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(3, m) positions (x, y, z; mm) at path length ``s`` (mm from the birth point) of
        paths ``i``."""
        chord = self.b[:, i] + s * self.d_chord[:, i]
        line = self._a[:, i] + s * self.u[:, i]
        return np.where(s < self.l_chord[i], chord, line)


def _to_envelope(p: np.ndarray, u: np.ndarray, radius: float) -> np.ndarray:
    """Path length (mm) from points ``p`` (3, n) along ``u`` to the sphere of ``radius`` around the
    origin (0 if ``p`` is outside it)."""
    pu = (p * u).sum(axis=0)
    c = (p * p).sum(axis=0) - radius**2
    return np.where(c < 0, -pu + np.sqrt(np.maximum(pu * pu - c, 0.0)), 0.0)


def envelope(mat: MaterialTable) -> float:
    """Radius (mm) of a sphere around the origin that holds all of ``mat``'s material."""
    return float(mat.s1.max()) + 1.0


class _Finder:
    """The projective table's segments, rows stacked along one axis (each shifted by more
    than its length) for one sorted search; segments are sorted along each ray."""

    def __init__(self, mat: MaterialTable) -> None:
        assert mat.volume is not None and mat.x0_per_mm is not None
        assert mat.lam_per_mm is not None
        self.k = mat.s0.shape[1]
        self.big = float(mat.s1.max()) + 1.0
        self.flat = (mat.s0 + self.big * np.arange(mat.s0.shape[0])[:, None]).ravel()
        self.s0, self.s1 = mat.s0.ravel(), mat.s1.ravel()
        self.volume, self.layer = mat.volume.ravel(), mat.layer.ravel()
        self.x0, self.lam = mat.x0_per_mm.ravel(), mat.lam_per_mm.ravel()
        self.row = mat.row


def _material_at(f: _Finder, pts: np.ndarray) -> np.ndarray:
    """Flat index (row * K + segment) of the table segment holding each point; -1: none."""
    x, y, z = pts
    r = np.hypot(x, y)
    dist = np.sqrt(r * r + z * z)
    with np.errstate(divide="ignore"):
        aeta = np.abs(np.arcsinh(z / np.maximum(r, 1e-9)))
    row = f.row(aeta)
    # the last segment of the point's row that starts before it
    code = np.maximum(np.searchsorted(f.flat, dist + f.big * row, side="right") - 1, row * f.k)
    inside = (dist >= f.s0[code]) & (dist < f.s1[code]) & (aeta < _ETA_MAX)
    return np.where(inside, code, -1)


_VACUUM = -2  # kind of a point in no material (DEAD: uninstrumented material)


def _kind(f: _Finder, code: np.ndarray) -> np.ndarray:
    """The volume of each point (:attr:`.material.MaterialTable.volume`), or ``_VACUUM``."""
    return np.where(code >= 0, f.volume[np.maximum(code, 0)], _VACUUM)


def _samples(f: _Finder, path: LinePath, step: float):
    """Points every ``step`` mm from the birth point (s = 0) to the end of each path: their
    path, s (mm), volume, layer and depth per mm (X0, lambda)."""
    n_samples = np.where(path.length > 0, np.ceil(path.length / step).astype(np.int64) + 1, 0)
    i = np.repeat(np.arange(n_samples.size), n_samples)  # sample -> path
    first = np.cumsum(n_samples) - n_samples
    s = np.minimum((np.arange(i.size) - first[i]) * step, path.length[i])
    code = _material_at(f, path.point(i, s))
    c = np.maximum(code, 0)
    x0 = np.where(code >= 0, f.x0[c], 0.0)
    lam = np.where(code >= 0, f.lam[c], 0.0)
    layer = np.where(code >= 0, f.layer[c], DEAD)
    return i, s, _kind(f, code), layer, x0, lam


def _bisect(f: _Finder, path: LinePath, pi: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, kind_lo: np.ndarray) -> np.ndarray:  # fmt: skip
    """s (mm) where the kind of paths ``pi`` changes from ``kind_lo`` between lo and hi."""
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        same = _kind(f, _material_at(f, path.point(pi, mid))) == kind_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def _runs(f: _Finder, path: LinePath, step: float):
    """Stretches in one volume along each path: path, start and end s (mm), volume,
    layer, and the mean depth per mm of their samples (X0, lambda: exact but in the
    upstream slab, whose density follows abs(eta))."""
    i, s, kind, layer, x0, lam = _samples(f, path, step)
    first = np.ones(i.size, dtype=bool)
    first[1:] = i[1:] != i[:-1]
    new = first.copy()
    new[1:] |= kind[1:] != kind[:-1]
    change = np.flatnonzero(new & ~first)  # sample after a boundary
    start = np.zeros(i.size)
    start[change] = _bisect(f, path, i[change], s[change - 1], s[change], kind[change - 1])
    heads = np.flatnonzero(new)
    run = np.cumsum(new) - 1  # sample -> run
    r_path, r_start, r_kind = i[heads], start[heads], kind[heads]
    last = np.append(r_path[1:] != r_path[:-1], True)
    r_end = np.where(last, path.length[r_path], np.roll(r_start, -1))
    count = np.bincount(run, minlength=heads.size)
    r_x0 = np.bincount(run, weights=x0, minlength=heads.size) / np.maximum(count, 1)
    r_lam = np.bincount(run, weights=lam, minlength=heads.size) / np.maximum(count, 1)
    return r_path, r_start, r_end, r_kind, layer[heads], r_x0, r_lam


def line_table(mat: MaterialTable, path: LinePath, *, step: float = 10.0) -> MaterialTable:
    """The material along each path as a table with one row per path (s from the birth
    point, mm), vacuum left out; the same methods as the projective table apply."""
    n = path.length.size
    path_of, start, end, kind, lay, x0, lam = _runs(_Finder(mat), path, step)
    keep = (end > start) & (kind != _VACUUM)  # vacuum adds no depth: left out
    path_of, start, end, kind, lay, x0, lam = (
        a[keep] for a in (path_of, start, end, kind, lay, x0, lam)
    )
    count = np.bincount(path_of, minlength=n)
    width = int(count.max(initial=0)) + 1
    col = np.arange(path_of.size) - (np.cumsum(count) - count)[path_of]
    end_of = np.zeros(n)
    end_of[path_of] = end  # the last stretch's end (stretches are in order)
    s0 = np.repeat(end_of[:, None], width, axis=1)  # padding: zero length at the end
    s1 = s0.copy()
    s0[path_of, col], s1[path_of, col] = start, end
    layer = np.full((n, width), DEAD, dtype=np.int64)
    layer[path_of, col] = lay
    volume = np.full((n, width), -1, dtype=np.int64)
    volume[path_of, col] = kind
    x0_mm, lam_mm = np.zeros((n, width)), np.zeros((n, width))
    x0_mm[path_of, col], lam_mm[path_of, col] = x0, lam
    zero = np.zeros((n, 1))
    cum_x0 = np.concatenate([zero, np.cumsum((s1 - s0) * x0_mm, axis=1)], axis=1)
    cum_lam = np.concatenate([zero, np.cumsum((s1 - s0) * lam_mm, axis=1)], axis=1)
    return MaterialTable(s0=s0, s1=s1, layer=layer, cum_x0=cum_x0, cum_lam=cum_lam,
                         x0_per_mm=x0_mm, lam_per_mm=lam_mm, volume=volume)  # fmt: skip

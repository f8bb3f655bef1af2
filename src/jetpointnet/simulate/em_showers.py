"""Energy deposits ("spots"), electromagnetic showers and ionisation tracks.

Every spot carries a true energy (what calibration hits would record: the energy the
particle deposited there, visible or not) and a visible energy at the EM scale (what the
cell measures). Their ratio is 1 for electromagnetic deposits up to sampling fluctuations
and the e/mip ratio for ionisation (hadronic deposits: :mod:`.hadron_showers`).

- Electrons and photons: Grindhammer-Peters longitudinal profiles (gamma distribution in
  X0 with correlated fluctuations of ln T and ln alpha, as in GFlash), a core + tail
  lateral profile f(r) ~ 2 r R^2 / (r^2 + R^2)^2 in Moliere radii; photons first travel an
  exponential distance of mean 9/7 X0 before converting. The same showers, displaced and
  tilted, are the pi0 sub-showers of hadron showers.
- Ionisation (muons, hadrons before their first interaction): minimum ionisation in every
  layer crossed, Moyal (Landau-like) fluctuations, optionally within an energy budget.

Energy deposited in uninstrumented material (upstream of the calorimeter, cryostats) or
leaking out of the back is lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jetpointnet.simulate.material import DEAD, MaterialTable
from jetpointnet.simulate.params import DETECTOR, LAYERS, DetectorParams

__all__ = ["Spots", "Tilt", "em_showers", "mip_track"]

_LAYER_MOLIERE = np.array([s.moliere for s in LAYERS])
_LAYER_MIP = np.array([s.mip_dedx for s in LAYERS])
# e/mip of the sampling calorimeters (approx. 0.75): a MIP's EM-scale signal is its true
# ionisation loss / (e/mip), so the true loss is the signal times e/mip
_E_OVER_MIP = 0.75


@dataclass
class Spots:
    """Deposits of all particles of an event (one row per spot)."""

    particle: np.ndarray  # int64, index into the event's particle arrays
    layer: np.ndarray  # int64, index into LAYERS
    x: np.ndarray  # mm
    y: np.ndarray
    z: np.ndarray
    e_true: np.ndarray  # GeV
    e_vis: np.ndarray  # GeV, EM scale

    @staticmethod
    def concat(parts: list[Spots]) -> Spots:
        if not parts:
            e = np.empty(0)
            i = np.empty(0, dtype=np.int64)
            return Spots(i, i, e, e, e, e, e)
        return Spots(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                       ("particle", "layer", "x", "y", "z", "e_true", "e_vis")))  # fmt: skip


@dataclass
class _Tracks:
    """Straight-line calorimeter trajectories of the particles that reach it.

    ``row`` indexes the material table the showers are given: the projective one (path
    length s from the origin along the ray, ``s_front`` that of the calorimeter front) or
    one of lines from birth points (:mod:`.lines`: s from the birth point, ``s_front`` that
    of the point where the straight line begins).
    """

    idx: np.ndarray  # particle index
    row: np.ndarray  # material table row
    x: np.ndarray  # point on the line at path length s_front
    y: np.ndarray
    z: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    uz: np.ndarray
    s_front: np.ndarray


def _perp_basis(ux, uy, uz):
    # v1 = normalise(u x z_hat), falling back to x_hat for particles along the beam
    v1x, v1y = uy, -ux
    norm = np.hypot(v1x, v1y)
    small = norm < 1e-9
    v1x = np.where(small, 1.0, v1x / np.where(small, 1.0, norm))
    v1y = np.where(small, 0.0, v1y / np.where(small, 1.0, norm))
    v1z = np.zeros_like(v1x)
    v2x = uy * v1z - uz * v1y
    v2y = uz * v1x - ux * v1z
    v2z = ux * v1y - uy * v1x
    return (v1x, v1y, v1z), (v2x, v2y, v2z)


def _place(tr: _Tracks, sel: np.ndarray, s: np.ndarray, r_lat: np.ndarray, rng,
           shift: tuple[np.ndarray, np.ndarray] | None = None) -> tuple:  # fmt: skip
    """3-D positions of spots at path length ``s`` and lateral distance ``r_lat`` (mm) in a
    random direction, plus ``shift`` (mm, along the two axes perpendicular to the track)."""
    ux, uy, uz = tr.ux[sel], tr.uy[sel], tr.uz[sel]
    ds = s - tr.s_front[sel]
    (ax, ay, az), (bx, by, bz) = _perp_basis(ux, uy, uz)
    psi = rng.uniform(0.0, 2.0 * math.pi, size=s.size)
    c, sn = np.cos(psi) * r_lat, np.sin(psi) * r_lat
    if shift is not None:
        c, sn = c + shift[0], sn + shift[1]
    x = tr.x[sel] + ds * ux + c * ax + sn * bx
    y = tr.y[sel] + ds * uy + c * ay + sn * by
    z = tr.z[sel] + ds * uz + c * az + sn * bz
    return x, y, z


def _n_spots(e: np.ndarray, p: DetectorParams) -> np.ndarray:
    n = np.round(8 + p.spots_per_sqrt_gev * np.sqrt(np.maximum(e, 0.0)))
    return np.clip(n, 8, p.spots_max).astype(np.int64)


def _profile(tr: _Tracks, k: np.ndarray, energy: np.ndarray, start: np.ndarray, shape: np.ndarray,
             rate: np.ndarray, mat: MaterialTable, rng, p: DetectorParams, *, unit: str):  # fmt: skip
    """Spots of showers ``k`` drawn from gamma longitudinal profiles, located in the material.

    Depths ``t`` (X0 or lambda, as ``unit``) start at ``start`` and follow
    Gamma(``shape``, 1/``rate``); returns (shower of each spot, t, path length s, layer, live).
    """
    n = _n_spots(energy, p)
    rep = np.repeat(np.arange(k.size), n)
    t = start[rep] + rng.gamma(shape[rep], 1.0 / rate[rep])
    s, layer = mat.locate(tr.row[k][rep], t, unit=unit)
    return rep, n, t, s, layer, layer != DEAD


def _lateral(u: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Radius drawn from f(r) ~ 2 r R^2 / (r^2 + R^2)^2 (inverse CDF), truncated at 0.99."""
    u = np.minimum(u, 0.99)
    return radius * np.sqrt(u / (1.0 - u))


@dataclass
class Tilt:
    """Showers whose axes leave the track's: at path length s the axis is offset from the
    track by (s - s_vertex) * slope + (s - s_decay) * kick (mm, along the two axes
    perpendicular to the track; each term zero before its point): a pi0 leaving the first
    interaction at a slope, then one of its photons at an angle to the pi0."""

    s_vertex: np.ndarray
    slope: tuple[np.ndarray, np.ndarray]
    s_decay: np.ndarray
    kick: tuple[np.ndarray, np.ndarray]

    def offset(self, shower: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d1 = np.maximum(s - self.s_vertex[shower], 0.0)
        d2 = np.maximum(s - self.s_decay[shower], 0.0)
        (sa, sb), (ka, kb) = self.slope, self.kick
        return d1 * sa[shower] + d2 * ka[shower], d1 * sb[shower] + d2 * kb[shower]


def _gflash_shape(energy: np.ndarray, rng, p: DetectorParams) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, T_max in X0) of each shower, with GFlash's correlated fluctuations."""
    ln_y = np.log(np.maximum(energy / p.em_critical_energy, 3.0))
    ln_t = np.log(np.maximum(ln_y - 0.812, 0.3))
    ln_a = np.log(0.81 + p.em_alpha_coeff * ln_y)
    s_t = 1.0 / np.maximum(-1.4 + 1.26 * ln_y, 1.0)
    s_a = 1.0 / np.maximum(-0.58 + 0.86 * ln_y, 1.0)
    rho = np.clip(0.705 - 0.023 * ln_y, -0.99, 0.99)
    g1 = rng.standard_normal(energy.size)
    g2 = rho * g1 + np.sqrt(1.0 - rho**2) * rng.standard_normal(energy.size)
    tmax = np.maximum(np.exp(ln_t + s_t * g1) + p.em_tmax_shift, 0.3)
    alpha = np.maximum(np.exp(ln_a + s_a * g2), 1.05)
    return alpha, tmax


def em_showers(tr: _Tracks, k: np.ndarray, energy: np.ndarray, t_start: np.ndarray,
               mat: MaterialTable, rng, p: DetectorParams = DETECTOR, *,
               radius_scale: float = 1.0, tilt: Tilt | None = None) -> Spots:  # fmt: skip
    """EM showers on trajectories ``k`` (indices into ``tr``) starting at depth ``t_start`` X0.

    ``tilt``: the showers' axes leave the track (pi0 sub-showers of hadron showers).
    """
    if k.size == 0:
        return Spots.concat([])
    alpha, tmax = _gflash_shape(energy, rng, p)
    beta = (alpha - 1.0) / tmax
    rep, n, t, s, layer, live = _profile(
        tr, k, energy, t_start, alpha, beta, mat, rng, p, unit="x0"
    )
    tau = np.clip((t - t_start[rep]) / tmax[rep], 0.0, 3.0)
    core = rng.uniform(size=t.size) < p.em_core_fraction
    a = np.where(core, p.em_core_radius[0], p.em_tail_radius[0])
    b = np.where(core, p.em_core_radius[1], p.em_tail_radius[1])
    rm = _LAYER_MOLIERE[np.where(live, layer, 0)] * radius_scale
    r_lat = _lateral(rng.uniform(size=t.size), rm * (a + b * tau))
    # sampling fluctuations (stochastic and constant terms), one factor per shower
    fluct = (
        1.0 + p.em_sampling / np.sqrt(np.maximum(energy, 1e-3)) * rng.standard_normal(k.size)
    ) * (1.0 + p.em_constant * rng.standard_normal(k.size))
    e_true = (energy / n)[rep]
    e_vis = e_true * np.maximum(fluct, 0.0)[rep]
    sel = k[rep][live]
    shift = None if tilt is None else tilt.offset(rep[live], s[live])
    x, yy, z = _place(tr, sel, s[live], r_lat[live], rng, shift)
    return Spots(tr.idx[sel], layer[live], x, yy, z, e_true[live], e_vis[live])


def mip_track(tr: _Tracks, k: np.ndarray, lam_end: np.ndarray, mat: MaterialTable, rng, *,
              budget: np.ndarray | None = None) -> tuple[Spots, np.ndarray]:  # fmt: skip
    """Ionisation of charged trajectories ``k`` from the front up to depth ``lam_end`` (lambda).

    ``budget`` (GeV, per trajectory): the true energy the particle can lose at most (its
    kinetic energy); the track stops where it is spent. Returns the spots and the true
    energy each trajectory deposited in instrumented layers.
    """
    if k.size == 0:
        return Spots.concat([]), np.zeros(0)
    rows = tr.row[k]
    s_end, _ = mat.locate(rows, lam_end, unit="lam")
    s0 = mat.s0[rows]
    s1 = np.minimum(mat.s1[rows], s_end[:, None])
    length = np.maximum(s1 - s0, 0.0)  # (k, K)
    lay = mat.layer[rows]
    ok = (length > 0) & (lay != DEAD)
    kk, seg = np.nonzero(ok)  # row-major: segments of one track in path order
    mpv = length[kk, seg] * _LAYER_MIP[lay[kk, seg]]
    # Moyal-distributed energy loss around the most probable value
    w = DETECTOR.mip_landau_width
    xi = rng.standard_normal(kk.size)
    moyal = -np.log(np.maximum(np.abs(xi), 1e-6) ** 2)  # Moyal(0, 1) sample
    e_vis = np.maximum(mpv * (1.0 + w * moyal), 0.0)
    e_true = e_vis * _E_OVER_MIP
    if budget is not None and kk.size:
        csum = np.cumsum(e_true)
        first = np.searchsorted(kk, kk, side="left")
        before = csum - e_true - (csum[first] - e_true[first])
        kept = np.clip(budget[kk] - before, 0.0, e_true)
        e_vis = e_vis * np.where(e_true > 0, kept / np.where(e_true > 0, e_true, 1.0), 0.0)
        e_true = kept
    spent = np.bincount(kk, weights=e_true, minlength=k.size)
    s_mid = 0.5 * (s0[kk, seg] + s1[kk, seg])
    sel = k[kk]
    x, y, z = _place(tr, sel, s_mid, np.zeros(kk.size), rng)
    return Spots(tr.idx[sel], lay[kk, seg], x, y, z, e_true, e_vis), spent

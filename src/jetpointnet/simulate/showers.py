"""Parametrised showers: each particle becomes energy deposits ("spots") in layers.

Every spot carries a true energy (what calibration hits would record: the energy the
particle deposited there, visible or not) and a visible energy at the EM scale (what the
cell measures). Their ratio is 1 for electromagnetic deposits up to sampling fluctuations,
1/(e/h) for the hadronic part of hadron showers (non-compensation), and the e/mip ratio
for ionisation.

- Electrons and photons: Grindhammer-Peters longitudinal profiles (gamma distribution in
  X0 with correlated fluctuations of ln T and ln alpha, as in GFlash), a core + tail
  lateral profile f(r) ~ 2 r R^2 / (r^2 + R^2)^2 in Moliere radii; photons first travel an
  exponential distance of mean 9/7 X0 before converting.
- Hadrons: a minimum-ionising track up to an exponential first-interaction depth in
  lambda, then an electromagnetic fraction f_em = 1 - E^(k-1) deposited as (wider) EM
  sub-showers and the rest with a gamma profile in lambda and a core + halo lateral profile.
- Muons: minimum ionisation in every layer crossed, Moyal (Landau-like) fluctuations.

Energy deposited in uninstrumented material (upstream of the calorimeter, cryostats) or
leaking out of the back is lost; it is counted per particle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jetpointnet.simulate.material import DEAD, MaterialTable
from jetpointnet.simulate.params import DETECTOR, LAYERS, DetectorParams

__all__ = ["Spots", "shower_particles"]

_EM_IDS = (11, 22)
_MUON = 13
_BARYONS = (2212, 2112, 3122, 3222, 3112, 3212, 3312, 3322, 3334)

_LAYER_MOLIERE = np.array([s.moliere for s in LAYERS])
_LAYER_LAMBDA = np.array([s.lam for s in LAYERS])
_LAYER_EOH = np.array([s.e_over_h for s in LAYERS])
_LAYER_MIP = np.array([s.mip_dedx for s in LAYERS])
_E_OVER_MIP = 0.75  # visible EM-scale energy of ionisation / true ionisation (approx.)


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
    """Straight-line calorimeter trajectories of the particles that reach it."""

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


def _place(tr: _Tracks, sel: np.ndarray, s: np.ndarray, r_lat: np.ndarray, rng) -> tuple:
    """3-D positions of spots at path length ``s`` and lateral distance ``r_lat`` (mm)."""
    ux, uy, uz = tr.ux[sel], tr.uy[sel], tr.uz[sel]
    ds = s - tr.s_front[sel]
    (ax, ay, az), (bx, by, bz) = _perp_basis(ux, uy, uz)
    psi = rng.uniform(0.0, 2.0 * math.pi, size=s.size)
    c, sn = np.cos(psi) * r_lat, np.sin(psi) * r_lat
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


def _em(tr: _Tracks, k: np.ndarray, energy: np.ndarray, t_start: np.ndarray, mat: MaterialTable,
        rng, p: DetectorParams, *, radius_scale: float = 1.0, vis_scale: np.ndarray | None = None) -> Spots:  # fmt: skip
    """EM showers for trajectories ``k`` (indices into ``tr``) starting at depth ``t_start`` X0."""
    if k.size == 0:
        return Spots.concat([])
    y = np.maximum(energy / p.em_critical_energy, 3.0)
    ln_y = np.log(y)
    ln_t = np.log(np.maximum(ln_y - 0.812, 0.3)) + 0.0
    ln_a = np.log(0.81 + p.em_alpha_coeff * ln_y)
    s_t = 1.0 / np.maximum(-1.4 + 1.26 * ln_y, 1.0)
    s_a = 1.0 / np.maximum(-0.58 + 0.86 * ln_y, 1.0)
    rho = np.clip(0.705 - 0.023 * ln_y, -0.99, 0.99)
    g1 = rng.standard_normal(k.size)
    g2 = rho * g1 + np.sqrt(1.0 - rho**2) * rng.standard_normal(k.size)
    tmax = np.maximum(np.exp(ln_t + s_t * g1) + p.em_tmax_shift, 0.3)
    alpha = np.maximum(np.exp(ln_a + s_a * g2), 1.05)
    beta = (alpha - 1.0) / tmax
    rep, n, t, s, layer, live = _profile(
        tr, k, energy, t_start, alpha, beta, mat, rng, p, unit="x0"
    )
    tau = (t - t_start[rep]) / tmax[rep]
    tau = np.clip(tau, 0.0, 3.0)
    core = rng.uniform(size=t.size) < p.em_core_fraction
    a, b = (
        np.where(core, p.em_core_radius[0], p.em_tail_radius[0]),
        np.where(core, p.em_core_radius[1], p.em_tail_radius[1]),
    )
    rm = _LAYER_MOLIERE[np.where(live, layer, 0)] * radius_scale
    r_lat = _lateral(rng.uniform(size=t.size), rm * (a + b * tau))
    # sampling fluctuations (stochastic and constant terms), one factor per shower
    e_safe = np.maximum(energy, 1e-3)
    fluct = (1.0 + p.em_sampling / np.sqrt(e_safe) * rng.standard_normal(k.size)) * (
        1.0 + p.em_constant * rng.standard_normal(k.size)
    )
    if vis_scale is not None:
        fluct = fluct * vis_scale
    e_true = (energy / n)[rep]
    e_vis = e_true * np.maximum(fluct, 0.0)[rep]
    sel = k[rep][live]
    x, yy, z = _place(tr, sel, s[live], r_lat[live], rng)
    return Spots(tr.idx[sel], layer[live], x, yy, z, e_true[live], e_vis[live])


def _mip(tr: _Tracks, k: np.ndarray, lam_end: np.ndarray, mat: MaterialTable, rng) -> Spots:
    """Ionisation of charged trajectories ``k`` from the front up to depth ``lam_end`` (lambda)."""
    if k.size == 0:
        return Spots.concat([])
    rows = tr.row[k]
    s_end, _ = mat.locate(rows, lam_end, unit="lam")
    s0 = mat.s0[rows]
    s1 = np.minimum(mat.s1[rows], s_end[:, None])
    length = np.maximum(s1 - s0, 0.0)  # (k, K)
    lay = mat.layer[rows]
    ok = (length > 0) & (lay != DEAD)
    kk, seg = np.nonzero(ok)
    mpv = length[kk, seg] * _LAYER_MIP[lay[kk, seg]]
    # Moyal-distributed energy loss around the most probable value
    w = DETECTOR.mip_landau_width
    xi = rng.standard_normal(kk.size)
    moyal = -np.log(np.maximum(np.abs(xi), 1e-6) ** 2)  # Moyal(0, 1) sample
    e_vis = np.maximum(mpv * (1.0 + w * moyal), 0.0)
    e_true = e_vis / _E_OVER_MIP
    s_mid = 0.5 * (s0[kk, seg] + s1[kk, seg])
    sel = k[kk]
    x, y, z = _place(tr, sel, s_mid, np.zeros(kk.size), rng)
    return Spots(tr.idx[sel], lay[kk, seg], x, y, z, e_true, e_vis)


def _hadron_part(tr: _Tracks, k: np.ndarray, energy: np.ndarray, e_tot: np.ndarray, t0: np.ndarray,
                 mat: MaterialTable, rng, p: DetectorParams) -> Spots:  # fmt: skip
    if k.size == 0:
        return Spots.concat([])
    ln_e = np.log(np.maximum(e_tot, 0.2))
    shape = np.maximum(p.had_shape[0] + p.had_shape[1] * ln_e, 0.5)
    rate = np.maximum(p.had_rate[0] + p.had_rate[1] * ln_e, 0.3)
    rep, n, t, s, layer, live = _profile(tr, k, energy, t0, shape, rate, mat, rng, p, unit="lam")
    core = rng.uniform(size=t.size) < p.had_core_fraction
    lam_mm = _LAYER_LAMBDA[np.where(live, layer, 0)]
    radius = lam_mm * np.where(core, p.had_core_radius, p.had_halo_radius)
    r_lat = _lateral(rng.uniform(size=t.size), radius)
    fluct = np.maximum(
        1.0 + p.had_intrinsic / np.sqrt(np.maximum(e_tot, 0.1)) * rng.standard_normal(k.size), 0.0
    )
    e_true = (energy / n)[rep]
    e_vis = e_true * fluct[rep] / _LAYER_EOH[np.where(live, layer, 0)]
    sel = k[rep][live]
    x, y, z = _place(tr, sel, s[live], r_lat[live], rng)
    return Spots(tr.idx[sel], layer[live], x, y, z, e_true[live], e_vis[live])


def shower_particles(tr: _Tracks, pdg: np.ndarray, e: np.ndarray, m: np.ndarray, charge: np.ndarray,
                     mat: MaterialTable, rng, p: DetectorParams = DETECTOR) -> Spots:  # fmt: skip
    """Deposits of the particles on trajectories ``tr`` (arrays indexed by ``tr.idx``)."""
    apdg = np.abs(pdg[tr.idx])
    energy = e[tr.idx]
    q = charge[tr.idx]
    k_all = np.arange(tr.idx.size)
    parts: list[Spots] = []
    # electrons and photons
    em = np.isin(apdg, _EM_IDS)
    k = k_all[em]
    t_start = np.where(apdg[em] == 22, rng.exponential(p.photon_conversion_x0, size=k.size), 0.0)
    parts.append(_em(tr, k, energy[em], t_start, mat, rng, p))
    # muons
    mu = apdg == _MUON
    parts.append(_mip(tr, k_all[mu], np.full(mu.sum(), 1e9), mat, rng))
    # hadrons
    had = ~em & ~mu
    k = k_all[had]
    if k.size:
        e_had = energy[had]
        baryon = np.isin(apdg[had], _BARYONS)
        anti = pdg[tr.idx][had] < 0
        avail = np.where(
            baryon, np.where(anti, e_had + m[tr.idx][had], e_had - m[tr.idx][had]), e_had
        )
        avail = np.maximum(avail, 0.0)
        lam_scale = np.where(baryon, 1.0, p.pion_lambda_scale)
        t0 = rng.exponential(lam_scale)
        charged = q[had] != 0
        parts.append(_mip(tr, k[charged], t0[charged], mat, rng))
        fbar = np.clip(1.0 - np.power(np.maximum(avail, 1.0), p.had_fem_k - 1.0), 0.0, 1.0)
        f_em = np.clip(fbar + p.had_fem_sigma * rng.standard_normal(k.size), 0.0, 1.0)
        e_em = f_em * avail
        e_h = avail - e_em
        # EM sub-showers start at the interaction point, expressed in X0 depth
        s_int, _ = mat.locate(tr.row[k], t0, unit="lam")
        t0_x0 = mat.depth_at(tr.row[k], s_int, unit="x0")
        use = e_em > 1e-3
        parts.append(
            _em(tr, k[use], e_em[use], t0_x0[use], mat, rng, p, radius_scale=p.had_em_radius_scale)
        )
        use = e_h > 1e-3
        parts.append(_hadron_part(tr, k[use], e_h[use], avail[use], t0[use], mat, rng, p))
    return Spots.concat(parts)

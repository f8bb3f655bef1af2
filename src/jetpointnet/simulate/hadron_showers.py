"""Hadron showers: an ionisation track, then pi0 sub-showers and a hadronic cascade.

For each hadron, with an energy budget E_a (its kinetic energy; its total energy for an
antinucleon, which annihilates):

1. it ionises like a MIP from the calorimeter front to its first interaction, at an
   exponential depth in interaction lengths; that ionisation is taken from the budget
   (a slow hadron may range out before interacting);
2. at the interaction, with E = what is left, an event-by-event electromagnetic fraction
   f_em is drawn from a beta distribution of mean 1 - (E / E0)^(k-1) (Groom, Wigmans) and
   of a width that grows at low energy, so skewed towards 0 where few pi0s are made;
3. f_em E goes into 1 + Poisson(c ln(1 + E / 1 GeV)) pi0s, the energy split among them
   by a Dirichlet (broken-stick) draw; each decays an exponential depth in lambda after
   the interaction, having left the axis at an angle p_T / E_pi0 (p_T drawn around a few
   hundred MeV, the angle capped), so soft sub-showers land off the track; it decays into
   two photons (flat energy sharing, opening angle ~ m / E) that convert after an
   exponential 9/7 X0 and shower;
4. the rest, (1 - f_em) E, is the hadronic cascade: a gamma profile in lambda from the
   interaction, a core + halo lateral profile in lambda (the halo widening with the
   distance from the interaction, as secondaries fly apart), and spot energies drawn from a
   gamma distribution (clumpy deposits) normalised so that their sum is exact. Its visible
   EM-scale energy is its true energy / (e/h) of the layer times one event-by-event factor
   (the invisible-energy fluctuation of nuclear break-up), correlated with f_em.

True deposits therefore add up to at most E_a: what is missing went into dead material or
leaked out of the back. Parameters: ``had_*`` of :class:`~.params.DetectorParams`.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.simulate.em_showers import (
    Spots,
    Tilt,
    _lateral,
    _place,
    _profile,
    _Tracks,
    em_showers,
    mip_track,
)
from jetpointnet.simulate.material import MaterialTable
from jetpointnet.simulate.params import DETECTOR, LAYERS, DetectorParams

__all__ = ["em_fraction", "hadron_budget", "hadron_showers"]

_BARYONS = (2212, 2112, 3122, 3222, 3112, 3212, 3312, 3322, 3334)
_NUCLEONS = (2212, 2112)
_LAYER_LAMBDA = np.array([s.lam for s in LAYERS])
_LAYER_EOH = np.array([s.e_over_h for s in LAYERS])
_PI0_MASS = 0.1349768  # GeV


def hadron_budget(pdg: np.ndarray, e: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Energy a hadron can deposit (GeV): E - m, or E for antinucleons (annihilation)."""
    anti = np.isin(np.abs(pdg), _NUCLEONS) & (pdg < 0)
    return np.where(anti, e, np.maximum(e - m, 0.0))


def em_fraction(energy: np.ndarray, rng, p: DetectorParams = DETECTOR) -> tuple[np.ndarray, ...]:
    """Event-by-event f_em at interaction energy ``energy`` (GeV), and its standard score.

    Beta-distributed with mean 1 - (E / E0)^(k-1) (0 below E0) and standard deviation
    ``had_fem_sigma[0] * E^-had_fem_sigma[1]``, at most ``had_fem_sigma_cap`` of the
    largest a distribution on [0, 1] of that mean allows.
    """
    e = np.maximum(energy, 1e-6)
    mean = np.clip(1.0 - np.power(np.maximum(e / p.had_fem_e0, 1.0), p.had_fem_k - 1.0), 0.0, 0.95)
    on = mean > 1e-3
    mc = np.where(on, mean, 0.5)
    top = np.sqrt(mc * (1.0 - mc))
    sig = np.minimum(
        p.had_fem_sigma[0] * np.power(e, -p.had_fem_sigma[1]), p.had_fem_sigma_cap * top
    )
    nu = mc * (1.0 - mc) / sig**2 - 1.0
    f = rng.beta(mc * nu, (1.0 - mc) * nu)
    return np.where(on, f, 0.0), np.where(on, (f - mc) / sig, 0.0)


def _pi0_showers(tr: _Tracks, k: np.ndarray, e_em: np.ndarray, e_int: np.ndarray, t0: np.ndarray,
                 mat: MaterialTable, rng, p: DetectorParams) -> Spots:  # fmt: skip
    """The EM part: pi0s displaced from the axis (energies sum to ``e_em``), each decaying
    into two photon showers."""
    use = e_em >= p.had_pi0_min_energy
    k, e_em, e_int, t0 = k[use], e_em[use], e_int[use], t0[use]
    if k.size == 0:
        return Spots.concat([])
    n = 1 + rng.poisson(p.had_pi0_mult * np.log1p(e_int))
    n = np.clip(n, 1, np.maximum(1, np.minimum(p.had_pi0_max, e_em // p.had_pi0_min_energy)))
    rep = np.repeat(np.arange(k.size), n.astype(np.int64))
    w = rng.gamma(p.had_pi0_split, size=rep.size)
    e_pi0 = e_em[rep] * w / np.bincount(rep, weights=w)[rep]
    rows = tr.row[k][rep]
    t_start = t0[rep] + rng.exponential(p.had_pi0_depth, size=rep.size)
    s_vtx, _ = mat.locate(rows, t0[rep], unit="lam")
    s_dec, _ = mat.locate(rows, t_start, unit="lam")
    t_x0 = mat.depth_at(rows, s_dec, unit="x0")
    pt = rng.gamma(2.0, 0.5 * p.had_pi0_pt, size=rep.size)
    slope = np.tan(np.minimum(pt / np.maximum(e_pi0, 1e-3), p.had_pi0_theta_max))
    psi = rng.uniform(0.0, 2.0 * np.pi, size=rep.size)
    # pi0 -> gamma gamma: flat energy sharing z, opening angle m / (E sqrt(z (1 - z))),
    # the photons at angles (1 - z) and z of it on either side of the pi0 (pT balance)
    z = rng.uniform(0.01, 0.99, size=rep.size)
    opening = np.minimum(_PI0_MASS / (e_pi0 * np.sqrt(z * (1.0 - z))), p.had_pi0_theta_max)
    phi = rng.uniform(0.0, 2.0 * np.pi, size=rep.size)
    two = np.repeat(np.arange(rep.size), 2)
    side = np.tile([1.0, -1.0], rep.size)
    share = np.where(side > 0, z[two], 1.0 - z[two])
    kick = opening[two] * np.where(side > 0, 1.0 - z[two], z[two]) * side
    conv = rng.exponential(p.photon_conversion_x0, size=two.size)
    tilt = Tilt(
        s_vtx[two], (slope[two] * np.cos(psi[two]), slope[two] * np.sin(psi[two])),
        s_dec[two], (kick * np.cos(phi[two]), kick * np.sin(phi[two])),
    )  # fmt: skip
    return em_showers(tr, k[rep][two], e_pi0[two] * share, t_x0[two] + conv, mat, rng, p, tilt=tilt)


def _cascade(tr: _Tracks, k: np.ndarray, e_h: np.ndarray, e_int: np.ndarray, t0: np.ndarray,
             z_fem: np.ndarray, mat: MaterialTable, rng, p: DetectorParams) -> Spots:  # fmt: skip
    """The hadronic part: gamma profile in lambda, core + halo, clumpy spots, e/h."""
    use = e_h > 1e-3
    k, e_h, e_int, t0, z_fem = k[use], e_h[use], e_int[use], t0[use], z_fem[use]
    if k.size == 0:
        return Spots.concat([])
    ln_e = np.log(np.maximum(e_int, 0.2))
    shape = np.maximum(p.had_shape[0] + p.had_shape[1] * ln_e, 0.5)
    rate = np.maximum(p.had_rate[0] + p.had_rate[1] * ln_e, 0.3)
    rep, _, t, s, layer, live = _profile(tr, k, e_h, t0, shape, rate, mat, rng, p, unit="lam")
    u = rng.uniform(size=t.size)
    core = u < p.had_core_fraction
    lay = np.where(live, layer, 0)
    # the halo widens with the distance travelled from the first interaction (secondary
    # hadrons at an angle ~ p_T / E), the core stays within ~0.1 lambda of the axis
    s_vtx, _ = mat.locate(tr.row[k], t0, unit="lam")
    travelled = np.maximum(s - s_vtx[rep], 0.0)
    halo = np.hypot(p.had_halo_radius * _LAYER_LAMBDA[lay], p.had_halo_angle * travelled)
    radius = np.where(core, p.had_core_radius * _LAYER_LAMBDA[lay], halo)
    r_lat = _lateral(rng.uniform(size=t.size), radius)
    w = rng.gamma(p.had_spot_shape, size=t.size)
    e_true = e_h[rep] * w / np.bincount(rep, weights=w)[rep]
    # invisible-energy fluctuation: one factor per shower, correlated with f_em
    sig = np.hypot(p.had_intrinsic / np.sqrt(np.maximum(e_h, 0.1)), p.had_invisible_sigma)
    rho = p.had_invisible_corr
    g = 1.0 + sig * (rho * z_fem + np.sqrt(1.0 - rho**2) * rng.standard_normal(k.size))
    e_vis = e_true * np.maximum(g, 0.0)[rep] / _LAYER_EOH[lay]
    sel = k[rep][live]
    x, y, z = _place(tr, sel, s[live], r_lat[live], rng)
    return Spots(tr.idx[sel], layer[live], x, y, z, e_true[live], e_vis[live])


def hadron_showers(tr: _Tracks, k: np.ndarray, pdg: np.ndarray, e: np.ndarray, m: np.ndarray,
                   charge: np.ndarray, mat: MaterialTable, rng,
                   p: DetectorParams = DETECTOR) -> Spots:  # fmt: skip
    """Deposits of the hadrons on trajectories ``k`` (indices into ``tr``)."""
    if k.size == 0:
        return Spots.concat([])
    i = tr.idx[k]
    budget = hadron_budget(pdg[i], e[i], m[i])
    baryon = np.isin(np.abs(pdg[i]), _BARYONS)
    t0 = rng.exponential(np.where(baryon, 1.0, p.pion_lambda_scale))
    charged = charge[i] != 0
    mip, spent = mip_track(tr, k[charged], t0[charged], mat, rng, budget=budget[charged])
    e_int = budget.copy()
    e_int[charged] = np.maximum(budget[charged] - spent, 0.0)
    f_em, z_fem = em_fraction(e_int, rng, p)
    f_em = np.where(f_em * e_int < p.had_pi0_min_energy, 0.0, f_em)  # not even one pi0
    em = _pi0_showers(tr, k, f_em * e_int, e_int, t0, mat, rng, p)
    had = _cascade(tr, k, (1.0 - f_em) * e_int, e_int, t0, z_fem, mat, rng, p)
    return Spots.concat([mip, em, had])

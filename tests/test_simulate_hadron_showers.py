"""The hadron-shower model: energy budget, f_em, pi0 sub-showers, clumpy deposits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.em_showers import _Tracks, mip_track
from jetpointnet.simulate.generators import TruthEvent
from jetpointnet.simulate.hadron_showers import em_fraction, hadron_budget
from jetpointnet.simulate.params import DETECTOR

_MASS = {211: 0.13957, 321: 0.49368, 2212: 0.93827, -2212: 0.93827, 2112: 0.93957, 130: 0.49761}


def _gun(pdg: int, energy: float, n: int, seed: int) -> list[TruthEvent]:
    """``n`` single particles of total energy ``energy`` at |eta| < 0.5, made by hand."""
    rng = np.random.default_rng(seed)
    m = _MASS[pdg]
    out = []
    for _ in range(n):
        eta, phi = rng.uniform(-0.5, 0.5), rng.uniform(-np.pi, np.pi)
        p = np.sqrt(energy**2 - m**2)
        pt = p / np.cosh(eta)
        charge = 0.0 if pdg in (2112, 130) else float(np.sign(pdg))
        one = np.ones(1)
        out.append(
            TruthEvent(
                pdg=np.array([pdg], dtype=np.int32),
                px=one * pt * np.cos(phi),
                py=one * pt * np.sin(phi),
                pz=one * pt * np.sinh(eta),
                e=one * energy,
                m=one * m,
                vx=one * 0,
                vy=one * 0,
                vz=one * 0,
                charge=one * charge,
                barcode=np.array([1], dtype=np.int32),
            )
        )
    return out


def _deposits(geo, mat, truths, seed):
    rng = np.random.default_rng(seed)
    recs = [simulate_event(t, geo, mat, rng, keep_spots=True) for t in truths]
    true = np.array([r.spots.e_true.sum() for r in recs])
    return recs, true


@pytest.mark.parametrize(
    ("pdg", "energy"),
    [(211, 0.6), (211, 2.0), (211, 20.0), (321, 3.0), (2212, 2.0), (2112, 10.0), (130, 5.0)],
)
def test_true_deposits_never_exceed_the_kinetic_energy(geo, mat, pdg, energy):
    truths = _gun(pdg, energy, 40, seed=pdg % 97 + int(energy))
    _, true = _deposits(geo, mat, truths, seed=7)
    kinetic = energy - _MASS[pdg]
    assert true.max() <= kinetic * (1 + 1e-9), true.max() / kinetic
    # ... and showers are not starved: most of the budget lands in cells on average
    assert true.mean() > 0.4 * kinetic


def test_antiprotons_annihilate_up_to_their_total_energy(geo, mat):
    truths = _gun(-2212, 2.0, 60, seed=3)
    _, true = _deposits(geo, mat, truths, seed=8)
    assert true.max() <= 2.0 * (1 + 1e-9)
    assert np.mean(true > 2.0 - _MASS[-2212]) > 0.05  # above the kinetic energy: annihilation
    pdg = np.array([-2212, 2212, 211, -211])
    e, m = np.full(4, 5.0), np.array([0.938, 0.938, 0.1396, 0.1396])
    assert np.allclose(hadron_budget(pdg, e, m), [5.0, 5.0 - 0.938, 5.0 - 0.1396, 5.0 - 0.1396])


def test_ionisation_before_the_interaction_is_within_the_budget(mat):
    n = 50
    row = mat.row(np.zeros(n))
    front = mat.front(row)
    tr = _Tracks(idx=np.arange(n), row=row, x=front, y=np.zeros(n), z=np.zeros(n),
                 ux=np.ones(n), uy=np.zeros(n), uz=np.zeros(n), s_front=front)  # fmt: skip
    k = np.arange(n)
    deep = np.full(n, 20.0)  # no interaction: the whole calorimeter as a MIP
    _, free = mip_track(tr, k, deep, mat, np.random.default_rng(1))
    budget = np.linspace(0.05, 3.0, n)
    spots, spent = mip_track(tr, k, deep, mat, np.random.default_rng(1), budget=budget)
    assert np.all(spent <= budget + 1e-12)
    assert np.allclose(spent, np.minimum(free, budget))
    assert np.allclose(np.bincount(spots.particle, weights=spots.e_true, minlength=n), spent)
    assert np.all(spots.e_vis >= 0) and np.all(spots.e_vis <= spots.e_true / 0.5)


def test_em_fraction_follows_groom_and_is_skewed():
    rng = np.random.default_rng(4)
    p = DETECTOR
    for energy in (3.0, 20.0, 100.0):
        f, z = em_fraction(np.full(40_000, energy), rng, p)
        mean = 1 - energy ** (p.had_fem_k - 1)
        assert f.mean() == pytest.approx(mean, abs=0.01), energy
        assert np.all((f >= 0) & (f <= 1))
        assert f.std() > 0.15  # broad, not sigma 0.12
        assert abs(z.mean()) < 0.03 and z.std() == pytest.approx(1.0, abs=0.05)
        if energy < 10:
            assert stats.skew(f) > 0.3  # a tail towards large f_em where few pi0s are made
    f_low, _ = em_fraction(np.full(1000, 0.8), rng, p)
    assert np.all(f_low == 0)  # below E0 no pi0s


def test_pi0_sub_showers_spread_the_em_energy_off_the_axis(geo, mat):
    """Pions: the EM-layer true energy is not all on the axis (it was 82 % within 0.05)."""
    truths = _gun(211, 20.0, 60, seed=5)
    recs, _ = _deposits(geo, mat, truths, seed=9)
    inside = total = 0.0
    for t, r in zip(truths, recs, strict=True):
        s = r.spots
        em = np.isin(s.layer, (1, 2, 3))
        eta = np.arcsinh(s.z[em] / np.hypot(s.x[em], s.y[em]))
        phi = np.arctan2(s.y[em], s.x[em])
        t_eta = np.arcsinh(t.pz[0] / np.hypot(t.px[0], t.py[0]))
        t_phi = np.arctan2(t.py[0], t.px[0])
        dr = np.hypot(eta - t_eta, (phi - t_phi + np.pi) % (2 * np.pi) - np.pi)
        inside += s.e_true[em][dr < 0.05].sum()
        total += s.e_true[em].sum()
    assert 0.4 < inside / total < 0.78


def test_hadronic_spot_energies_fluctuate(geo, mat):
    """Spot energies of the hadronic part are gamma-distributed, not equal."""
    no_pi0 = dataclasses.replace(DETECTOR, had_fem_e0=1e9)  # f_em = 0: the cascade alone
    rng = np.random.default_rng(10)
    for t in _gun(130, 20.0, 5, seed=6):  # neutral: no ionisation spots
        e = simulate_event(t, geo, mat, rng, params=no_pi0, keep_spots=True).spots.e_true
        assert e.size > 20
        assert e.std() / e.mean() > 1.0  # Gamma(0.3) weights: ~1.8; equal spots: 0

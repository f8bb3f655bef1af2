"""Seed 004's selection and W/Z labels, trimming, substructure and weights on hand-made jets."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from jetpointnet.jets.objects import Objects
from jetpointnet.tagging.labels import (
    Bosons,
    boson_match,
    d12_threshold,
    decayed_bosons,
    label_flow,
    selection_flow,
)
from jetpointnet.tagging.large_r import cluster_large_r, four_momenta
from jetpointnet.tagging.substructure import d2, sqrt_d12, tau21
from jetpointnet.tagging.weights import bin_ratio, pt_weights


def _objects(event, pt, eta, phi, charged=False) -> Objects:
    return Objects.make(event, pt, eta, phi, 0.0, charged)


def test_boson_near_far_and_other_event():
    bosons = Bosons(event=np.array([0, 1]), pdg=np.array([24, 23]), pt=np.array([500.0, 500]),
                    eta=np.array([0.0, 1.0]), phi=np.array([0.0, 2.0]))  # fmt: skip
    # jet 0 near the W; jet 1 at 0.9 from it (far); jet 2 in event 1 near the Z; jet 3 is in
    # event 0 but at the Z's position (the Z is in another event: no match)
    row, dr = boson_match(np.array([0, 0, 1, 0]), np.array([0.3, 0.9, 1.1, 1.0]),
                          np.array([0.0, 0.0, 2.0, 2.0]), bosons)  # fmt: skip
    assert row.tolist() == [0, 0, 1, 0]
    np.testing.assert_allclose(dr[:3], [0.3, 0.9, 0.1], atol=1e-12)
    flow = label_flow(boson_dr=dr, ungroomed_mass=np.full(4, 85.0), sqrt_d12=np.full(4, 60.0),
                      truth_pt=np.full(4, 400.0))  # fmt: skip
    assert flow["d12"].tolist() == [True, False, True, False]


def test_d12_and_mass_cuts():
    pt = np.array([250.0, 250.0, 1000.0, 1000.0, 400.0])
    thr = d12_threshold(pt)
    np.testing.assert_allclose(thr[0], 55.25 * np.exp(-2.34e-3 * 250.0))  # 30.8 GeV
    d12 = np.array([thr[0] + 0.1, thr[0] - 0.1, 6.0, 5.0, 40.0])
    mass = np.array([80.0, 80.0, 90.0, 90.0, 49.0])
    flow = label_flow(boson_dr=np.zeros(5), ungroomed_mass=mass, sqrt_d12=d12, truth_pt=pt)
    assert flow["ungroomed_mass"].tolist() == [True, True, True, True, False]
    assert flow["d12"].tolist() == [True, False, True, False, False]


def test_selection_flow_is_cumulative():
    flow = selection_flow(
        eta=np.array([0.0, 2.1, 0.0, 0.0, 0.0, 0.0]),
        matched=np.array([True, True, False, True, True, True]),
        truth_pt=np.array([300.0, 300.0, np.nan, 199.0, 300.0, 300.0]),
        n_constituents=np.array([5, 5, 5, 5, 1, 5]),
        mass=np.array([80.0, 80.0, 80.0, 80.0, 80.0, 39.0]),
    )
    assert flow["eta"].tolist() == [True, False, True, True, True, True]
    assert flow["mass"].tolist() == [True, False, False, False, False, False]


def test_decayed_bosons_reads_status_2_only():
    events = {
        "truthPartPdgId": ak.Array([[211, 24, 23], [-24, 22]]),
        "truthPartStatus": ak.Array([[1, 2, 2], [2, 1]]),
        "truthPartPt": ak.Array([[1.0, 500.0, 400.0], [300.0, 2.0]]),
        "truthPartEta": ak.Array([[0.0, 0.5, -0.5], [1.0, 0.0]]),
        "truthPartPhi": ak.Array([[0.0, 1.0, -1.0], [2.0, 0.0]]),
    }
    b = decayed_bosons(events)
    assert b.event.tolist() == [0, 0, 1] and b.pdg.tolist() == [24, 23, -24]


def test_trimming_drops_soft_subjets_and_keeps_order():
    # one jet: a hard two-prong core and a soft particle 0.6 away (3 % of the jet pT)
    o = _objects([0, 0, 0, 0], [300.0, 200.0, 15.6, 1.0], [0.0, 0.3, 0.0, 5.0],
                 [0.0, 0.0, 0.6, 0.0])  # fmt: skip
    jets = cluster_large_r(o, 1, min_pt=100.0)
    assert len(jets) == 1
    assert sorted(jets.constituents(0, trimmed=False).tolist()) == [0, 1, 2]
    assert jets.constituents(0).tolist() == [0, 1]
    np.testing.assert_allclose(jets.ungroomed_pt[0], np.hypot(*four_momenta(o)[:3, :2].sum(0)))
    p = four_momenta(o)[:2].sum(0)
    np.testing.assert_allclose(jets.mass[0], np.sqrt(p[3] ** 2 - (p[:3] ** 2).sum()), rtol=1e-9)
    assert jets.mass[0] < jets.ungroomed_mass[0]


def test_substructure_of_hand_made_prongs():
    pt = np.array([300.0, 200.0])
    p4 = four_momenta(_objects([0, 0], pt, [0.0, 0.3], [0.0, 0.4]))
    off = np.array([0, 2])
    # kt d12 of two particles: min(pT)^2 dR^2 / R^2 with R = 1
    np.testing.assert_allclose(sqrt_d12(p4, off), [200.0 * 0.5], rtol=1e-6)
    assert tau21(p4, off)[0] == pytest.approx(0.0, abs=1e-9)  # two axes on two particles
    # D2 of three particles by brute force
    o3 = _objects([0, 0, 0], [100.0, 60.0, 40.0], [0.0, 0.2, -0.1], [0.0, 0.1, 0.3])
    q = four_momenta(o3)
    z = np.array([0.5, 0.3, 0.2])
    r = lambda i, j: np.hypot(o3.eta[i] - o3.eta[j], o3.phi[i] - o3.phi[j])
    e2 = z[0] * z[1] * r(0, 1) + z[0] * z[2] * r(0, 2) + z[1] * z[2] * r(1, 2)
    e3 = z.prod() * r(0, 1) * r(0, 2) * r(1, 2)
    np.testing.assert_allclose(d2(q, np.array([0, 3])), [e3 / e2**3], rtol=1e-9)
    assert np.isnan(d2(q[:1], np.array([0, 1]))[0])


def test_flat_pt_weights_match_the_signal_spectrum():
    rng = np.random.default_rng(0)
    sig = rng.uniform(300, 700, 4000)
    bkg = 200 + rng.exponential(150, 8000)
    edges = np.arange(200.0, 1001.0, 100.0)
    ratio = bin_ratio(sig, bkg, edges)
    pt = np.concatenate([sig, bkg])
    is_b = np.r_[np.zeros(len(sig), bool), np.ones(len(bkg), bool)]
    w = pt_weights(pt, is_b, ratio, edges)
    assert w[is_b].mean() == pytest.approx(1.0) and np.all(w[~is_b] == 1.0)
    hs, _ = np.histogram(sig, edges)
    hb, _ = np.histogram(bkg, edges, weights=w[is_b])
    np.testing.assert_allclose(hb / hb.sum(), hs / hs.sum(), atol=1e-4)  # float32 weights

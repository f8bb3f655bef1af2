"""Geometry, tracker, clustering and per-event truth of the detector simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jetpointnet.io.mltree_layout import MISSING
from jetpointnet.simulate.clustering import topo_cluster
from jetpointnet.simulate.detector import STAGES, simulate_event
from jetpointnet.simulate.generators import SourceOptions, make_source
from jetpointnet.simulate.geometry import layer_index
from jetpointnet.simulate.params import DETECTOR
from jetpointnet.simulate.tracker import (
    extrapolate_layers,
    propagate_to_solenoid,
    radius_of_curvature,
)


def test_geometry_counts_follow_atlas(geo):
    counts = {spec.name: int((geo.layer == i).sum()) for i, spec in enumerate(geo.layers)}
    # exact ATLAS cell counts of CALO.md for the regular layers
    assert counts["PreSamplerB"] == 7808
    assert counts["EMB2"] == 29184
    assert counts["EMB3"] == 13824
    assert counts["EME1"] == 28544
    assert counts["EME2"] == 23424
    assert counts["EME3"] == 10240
    assert counts["TileBar0"] == 1280
    assert 180_000 < geo.n_cells < 195_000  # ATLAS: ~187k
    assert np.unique(geo.cell_id).size == geo.n_cells


def test_lookup_inverts_cell_centres_and_rejects_outside(geo):
    idx = geo.lookup(geo.layer, geo.eta, geo.phi)
    assert np.array_equal(idx, np.arange(geo.n_cells))
    emb2 = layer_index()["EMB2"]
    assert geo.lookup(np.array([emb2]), np.array([2.0]), np.array([0.0]))[0] == -1


def test_neighbours_are_symmetric_and_local(geo):
    nb = geo.neighbours
    assert (nb != nb.T).nnz == 0
    rows, cols = nb.nonzero()
    same = geo.layer[rows] == geo.layer[cols]
    deta = np.abs(geo.eta[rows] - geo.eta[cols])[same]
    dphi = np.abs(np.angle(np.exp(1j * (geo.phi[rows] - geo.phi[cols]))))[same]
    # touching boxes only: centres at most one cell width apart (plus the wider neighbour)
    assert np.all(deta <= (geo.deta[rows] + geo.deta[cols])[same] * 0.5 + 1e-6)
    assert np.all(dphi <= (geo.dphi[rows] + geo.dphi[cols])[same] * 0.5 + 1e-6)
    # an EMB2 cell in the middle of the barrel has its 8 in-layer neighbours
    emb2 = layer_index()["EMB2"]
    c = geo.lookup(np.array([emb2]), np.array([0.5125]), np.array([0.1]))[0]
    nbrs = nb[c].indices
    assert (geo.layer[nbrs] == emb2).sum() == 8
    assert {geo.layers[i].name for i in np.unique(geo.layer[nbrs])} == {"EMB1", "EMB2", "EMB3"}


def test_mltree_links_point_to_adjacent_cells(geo):
    nxt = geo.links["nextInEta"]
    ok = nxt >= 0
    assert np.all(geo.layer[nxt[ok]] == geo.layer[ok])
    assert np.all(geo.eta[nxt[ok]] > geo.eta[ok])
    nphi = geo.links["nextInPhi"]
    assert np.all(nphi >= 0)


def test_helix_matches_analytic_circle():
    # tracks from the origin: the exit radius is the solenoid's, and the azimuth turns by
    # asin(r / 2R) at transverse radius r (the textbook helix)
    pt = np.array([0.6, 1.0, 5.0, 50.0])
    q = np.array([1.0, -1.0, 1.0, -1.0])
    phi0 = np.array([0.3, -2.0, 3.0, 1.0])
    eta = np.array([0.1, -0.4, 0.8, -1.0])
    zero = np.zeros(4)
    ex = propagate_to_solenoid(
        zero, zero, zero, pt * np.cos(phi0), pt * np.sin(phi0), pt * np.sinh(eta), q
    )
    assert ex.escapes.all()
    r = np.hypot(ex.x, ex.y)
    assert np.allclose(r, 1150.0, atol=1e-3)
    big_r = radius_of_curvature(pt)
    turn = 2.0 * np.arcsin(1150.0 / (2.0 * big_r))
    expected_pos_phi = phi0 - q * turn / 2.0
    assert np.allclose(
        np.angle(np.exp(1j * (np.arctan2(ex.y, ex.x) - expected_pos_phi))), 0.0, atol=1e-6
    )
    expected_dir_phi = phi0 - q * turn
    assert np.allclose(
        np.angle(np.exp(1j * (np.arctan2(ex.uy, ex.ux) - expected_dir_phi))), 0.0, atol=1e-6
    )
    # z grows linearly with the arc length: z = R * turn * sinh(eta)
    assert np.allclose(ex.z, big_r * turn * np.sinh(eta), rtol=1e-6)


def test_loopers_never_reach_the_calorimeter():
    pt = np.array([0.3])
    ex = propagate_to_solenoid(
        np.zeros(1), np.zeros(1), np.zeros(1), pt, np.zeros(1), np.zeros(1), np.ones(1)
    )
    assert not ex.escapes[0]
    layers = extrapolate_layers(ex, np.zeros(1))
    assert all(v[0][0] == MISSING for v in layers.values())


def test_forward_tracks_leave_through_the_end_cap():
    # the helix search once ended exactly on the end-cap plane, and rounding made a quarter of
    # the forward tracks "loopers" without deposits or extrapolations
    eta = np.linspace(1.5, 2.45, 40)
    eta = np.concatenate([eta, -eta])
    pt = np.full(eta.size, 2.0)
    zero = np.zeros(eta.size)
    for q in (1.0, -1.0):
        ex = propagate_to_solenoid(
            zero, zero, zero, pt, zero, pt * np.sinh(eta), np.full(eta.size, q)
        )
        assert ex.escapes.all()
        on_cap = np.isclose(np.abs(ex.z), DETECTOR.solenoid_z, rtol=1e-6)
        on_barrel = np.isclose(np.hypot(ex.x, ex.y), DETECTOR.solenoid_r, rtol=1e-6)
        assert (on_cap | on_barrel).all()
        assert on_cap[np.abs(eta) > 2.0].all()


def test_extrapolation_sides_and_coverage():
    # a straight (neutral-like, very stiff) track at eta -2.0 reaches EME2 on the negative side
    eta = np.array([-2.0, 0.3])
    pt = np.array([1000.0, 1000.0])
    zero = np.zeros(2)
    ex = propagate_to_solenoid(zero, zero, zero, pt, zero, pt * np.sinh(eta), np.ones(2))
    lay = extrapolate_layers(ex, eta)
    assert lay["EME2"][0][0] == pytest.approx(-2.0, abs=1e-3)
    assert lay["EMB2"][0][0] == MISSING
    assert lay["EMB2"][0][1] == pytest.approx(0.3, abs=1e-3)
    assert lay["EME2"][0][1] == MISSING


def test_noise_only_event_cluster_rate(geo):
    rng = np.random.default_rng(5)
    n_events = 15
    counts = []
    for _ in range(n_events):
        e = rng.standard_normal(geo.n_cells) * geo.noise
        labels = topo_cluster(e, geo.noise, geo.neighbours)
        counts.append(labels.max() + 1)
    # every |E| > 4 sigma cell seeds a cluster; merges are rare at this occupancy
    expected = geo.n_cells * math.erfc(4.0 / math.sqrt(2.0))
    assert np.mean(counts) == pytest.approx(expected, rel=0.2)


def test_topo_cluster_grows_and_adds_perimeter(geo):
    noise = geo.noise
    energy = 1e-3 * noise  # every real cell has some (noise) energy
    emb2 = layer_index()["EMB2"]
    seed = geo.lookup(np.array([emb2]), np.array([0.3125]), np.array([0.5]))[0]
    energy[seed] = 10 * noise[seed]
    nb = geo.neighbours[seed].indices
    grow = nb[0]
    energy[grow] = 3 * noise[grow]
    far = geo.lookup(np.array([emb2]), np.array([-1.0]), np.array([-2.0]))[0]
    energy[far] = 3 * noise[far]  # above growth, but no seed: not clustered
    energy[nb[1]] = -0.1 * noise[nb[1]]  # a negative neighbour: perimeter all the same
    labels = topo_cluster(energy, noise, geo.neighbours)
    assert labels[seed] == 0 and labels[grow] == 0 and labels[nb[1]] == 0
    assert labels[far] == -1
    perim = np.flatnonzero(labels == 0)
    assert set(geo.neighbours[seed].indices) <= set(perim)


def _event(preset: str, seed: int = 3, **kw):
    src = iter(make_source(SourceOptions(preset=preset, **kw), seed))
    return next(src)


def test_truth_energy_never_exceeds_the_particle(geo, mat):
    truth = _event("rho")
    rec = simulate_event(truth, geo, mat, np.random.default_rng(1), keep_spots=True)
    s = rec.spots
    per_particle = np.bincount(s.particle, weights=s.e_true, minlength=truth.size)
    assert np.all(per_particle <= truth.e + 1e-9)
    te = np.concatenate([np.asarray(x) for x in [rec.nested["cluster_cell_hitsTruthE"][0]]])
    ti = rec.nested["cluster_cell_hitsTruthIndex"][0]
    assert np.all(te > 0)
    assert ti.min() >= 0 and ti.max() < truth.size
    assert np.all(np.bincount(ti, weights=te, minlength=truth.size) <= truth.e + 1e-6)


def test_max_contributors_caps_the_list(geo, mat):
    truth = _event("dijet-jz2")
    rec = simulate_event(truth, geo, mat, np.random.default_rng(2), max_contributors=1)
    per_cell = rec.nested["cluster_cell_hitsTruthIndex"][1]
    assert per_cell.max() <= 1
    rec_all = simulate_event(truth, geo, mat, np.random.default_rng(2))
    assert rec_all.nested["cluster_cell_hitsTruthIndex"][1].max() > 1


def test_same_seed_same_event(geo, mat):
    a = simulate_event(_event("rho", 9), geo, mat, np.random.default_rng(4))
    b = simulate_event(_event("rho", 9), geo, mat, np.random.default_rng(4))
    for k in a.values:
        assert np.array_equal(np.asarray(a.values[k]), np.asarray(b.values[k])), k
    for k in a.nested:
        assert all(np.array_equal(x, y) for x, y in zip(a.nested[k], b.nested[k], strict=True)), k


def test_eta_mirror_symmetry(geo, mat):
    """The detector is symmetric under z -> -z: a mirrored event deposits the same energy
    in the same layers, at mirrored eta, and its tracks reach the mirrored surfaces."""
    import dataclasses

    truth = _event("dijet-jz2", 5)
    mirror = dataclasses.replace(truth, pz=-truth.pz, vz=-truth.vz)
    a = simulate_event(truth, geo, mat, np.random.default_rng(8), keep_spots=True)
    b = simulate_event(mirror, geo, mat, np.random.default_rng(8), keep_spots=True)
    la = np.bincount(a.spots.layer, weights=a.spots.e_vis, minlength=len(geo.layers))
    lb = np.bincount(b.spots.layer, weights=b.spots.e_vis, minlength=len(geo.layers))
    assert np.allclose(la, lb, rtol=1e-6, atol=1e-9)
    ea, eb = a.values["trackEta_EMB2"], b.values["trackEta_EMB2"]
    reached = ea > -1e5
    assert np.array_equal(reached, eb > -1e5)
    assert np.allclose(ea[reached], -eb[reached], atol=0.01)  # smearing is not mirrored


def test_event_without_deposits(geo, mat):
    """A lone neutrino leaves nothing but noise: the event still simulates."""
    from jetpointnet.simulate.generators import TruthEvent

    one = np.ones(1)
    nu = TruthEvent(
        pdg=np.array([12], dtype=np.int32), px=one * 5, py=one * 0, pz=one * 0, e=one * 5, m=one * 0,
        vx=one * 0, vy=one * 0, vz=one * 0, charge=one * 0, barcode=np.array([1], dtype=np.int32),
    )  # fmt: skip
    rec = simulate_event(nu, geo, mat, np.random.default_rng(0))
    assert rec.values["nTrack"] == 0
    assert rec.values["nCluster"] > 0  # noise clusters only
    assert rec.nested["cluster_cell_hitsTruthIndex"][0].size == 0


def test_stage_timings_change_nothing(geo, mat):
    timings: dict[str, float] = {}
    a = simulate_event(_event("rho", 9), geo, mat, np.random.default_rng(4), timings=timings)
    b = simulate_event(_event("rho", 9), geo, mat, np.random.default_rng(4))
    assert set(timings) == set(STAGES) and all(v >= 0 for v in timings.values())
    for k, v in a.values.items():
        np.testing.assert_array_equal(v, b.values[k])

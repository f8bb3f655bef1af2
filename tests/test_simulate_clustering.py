"""Topo-cluster splitting at local maxima: split clusters, shared cells and their weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jetpointnet.simulate.clustering import ClusterCells, split_clusters, topo_cluster
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import SourceOptions, TruthEvent, make_source
from jetpointnet.simulate.geometry import layer_index
from jetpointnet.simulate.params import DETECTOR


def _blobs(geo, blobs: list[tuple[float, float, float]], *, noise: float = 0.0, seed: int = 0):
    """Cell energies (GeV): Gaussian blobs (eta, phi, E) of width 0.02 in EMB2, plus noise."""
    rng = np.random.default_rng(seed)
    energy = noise * rng.standard_normal(geo.n_cells) * geo.noise
    emb2 = np.flatnonzero(geo.layer == layer_index()["EMB2"])
    for eta, phi, e in blobs:
        dr2 = (geo.eta[emb2] - eta) ** 2 + np.angle(np.exp(1j * (geo.phi[emb2] - phi))) ** 2
        near = dr2 < 0.15**2
        profile = np.exp(-0.5 * dr2[near] / 0.02**2)
        energy[emb2[near]] += e * profile / profile.sum()
    return energy


def _centroid_eta_phi(geo, cells, weights):
    x, y, z = (a[cells] for a in geo.positions())
    w = np.abs(weights)
    cx, cy, cz = (np.sum(w * a) / np.sum(w) for a in (x, y, z))
    return np.arcsinh(cz / np.hypot(cx, cy)), np.arctan2(cy, cx)


def test_two_blobs_in_one_cluster_are_split_and_shares_add_up(geo):
    energy = _blobs(geo, [(0.30, 0.50, 20.0), (0.40, 0.50, 10.0)], noise=1.0, seed=3)
    labels = topo_cluster(energy, geo.noise, geo.neighbours)
    big = labels == 0
    assert energy[big].sum() > 29.0  # both blobs sit in the leading cluster
    cc = split_clusters(energy, labels, geo)
    n_before = labels.max() + 1
    assert cc.n_clusters == n_before + 1  # only that cluster has two maxima
    # the two leading split clusters: one per blob, centred on it
    e_cl = np.bincount(cc.cluster, weights=cc.weight * energy[cc.cell], minlength=cc.n_clusters)
    assert e_cl[0] == pytest.approx(20.0, rel=0.05)
    assert e_cl[1] == pytest.approx(10.0, rel=0.05)
    for k, eta0 in ((0, 0.30), (1, 0.40)):
        sel = cc.cluster == k
        eta, phi = _centroid_eta_phi(geo, cc.cell[sel], cc.weight[sel] * energy[cc.cell[sel]])
        assert eta == pytest.approx(eta0, abs=0.01) and phi == pytest.approx(0.5, abs=0.01)
    # the same cells, each either once with weight 1 or twice with weights adding up to 1
    assert np.array_equal(np.unique(cc.cell), np.flatnonzero(labels >= 0))
    assert np.allclose(np.bincount(cc.cell, weights=cc.weight)[np.unique(cc.cell)], 1.0)
    n_entries = np.bincount(cc.cell)
    shared = np.flatnonzero(n_entries == 2)
    assert shared.size > 0 and n_entries.max() == 2
    assert np.all(labels[shared] == 0)  # only the split cluster shares cells
    assert np.all((cc.weight > 0) & (cc.weight <= 1))
    # energy is conserved: the clusters add up to the clustered cells
    assert e_cl.sum() == pytest.approx(energy[labels >= 0].sum(), rel=1e-12)
    # clusters come in descending energy, entries sorted by (cluster, cell)
    assert np.all(np.diff(e_cl) <= 0)
    assert np.all(np.diff(cc.cluster * geo.n_cells + cc.cell) > 0)


def test_shared_weight_follows_energy_and_distance(geo):
    energy = _blobs(geo, [(0.30, 0.50, 20.0), (0.40, 0.50, 10.0)])
    labels = topo_cluster(energy, geo.noise, geo.neighbours)
    cc = split_clusters(energy, labels, geo, shower_scale=50.0)
    shared = np.flatnonzero(np.bincount(cc.cell) == 2)
    alone = np.isin(cc.cell, shared, invert=True)
    x, y, z = geo.positions()
    centre, e_split = [], []
    for k in (0, 1):
        c = cc.cell[alone & (cc.cluster == k)]
        w = np.maximum(energy[c], 0.0)
        centre.append(np.array([np.sum(w * a[c]) / w.sum() for a in (x, y, z)]))
        e_split.append(energy[c].sum())
    for cell in shared:
        ent = np.flatnonzero(cc.cell == cell)
        assert sorted(cc.cluster[ent]) == [0, 1]
        w1 = cc.weight[ent][cc.cluster[ent] == 0][0]
        pos = np.array([x[cell], y[cell], z[cell]])
        d1, d2 = (np.linalg.norm(pos - c) / 50.0 for c in centre)
        assert w1 == pytest.approx(e_split[0] / (e_split[0] + np.exp(d1 - d2) * e_split[1]))
    # the shared cells lie between the two blobs
    assert np.all((geo.eta[shared] > 0.33) & (geo.eta[shared] < 0.38))


def test_one_maximum_or_splitting_off_keeps_the_clusters(geo):
    energy = _blobs(geo, [(0.30, 0.50, 20.0), (-1.0, 2.0, 5.0)], noise=1.0, seed=4)
    labels = topo_cluster(energy, geo.noise, geo.neighbours)
    cc = split_clusters(energy, labels, geo)
    ref = ClusterCells.from_labels(labels)
    for field in ("cell", "cluster", "weight"):
        assert np.array_equal(getattr(cc, field), getattr(ref, field))
    assert cc.n_clusters == ref.n_clusters == labels.max() + 1
    # a blob pair below the maximum threshold is not split either
    pair = _blobs(geo, [(0.30, 0.50, 20.0), (0.40, 0.50, 10.0)])
    lab2 = topo_cluster(pair, geo.noise, geo.neighbours)
    high = split_clusters(pair, lab2, geo, min_energy=50.0)
    assert high.n_clusters == lab2.max() + 1 and np.all(high.weight == 1.0)


def _two_photons(d_eta: float) -> TruthEvent:
    eta = np.array([0.3, 0.3 + d_eta])
    pt = 25.0 / np.cosh(eta)
    phi = np.array([0.5, 0.5])
    z = np.zeros(2)
    return TruthEvent(
        pdg=np.array([22, 22], dtype=np.int32), px=pt * np.cos(phi), py=pt * np.sin(phi),
        pz=pt * np.sinh(eta), e=np.full(2, 25.0), m=z, vx=z, vy=z, vz=z, charge=z,
        barcode=np.array([1, 2], dtype=np.int32),
    )  # fmt: skip


def _cluster_energies_near(rec, eta0: float, phi0: float = 0.5) -> np.ndarray:
    v = rec.values
    dr = np.hypot(v["cluster_Eta"] - eta0, np.angle(np.exp(1j * (v["cluster_Phi"] - phi0))))
    return v["cluster_E"][dr < 0.03]


def test_two_photons_in_the_simulation_are_split(geo, mat):
    truth = _two_photons(0.1)
    off = dataclasses.replace(DETECTOR, split_clusters=False)
    a = simulate_event(truth, geo, mat, np.random.default_rng(1), params=off)
    b = simulate_event(truth, geo, mat, np.random.default_rng(1))
    # without splitting both photons end up in one cluster between them
    assert a.values["cluster_E"][0] > 40.0
    assert _cluster_energies_near(a, 0.35).size == 1
    # with splitting: one cluster of about 25 GeV on each photon
    for eta0 in (0.3, 0.4):
        near = _cluster_energies_near(b, eta0)
        assert near.size == 1 and near[0] == pytest.approx(25.0, rel=0.15)
    ids = b.nested["cluster_cell_ID"][0]
    assert np.unique(ids).size < ids.size  # shared cells are written twice
    assert np.unique(a.nested["cluster_cell_ID"][0]).size == a.nested["cluster_cell_ID"][0].size


def test_record_moments_follow_the_shares(geo, mat):
    """With every clustered cell written, cluster_E and the centre are the sums over the
    written shares, and a shared cell lists the same truth in both clusters."""
    truth = next(iter(make_source(SourceOptions(preset="dijet-jz2"), 5)))
    params = dataclasses.replace(DETECTOR, min_written_cell_energy=-np.inf)
    rec = simulate_event(truth, geo, mat, np.random.default_rng(2), params=params)
    ids, per_cluster = rec.nested["cluster_cell_ID"]
    shares = rec.nested["cluster_cell_E"][0].astype(np.float64)
    assert np.array_equal(per_cluster, rec.values["cluster_nCells"])
    starts = np.cumsum(per_cluster) - per_cluster
    e_sum = np.add.reduceat(shares, starts)
    assert np.allclose(rec.values["cluster_E"], e_sum, rtol=1e-5, atol=1e-4)
    row = np.searchsorted(geo.cell_id, ids, sorter=np.argsort(geo.cell_id))
    row = np.argsort(geo.cell_id)[row]
    for k in range(5):  # the five leading clusters
        sl = slice(starts[k], starts[k] + per_cluster[k])
        eta, phi = _centroid_eta_phi(geo, row[sl], shares[sl])
        assert rec.values["cluster_Eta"][k] == pytest.approx(eta, abs=1e-4)
        assert rec.values["cluster_Phi"][k] == pytest.approx(phi, abs=1e-4)
    # shared cells: two entries, the same contributors in each
    u, count = np.unique(ids, return_counts=True)
    assert count.max() == 2 and (count == 2).sum() > 0
    hits, per_cell = rec.nested["cluster_cell_hitsTruthE"][:2]
    h_start = np.cumsum(per_cell) - per_cell
    for cell in u[count == 2][:20]:
        i, j = np.flatnonzero(ids == cell)
        assert np.array_equal(
            hits[h_start[i] : h_start[i] + per_cell[i]], hits[h_start[j] : h_start[j] + per_cell[j]]
        )


def test_switch_in_the_configuration(simulated):
    import awkward as ak
    import uproot

    files = {
        split: simulated("dijet-jz2", 4, 3, **({} if split else {"split_clusters": False}))[0]
        for split in (True, False)
    }
    repeated = {}
    for split, path in files.items():
        with uproot.open(path) as f:
            ids = f["EventTree"]["cluster_cell_ID"].array(library="ak")
        repeated[split] = sum(
            len(flat) - np.unique(flat).size for flat in (ak.flatten(ev).to_numpy() for ev in ids)
        )
    assert repeated[False] == 0 and repeated[True] > 0  # shared cells only when splitting
    manifest = (files[False].parent / "simulate.json").read_text()
    assert '"split_clusters": false' in manifest

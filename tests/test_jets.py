"""``jetpointnet jets``: reconciliation, truth closure, calo jets vs FastJet, the command."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from predict_helpers import make_data, make_run

from jetpointnet.cli import main
from jetpointnet.data.geometry import CellTable
from jetpointnet.io.mltree_layout import PILEUP_BARCODE_STRIDE
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.jets.algorithms import classical_claims
from jetpointnet.jets.clustering import Jets, cluster_jets, match_jets
from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events
from jetpointnet.jets.objects import Objects, hard_scatter_tracks, neutral_objects, truth_objects
from jetpointnet.jets.reconcile import Claims, reconcile
from jetpointnet.jets.response import response_table
from jetpointnet.jets.run import JetsConfig, run_jets

fastjet = pytest.importorskip("fastjet", reason="jets extra not installed")


def _events(path: Path, stop: int | None = None, extra: tuple[str, ...] = ()):
    table = CellTable.from_geometry(read_geometry(path))
    n = uproot.open(path)["EventTree"].num_entries if stop is None else stop
    raw = read_events(path, JET_BRANCHES_REQUIRED, optional=(*JET_BRANCHES_OPTIONAL, *extra),
                      entry_start=0, entry_stop=n)  # fmt: skip
    return jet_events(raw, table, entry_start=0, source=str(path)), raw, table


# -- reconciliation ---------------------------------------------------------------------


def test_reconcile_conserves_energy_and_scales_proportionally() -> None:
    rng = np.random.default_rng(7)
    e = rng.normal(1.0, 1.5, 300)  # some negative (noise) cells
    k = 2000
    claims = Claims(
        track=rng.integers(0, 20, k),
        cell=rng.integers(0, 300, k),
        energy=rng.normal(0.3, 0.6, k),  # negative claims and over-claims included
    )
    granted, remnant = reconcile(e, claims)
    taken = np.bincount(claims.cell, weights=granted, minlength=300)
    np.testing.assert_allclose(taken + remnant, e, rtol=0, atol=1e-12)  # nothing created/lost
    assert np.all(granted >= 0)
    assert np.all(granted <= np.maximum(claims.energy, 0) + 1e-12)
    assert np.all(taken <= np.maximum(e, 0) + 1e-12)
    np.testing.assert_array_equal(remnant[e <= 0], e[e <= 0])  # noise cells untouched
    clipped = np.clip(claims.energy, 0, np.maximum(e, 0)[claims.cell])
    want = np.bincount(claims.cell, weights=clipped, minlength=300)
    over = want > np.maximum(e, 0)
    assert over.sum() > 10 and (~over & (want > 0)).sum() > 10  # both regimes exercised
    # under-claimed cells: every clipped claim granted in full
    ok = ~over[claims.cell]
    np.testing.assert_allclose(granted[ok], clipped[ok], rtol=1e-12)
    # over-claimed cells: emptied, each claim scaled by the same factor
    np.testing.assert_allclose(remnant[over], 0.0, atol=1e-12)
    for c in np.flatnonzero(over)[:20]:
        m = (claims.cell == c) & (clipped > 0)
        ratio = granted[m] / clipped[m]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)


def test_reconcile_leaves_a_single_claim_within_the_cell_alone() -> None:
    granted, remnant = reconcile(np.array([2.0, 1.0]), Claims(np.array([0]), np.array([0]),
                                                              np.array([0.5])))  # fmt: skip
    np.testing.assert_allclose(granted, [0.5])
    np.testing.assert_allclose(remnant, [1.5, 1.0])


# -- truth closure and the calorimeter path against FastJet --------------------------------


def test_truth_particles_through_the_same_code_reproduce_truth_jets(simulated) -> None:
    ev, _, _ = _events(simulated("dijet-jz2", 4, 3)[0])
    truth = truth_objects(ev.truth)
    tj = cluster_jets(truth, ev.n_events, min_pt=5.0)
    # the same particles split into "charged" and "neutral" sets and merged again
    half = np.arange(len(truth)) % 2 == 0
    parts = [Objects(**{k: getattr(truth, k)[m] for k in truth.__dataclass_fields__})
             for m in (half, ~half)]  # fmt: skip
    rj = cluster_jets(Objects.concat(parts), ev.n_events, min_pt=5.0)
    sel = tj.select(tj.pt > 20.0)
    assert len(sel) >= 4
    idx, dr = match_jets(sel, rj, max_dr=0.1)
    assert np.all(idx >= 0)
    np.testing.assert_allclose(dr, 0.0, atol=1e-9)
    rows = response_table(sel.pt, sel.energy, rj.pt[idx], rj.energy[idx], n_boot=10)
    for r in rows:
        if r["n_truth"] >= 2:
            assert r["efficiency"] == 1.0
            assert r["e"]["median"] == pytest.approx(1.0, abs=1e-9)
            assert r["pt"]["q68"] == pytest.approx(0.0, abs=1e-9)


def _strict_json(path: Path) -> dict:
    """summary.json parses with a strict reader: no NaN or Infinity, ``null`` explained."""

    def refuse(name: str):
        raise AssertionError(f"{path}: non-standard JSON constant {name}")

    s = json.loads(path.read_text(), parse_constant=refuse)
    assert s["null"].startswith("not computable")
    return s


def test_calo_jets_match_a_direct_fastjet_run_on_clusters(simulated, tmp_path: Path) -> None:
    path = simulated("dijet-jz2", 4, 3)[0]
    cfg = JetsConfig(algorithms=["calo"], n_boot=5)
    run_jets([str(path)], tmp_path, config=cfg, progress=False)
    _strict_json(tmp_path / "summary.json")
    ours = ak.from_parquet(tmp_path / "jets.parquet")
    ours = ours[ours.algorithm == "calo"]
    ev = uproot.open(path)["EventTree"].arrays(["cluster_E", "cluster_Eta", "cluster_Phi"])
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)
    n_jets = 0
    for i in range(len(ev)):
        e = np.asarray(ev.cluster_E[i], np.float64)
        eta = np.asarray(ev.cluster_Eta[i], np.float64)
        phi = np.asarray(ev.cluster_Phi[i], np.float64)
        keep = e > 0
        e, eta, phi = e[keep], eta[keep], phi[keep]
        pt = e / np.cosh(eta)
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        pj = [fastjet.PseudoJet(*map(float, four)) for four in zip(px, py, pz, e, strict=True)]
        seq = fastjet.ClusterSequence(pj, jetdef)
        direct = sorted((j.pt() for j in seq.inclusive_jets(5.0)), reverse=True)
        mine = np.asarray(ours.pt[ours.entry == i])
        np.testing.assert_allclose(mine, direct, rtol=1e-6)
        n_jets += len(direct)
    assert n_jets >= 8


# -- event-level subtraction ----------------------------------------------------------------


def test_classical_subtraction_conserves_the_event_energy(simulated) -> None:
    from jetpointnet.evaluation.pflow.templates import eflowrec_reference

    path = simulated("dijet-jz2", 4, 3)[0]
    ev, _, _ = _events(path)
    claims, charged, status = classical_claims(ev, eflowrec_reference())
    granted, remnant = reconcile(ev.cells.energy, claims)
    np.testing.assert_allclose(granted, claims.energy, rtol=1e-12)  # never over-subtracts
    assert len(claims) > 100 and charged.sum() > 20
    assert not charged[status == 4].any()  # vetoed tracks are not charged objects
    np.testing.assert_allclose(
        granted.sum() + remnant.sum(), ev.cells.energy.astype(np.float64).sum(), rtol=1e-12
    )
    c = ev.cells
    key = c.event * 100000 + c.cluster
    uniq, inv = np.unique(key, return_inverse=True)
    per_cluster = np.bincount(inv, weights=remnant)
    neutral = neutral_objects(ev, remnant, unwritten=False)
    e_neutral = (neutral.pt * np.cosh(neutral.eta)).sum()
    assert e_neutral == pytest.approx(per_cluster[per_cluster > 0].sum(), rel=1e-9)
    # with the cells the file does not list (below 5 MeV: the negative noise), each neutral
    # object is its cluster's cluster_E minus what the tracks took from it
    first = np.searchsorted(ev.cluster_event, np.arange(ev.n_events))
    flat = first[uniq // 100000] + uniq % 100000
    np.testing.assert_allclose(
        ev.cluster_unwritten, ev.cluster_e - _written_per_cluster(path), atol=1e-3
    )
    assert ev.cluster_unwritten.sum() < 0  # the written cells carry only positive noise
    full = per_cluster + ev.cluster_unwritten[flat]
    neutral = neutral_objects(ev, remnant)
    e_neutral = (neutral.pt * np.cosh(neutral.eta)).sum()
    assert e_neutral == pytest.approx(full[full > 0].sum(), rel=1e-6)


def _written_per_cluster(path) -> np.ndarray:
    with uproot.open(path) as f:
        cell_e = f["EventTree"]["cluster_cell_E"].array()
    return np.asarray(ak.flatten(ak.sum(cell_e, axis=-1)), np.float64)


def test_chs_finds_the_pileup_tracks(simulated) -> None:
    path = simulated("dijet-jz2", 3, 5, pileup=10.0)[0]
    ev, raw, _ = _events(path, extra=("truthPartBarcode",))
    hs = hard_scatter_tracks(ev)
    link = ak.flatten(raw["trackTruthParticleIndex"])
    barcode = ak.flatten(raw["truthPartBarcode"][raw["trackTruthParticleIndex"]])
    from_pileup = np.asarray(barcode) >= PILEUP_BARCODE_STRIDE
    assert len(link) == len(hs) and from_pileup.sum() > 20
    assert np.mean(~hs[from_pileup]) > 0.9  # pile-up tracks removed
    assert np.mean(hs[~from_pileup]) > 0.85  # hard-scatter tracks kept (secondaries aside)
    truth = ev.truth
    assert len(truth) > 0  # truth jets see the hard scatter only
    assert len(truth) < len(raw["truthPartPdgId"][0]) + len(raw["truthPartPdgId"][1]) + len(
        raw["truthPartPdgId"][2]
    )


def test_match_is_one_to_one_and_closest_first() -> None:
    def jets(eta, phi) -> Jets:
        n = len(eta)
        z = np.zeros(n)
        return Jets(np.zeros(n, np.int64), z + 30, np.array(eta, float), np.array(phi, float),
                    z, z + 30, np.ones(n, np.int64))  # fmt: skip

    truth = jets([0.0, 0.05], [0.0, 0.0])
    reco = jets([0.04], [0.0])
    idx, dr = match_jets(truth, reco, max_dr=0.2)
    np.testing.assert_array_equal(idx, [-1, 0])  # the closer truth jet wins
    assert dr[1] == pytest.approx(0.01)


# -- the command ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(simulated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("jets-run")
    data = make_data(simulated("rho", 30, 1), tmp / "data")
    return make_run(data, tmp / "run", "task.name=binary")


@pytest.mark.slow
def test_jets_command_end_to_end(simulated, tiny_run: Path, tmp_path: Path, capsys) -> None:
    files = simulated("dijet-jz2", 4, 3)
    out = tmp_path / "jets"
    args = ["jets", "--input", str(files[0]), "--run", str(tiny_run), "--out", str(out),
            "--oracle", "--quiet"]  # fmt: skip
    assert main(args) == 0
    s = _strict_json(out / "summary.json")
    name = tiny_run.name
    assert s["algorithms"] == ["calo", "classical", f"ml:{name}", f"oracle:{name}", "oracle",
                               "oracle-calibrated"]  # fmt: skip
    assert s["events"] == 4 and s["truth"]
    for algo in s["algorithms"]:
        assert s["response"][algo][0]["n_truth"] == s["response"]["calo"][0]["n_truth"]
    assert s["ml_rows_not_in_event"][f"ml:{tiny_run.name}_rows_not_in_event"] == 0
    html = (out / "report.html").read_text()
    assert "Jet energy response" in html and "data:image/png;base64" in html
    matched = ak.from_parquet(out / "matched.parquet")
    assert set(np.unique(np.asarray(matched.algorithm))) == set(s["algorithms"])
    # a second call refuses to overwrite; with --overwrite it reuses the cached predictions
    cache = out / "predictions" / f"{tiny_run.name}.parquet"
    stamp = cache.stat().st_mtime_ns
    assert main(args) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert cache.stat().st_mtime_ns == stamp


def test_jets_bad_inputs_give_one_line(simulated, tmp_path: Path, capsys) -> None:
    assert main(["jets", "--input", str(tmp_path / "nothing*.root"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no file matches" in err[0]
    files = simulated("dijet-jz2", 4, 3)
    assert main(["jets", "--input", str(files[0]), "--algorithm", "ml", "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--run" in err[0]
    assert main(["jets", "--input", str(files[0]), "--oracle", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--oracle needs" in err[0]


def test_oracle_claims_are_the_true_focal_energies(simulated) -> None:
    from jetpointnet.jets.algorithms import ml_claims

    ev, _, table = _events(simulated("dijet-jz2", 4, 3)[0])
    c = ev.cells
    rows = {  # two tracks of event 0 claiming its first three cells
        "entry": np.zeros(6, np.int64),
        "track_index": np.array([0, 0, 0, 1, 1, 1]),
        "cell_id": np.tile(c.id[:3], 2),
        "pred_focal_prob": np.full(6, 0.5, np.float32),
        "truth_focal_energy": np.array([0.1, np.nan, 0.3, 0.0, 0.2, 0.0], np.float32),
    }
    claims, lost = ml_claims(ev, table, rows, claim="truth")
    assert lost == 0
    np.testing.assert_allclose(claims.energy, [0.1, 0.0, 0.3, 0.0, 0.2, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(claims.cell, [0, 1, 2, 0, 1, 2])
    expected, _ = ml_claims(ev, table, rows, claim="expected")
    np.testing.assert_allclose(expected.energy, 0.5 * np.tile(c.energy[:3], 2), rtol=1e-6)


def test_ml_pt_cap_leaves_high_pt_tracks_to_the_calorimeter(simulated) -> None:
    from jetpointnet.jets.algorithms import ml_pt_cap

    ev, _, _ = _events(simulated("dijet-jz2", 4, 3)[0])
    n = len(ev.tracks)
    claims = Claims(track=np.arange(n), cell=np.zeros(n, np.int64), energy=np.ones(n))
    high = ev.tracks.pt > 10.0
    assert 0 < high.sum() < n
    kept, charged = ml_pt_cap(ev, claims, np.ones(n, bool), 10.0)
    np.testing.assert_array_equal(kept.track, np.flatnonzero(~high))
    np.testing.assert_array_equal(charged, ~high)


@pytest.mark.slow
def test_jets_read_the_configured_tree_names(simulated, tmp_path: Path) -> None:
    from mltree_rename import rename_trees

    src = simulated("dijet-jz2", 4, 3)[0]
    (tmp_path / "renamed").mkdir()
    renamed = rename_trees(src, tmp_path / "renamed" / src.name,
                           {"EventTree": "Events", "CellGeo": "Geo"})  # fmt: skip
    cfg = JetsConfig(algorithms=["calo"], n_boot=5)
    a = run_jets([str(src)], tmp_path / "a", config=cfg, progress=False)
    cfg_b = JetsConfig(algorithms=["calo"], n_boot=5, event_tree="Events", geometry_tree="Geo")
    b = run_jets([str(renamed)], tmp_path / "b", config=cfg_b, progress=False)
    assert a.summary["events"] == b.summary["events"] == 4
    assert json.dumps(a.summary["response"]) == json.dumps(b.summary["response"])  # NaN alike
    ja, jb = (
        ak.from_parquet(tmp_path / "a" / "jets.parquet"),
        ak.from_parquet(tmp_path / "b" / "jets.parquet"),
    )
    assert ak.to_list(ja) == ak.to_list(jb) and len(ja) > 0
    with pytest.raises(Exception, match="no tree 'EventTree'"):
        run_jets([str(renamed)], tmp_path / "c", config=cfg, progress=False)


@pytest.mark.slow
def test_jets_read_each_file_once_for_jets_and_predictions(
    simulated, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every entry of the input is read once, by one open file, for the run and the jets."""
    from jetpointnet.io import mltree_reader

    files = simulated("dijet-jz2", 4, 3)
    opened, ranges = [], []
    init, read = mltree_reader.EventFile.__init__, mltree_reader.EventFile.read

    def count_open(self, *args, **kwargs):
        init(self, *args, **kwargs)
        opened.append(self)

    def count_read(self, branches, *, entry_start, entry_stop, optional=()):
        ranges.append((str(self.path), entry_start, entry_stop))
        return read(self, branches, entry_start=entry_start, entry_stop=entry_stop,
                    optional=optional)  # fmt: skip

    monkeypatch.setattr(mltree_reader.EventFile, "__init__", count_open)
    monkeypatch.setattr(mltree_reader.EventFile, "read", count_read)
    cfg = JetsConfig(algorithms=["calo", "ml"], events_per_chunk=3, n_boot=5)
    res = run_jets([str(files[0])], tmp_path / "j", runs=[tiny_run], config=cfg, progress=False)
    assert res.summary["events"] == 4
    assert ranges == [(str(files[0].resolve()), 0, 3), (str(files[0].resolve()), 3, 4)]
    assert len(opened) == 1 and opened[0].closed
    assert (tmp_path / "j" / "predictions" / f"{tiny_run.name}.parquet").is_file()

"""The jet ceilings ``oracle`` and ``oracle-calibrated`` (:mod:`jetpointnet.jets.ceilings`)."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from jets_handmade import truth_only_events, write_truth_only

from jetpointnet.cli import main
from jetpointnet.data.geometry import CellTable
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.jets.ceilings import (
    calibrated_remnant,
    oracle_claims,
    oracle_tracks,
)
from jetpointnet.jets.clustering import Jets, cluster_jets, match_jets
from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events
from jetpointnet.jets.objects import Objects, charged_objects, neutral_objects, truth_objects
from jetpointnet.jets.reconcile import reconcile
from jetpointnet.jets.run import JetsConfig, run_jets

fastjet = pytest.importorskip("fastjet", reason="jets extra not installed")

CEILINGS = ["oracle", "oracle-calibrated"]


def _events(path: Path):
    table = CellTable.from_geometry(read_geometry(path))
    raw = read_events(path, JET_BRANCHES_REQUIRED, optional=JET_BRANCHES_OPTIONAL,
                      entry_start=0, entry_stop=None)  # fmt: skip
    return jet_events(raw, table, entry_start=0, source=str(path))


def _matched(out: Path) -> dict[str, dict[str, np.ndarray]]:
    m = ak.from_parquet(out / "matched.parquet")
    algo = np.asarray(m.algorithm).astype(str)
    return {a: {k: np.asarray(m[k])[algo == a] for k in m.fields if k != "algorithm"}
            for a in np.unique(algo)}  # fmt: skip


def _jets(path: Path, out: Path, algorithms: list[str]) -> dict:
    cfg = JetsConfig(algorithms=algorithms, min_pt=10.0, n_boot=5)
    run_jets([path], out, config=cfg, progress=False)
    return _matched(out)


def test_both_ceilings_reproduce_truth_jets_on_truth_only_events(tmp_path: Path) -> None:
    path = write_truth_only(tmp_path / "truth-only.root", truth_only_events())
    m = _jets(path, tmp_path / "jets", ["calo", *CEILINGS])
    for algo in CEILINGS:
        r = m[algo]
        assert len(r["truth_pt"]) == 4  # two jets in each of the two events
        np.testing.assert_allclose(r["reco_pt"], r["truth_pt"], rtol=1e-6)
        np.testing.assert_allclose(r["reco_energy"], r["truth_energy"], rtol=1e-6)
        np.testing.assert_allclose(r["reco_eta"], r["truth_eta"], atol=1e-6)
        np.testing.assert_allclose(r["dr"], 0.0, atol=1e-5)
    # the calorimeter alone sees 60 % of each pion: the test can tell a wrong jet
    assert np.all(m["calo"]["reco_energy"] < 0.95 * m["calo"]["truth_energy"])


def _ceiling_jets(ev, *, calibrated: bool) -> Jets:
    """The ceilings' constituents as ``run_jets`` builds them (no pile-up: no CHS)."""
    mask = oracle_tracks(ev)
    _, remnant = reconcile(ev.cells.energy, oracle_claims(ev, mask))
    if calibrated:
        remnant = calibrated_remnant(ev, mask)
    objects = Objects.concat([charged_objects(ev, np.flatnonzero(mask)),
                              neutral_objects(ev, remnant, unwritten=not calibrated)])  # fmt: skip
    return cluster_jets(objects, ev.n_events, min_pt=5.0)


def test_a_shared_cell_keeps_oracle_calibrated_exact_and_lowers_the_oracle(
    tmp_path: Path,
) -> None:
    events = truth_only_events(shared_cell=True)
    ev = _events(write_truth_only(tmp_path / "shared.root", events))
    truth = cluster_jets(truth_objects(ev.truth), ev.n_events, min_pt=5.0)
    assert len(truth) == 4
    for calibrated in (True, False):
        jets = _ceiling_jets(ev, calibrated=calibrated)
        idx, _ = match_jets(truth, jets, max_dr=0.1)
        assert np.all(idx >= 0)
        lost = np.zeros(len(truth))
        if not calibrated:
            # the oracle claims the pion's true deposit (more than it showed) in the shared
            # cell: the part of the photon's energy there that the claim covers is eaten
            for k, e in enumerate(events):
                g1, p1 = e.particles[2], e.particles[0]
                true_p1, vis_p1 = p1.deposits[1000 * k + 100]
                gamma = g1.deposits[1000 * k + 100][1]
                eaten = gamma - max(vis_p1 + gamma - true_p1, 0.0)
                assert eaten > 1.0
                lost[np.argmax(truth.pt * (truth.event == k))] = eaten
        np.testing.assert_allclose(jets.energy[idx], truth.energy - lost, rtol=1e-5)


def test_oracle_claims_and_calibrated_remnant_by_hand(tmp_path: Path) -> None:
    events = truth_only_events(shared_cell=True)
    ev = _events(write_truth_only(tmp_path / "shared.root", events))
    mask = oracle_tracks(ev)
    assert mask.all() and len(mask) == 6  # three pions per event
    claims = oracle_claims(ev, mask)
    # every (cell, pion) deposit is claimed once, by the pion's own track
    n_dep = sum(len(p.deposits) for e in events for p in e.particles if p.tracked)
    assert len(claims) == n_dep
    true = ev.cells.focal_energy(claims.cell, ev.tracks.truth_row[claims.track])
    np.testing.assert_allclose(claims.energy, true, rtol=1e-6)
    assert np.all(claims.energy > 0)
    # the pions' deposits add up to what the hand-made events gave them
    want = sum(t for e in events for p in e.particles if p.tracked for t, _ in p.deposits.values())
    assert claims.energy.sum() == pytest.approx(want, rel=1e-6)
    granted, remnant = reconcile(ev.cells.energy, claims)
    assert np.all(granted <= claims.energy + 1e-9)
    cal = calibrated_remnant(ev, mask)
    np.testing.assert_allclose(cal, ev.cells.neutral, rtol=1e-6)  # every charged one tracked
    # only the photons' cells keep energy after the oracle's subtraction
    photon_cells = np.isin(ev.cells.id, [c for e in events for p in e.particles
                                         if p.pdg == 22 for c in p.deposits])  # fmt: skip
    assert np.all(remnant[~photon_cells] == 0)
    # without tracks, every deposit is "neutral": the calibrated remnant is the whole truth
    none = np.zeros_like(mask)
    assert len(oracle_claims(ev, none)) == 0
    np.testing.assert_allclose(calibrated_remnant(ev, none), ev.cells.total, rtol=1e-6)


def test_ceilings_on_files_without_truth_give_one_line(tmp_path: Path, capsys) -> None:
    path = write_truth_only(tmp_path / "no-truth.root", truth_only_events(), truth=False)
    for algo in CEILINGS:
        assert main(["jets", "--input", str(path), "--algorithm", algo,
                     "--out", str(tmp_path / algo), "--quiet"]) == 2  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"--algorithm {algo} needs truth" in err[0]
    # the default set leaves them out on such files
    assert main(["jets", "--input", str(path), "--out", str(tmp_path / "d"), "--quiet"]) == 0
    s = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert s["algorithms"] == ["calo", "classical"]


@pytest.mark.slow
def test_ceilings_order_on_simulated_jz2(simulated, tmp_path: Path) -> None:
    files = simulated("dijet-jz2", 40, 5)
    cfg = JetsConfig(algorithms=["calo", "classical", *CEILINGS], pt_bins=[20.0, 1000.0],
                     n_boot=20)  # fmt: skip
    s = run_jets([str(f) for f in files], tmp_path / "jets", config=cfg, progress=False).summary
    q = {a: s["response"][a][0]["e"]["q68"] for a in cfg.algorithms}
    n = s["response"]["calo"][0]["n_truth"]
    assert n >= 60
    assert q["oracle-calibrated"] < q["oracle"] <= q["classical"] * 1.05
    assert q["oracle-calibrated"] < 0.75 * q["calo"]
    assert q["oracle"] < q["calo"]
    assert s["oracle_tracks_per_event"] > 10

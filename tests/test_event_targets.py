"""Event-level truth, targets, samples, target particles and jets (issue 13, data side)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from jetpointnet.data.event_inputs import EVENT_KIND_OPTIONAL, EVENT_KIND_REQUIRED, event_view
from jetpointnet.data.event_preprocess import EventPreprocessConfig, preprocess_events
from jetpointnet.data.event_samples import RegionConfig
from jetpointnet.data.event_targets import VISIBLE_FRACTION, event_targets
from jetpointnet.data.geometry import CellTable
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_layout import EVENT_TRUTH_BRANCHES
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.sample_files import read_npz


@pytest.fixture(scope="module")
def files(simulated):
    """The same rho events with and without the optional event-level truth."""
    with_truth = simulated("rho", events=6, seed=3)
    without = simulated("rho", events=6, seed=3, event_truth=False)
    return with_truth[0], without[0]


def _events(path: Path):
    table = CellTable.from_geometry(read_geometry(path))
    events = read_events(path, EVENT_KIND_REQUIRED, optional=EVENT_KIND_OPTIONAL,
                         entry_start=0, entry_stop=6)  # fmt: skip
    return events, table


def test_optional_branches_leave_the_others_unchanged(files):
    import uproot

    with uproot.open(files[0]) as a, uproot.open(files[1]) as b:
        ta, tb = a["EventTree"], b["EventTree"]
        assert set(ta.keys()) - set(tb.keys()) == set(EVENT_TRUTH_BRANCHES)
        for name in tb.keys():  # noqa: SIM118 - uproot: iterating yields branches
            x = ak.to_numpy(ak.flatten(tb[name].array(), axis=None))
            y = ak.to_numpy(ak.flatten(ta[name].array(), axis=None))
            assert np.array_equal(x, y, equal_nan=True), name
        e = ta.arrays([*EVENT_TRUTH_BRANCHES, "truthPartPdgId", "cluster_cell_hitsTruthE"])
    # per-cell visible energy of the clustered cells <= the particles' calorimeter totals
    # (over every cell), and rho -> pi pi0 -> pi gamma gamma: photons of a pi0
    vis = ak.sum(ak.flatten(e.cluster_cell_hitsTruthEVis, axis=None))
    assert 0 < vis <= ak.sum(e.truthPartCaloEVis) * (1 + 1e-5)
    assert ak.all(ak.num(e.cluster_cell_hitsTruthEVis, axis=3)
                  == ak.num(e.cluster_cell_hitsTruthE, axis=3))  # fmt: skip
    photons = e.truthPartPdgId == 22
    assert ak.all(e.truthPartParentPdgId[photons] == 111)


@pytest.mark.parametrize("which", [0, 1])
def test_incidence_and_energies_add_up(files, which):
    events, table = _events(files[which])
    for i in range(len(events["eventNumber"])):
        view = event_view(events, i, table)
        ev = view.target_input
        tg = event_targets(ev)
        assert np.allclose(tg.q.sum(axis=1), 1.0) and (tg.q >= 0).all()
        # target energies: tracked particles (true E) + neutral groups = visible particles
        true_dep = np.bincount(ev.contrib_part, weights=ev.contrib_true, minlength=len(ev.part_e))
        tracked = np.unique(ev.track_part[ev.track_part >= 0])
        visible = true_dep > VISIBLE_FRACTION * ev.part_e
        visible[tracked] = True
        linked = ev.track_part >= 0
        first = np.unique(ev.track_part[linked], return_index=True)[1]
        charged_sum = tg.charged_e[np.flatnonzero(linked)[first]].sum()
        assert charged_sum + tg.neutral_e.sum() == pytest.approx(ev.part_e[visible].sum())
        # deposits: the neutral groups' visible energy is their members' deposit
        dep = np.bincount(ev.contrib_part, weights=ev.contrib_dep, minlength=len(ev.part_e))
        members = tg.particle_slot >= len(ev.track_part)
        assert tg.neutral_e_vis.sum() == pytest.approx(dep[members].sum())
        assert (tg.particle_slot[~visible] == -1).all()


def _prep(tmp_path, path, name, **kw):
    cfg = EventPreprocessConfig(events_per_chunk=4, max_cells=400, max_tracks=8,
                                max_neutral=8, **kw)  # fmt: skip
    return preprocess_events([path], tmp_path / name, config=cfg, progress=False)


@pytest.mark.parametrize("mode", ["event", "region"])
def test_samples_conserve_and_lead_back_to_root(tmp_path, files, mode):
    import uproot

    res = _prep(tmp_path, files[0], mode, region=RegionConfig(mode=mode, deta=1.0, dphi=1.0))
    meta = res.metadata
    assert meta["kind"] == "event" and meta["truth"] == {"truth": True, "visible": True,
                                                         "parents": True}  # fmt: skip
    numbers = uproot.open(files[0])["EventTree"]["eventNumber"].array(library="np")
    n = 0
    for f in sorted((res.out / "arrays").rglob("*.npz")):
        a = read_npz(f)
        q, mask = a["q"], a["cell_mask"]
        assert q.shape[-1] == meta["n_tracks"] + meta["n_neutral"] + 1
        assert np.allclose(q.sum(-1)[mask], 1.0, atol=1e-5) and (q.sum(-1)[~mask] == 0).all()
        assert (numbers[a["entry"]] == a["event_number"]).all() and (a["file_index"] == 0).all()
        assert ((a["charged_class"] >= 0) == a["track_mask"]).all()
        n += len(a["entry"])
    assert n == sum(c["samples"] for c in meta["counts"].values())
    again = _prep(tmp_path, files[0], mode, region=RegionConfig(mode=mode, deta=1.0, dphi=1.0))
    assert again.chunks_run == 0 and again.chunks_skipped == res.chunks_run


def test_without_optional_branches_both_kinds_run(tmp_path, files):
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.data.preprocess import preprocess

    res = _prep(tmp_path, files[1], "ev")
    assert res.metadata["truth"] == {"truth": True, "visible": False, "parents": False}
    per_track = preprocess([files[1]], tmp_path / "tr", config=PreprocessConfig(), progress=False)
    assert per_track.metadata["counts"]["train"]["samples"] > 0


def test_targets_as_prediction_are_perfect(tmp_path, files):
    from jetpointnet.data.event_particles import particles_from_samples, target_particles
    from jetpointnet.evaluation.particles import cell_accuracy, particle_metrics
    from jetpointnet.io.particles import read_particles, write_particles
    from jetpointnet.jets.event import jets_from_particles, target_objects
    from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events

    events, table = _events(files[0])
    targets = target_particles(events, table, file_index=0, entry_start=0)
    path = write_particles(targets, tmp_path / "particles.parquet")
    back = read_particles(path)
    m = particle_metrics(targets, back)
    for cls, e in m["efficiency"].items():
        assert e["overall"] in (None, 1.0), cls
        assert m["fake_rate"][cls]["overall"] in (None, 0.0), cls
    assert m["residuals"]["photon"]["E"]["median"] == pytest.approx(0.0, abs=1e-6)
    jev = read_events(files[0], JET_BRANCHES_REQUIRED, optional=JET_BRANCHES_OPTIONAL,
                      entry_start=0, entry_stop=6)  # fmt: skip
    ev = jet_events(jev, table, entry_start=0)
    chs = np.ones(len(ev.tracks), bool)
    ref, _ = target_objects(events, ev, table, chs, file_index=0, entry_start=0)
    got, lost = jets_from_particles(back, ev, chs, file_index=0)
    assert lost == 0 and len(got) == len(ref)
    for k in ("event", "pt", "eta", "phi", "mass", "charged"):
        assert np.allclose(getattr(got, k), getattr(ref, k)), k
    no_chs, _ = jets_from_particles(back, ev, np.zeros(len(ev.tracks), bool), file_index=0)
    assert len(no_chs) == int((back["track_index"] < 0).sum())  # CHS drops every charged row
    res = _prep(tmp_path, files[0], "cells")
    a = read_npz(next((res.out / "arrays").rglob("*.npz")))
    assert cell_accuracy(a["q"], a["q"], a["cell_energy"], a["cell_mask"]) == pytest.approx(1.0)
    assert len(particles_from_samples(a)["E"]) == int(
        a["track_mask"].sum() + a["neutral_mask"].sum()
    )


def test_bad_inputs_one_line(tmp_path, files):
    from jetpointnet.cli import main
    from jetpointnet.io.particles import read_particles, write_particles

    bad = tmp_path / "bad.root"
    bad.write_text("not root")
    with pytest.raises(UserError):
        _prep(tmp_path, bad, "bad")
    with pytest.raises(UserError, match=r"region\.mode"):
        _prep(tmp_path, files[0], "m", region=RegionConfig(mode="tiles"))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("max_cell: 10\n")
    rc = main(["preprocess", "--kind", "event", "--input", str(files[0]), "--config", str(cfg),
               "--out", str(tmp_path / "o"), "--no-progress"])  # fmt: skip
    assert rc != 0 and not (tmp_path / "o" / "metadata.json").exists()
    with pytest.raises(UserError, match="unknown class"):
        write_particles({"file_index": [0], "entry": [0], "event_number": [1],
                         "region_index": [0], "class": ["photn"], "E": [1.0], "pt": [1.0],
                         "eta": [0.0], "phi": [0.0], "m": [0.0], "track_index": [-1],
                         "existence": [1.0]}, tmp_path / "p.parquet")  # fmt: skip
    assert not (tmp_path / "p.parquet").exists()
    with pytest.raises(UserError, match="not a parquet"):
        read_particles(bad)


def test_evaluation_sees_missed_and_fake_particles(tmp_path, files):
    from jetpointnet.data.event_particles import folder_target_particles
    from jetpointnet.evaluation.event_report import evaluate_event_particles

    res = _prep(tmp_path, files[0], "evalfolder")
    targets = folder_target_particles(res.out, split="train")
    neutral = np.flatnonzero(np.asarray(targets["track_index"]) < 0)
    pred = {k: np.asarray(v).copy() for k, v in targets.items()}
    pred["existence"][neutral[0]] = 0.1  # one neutral not predicted
    pred["phi"][neutral[1]] += 1.0  # one neutral far off: a miss and a fake
    m = evaluate_event_particles(pred, tmp_path / "eval", targets=targets)
    cls = {str(targets["class"][neutral[0]]), str(targets["class"][neutral[1]])}
    n_class = {c: int((np.asarray(targets["class"]) == c).sum()) for c in cls}
    missed = sum(n_class[c] * (1 - m["efficiency"][c]["overall"]) for c in cls)
    assert missed == pytest.approx(2.0)
    fakes = sum(m["fake_rate"][c]["overall"] * m["fake_rate"][c]["n"] for c in cls)
    assert fakes == pytest.approx(1.0)
    assert m["n_pred"] == len(targets["E"]) - 1
    html = (tmp_path / "eval" / "particles_section.html").read_text()
    assert "<section>" in html and "particles_efficiency.png" in html
    assert (tmp_path / "eval" / "particles_efficiency.png").stat().st_size > 0


def test_each_target_in_exactly_one_region(tmp_path, files):
    def totals(mode):
        cfg = EventPreprocessConfig(max_cells=800, max_tracks=8, max_neutral=24,
                                    region=RegionConfig(mode=mode, deta=0.7, dphi=0.7))  # fmt: skip
        res = preprocess_events([files[0]], tmp_path / mode, config=cfg, progress=False)
        assert res.metadata["truncation"]["samples"] == 0
        arrays = [read_npz(f) for f in sorted((res.out / "arrays").rglob("*.npz"))]
        n = sum(int(a["neutral_mask"].sum()) for a in arrays)
        e = sum(float(a["neutral_e"][a["neutral_mask"]].sum()) for a in arrays)
        t = sum(int(a["track_mask"].sum()) for a in arrays)
        cells = sum(float(a["cell_energy"][a["cell_mask"]].sum()) for a in arrays)
        return n, e, t, cells, sum(len(a["entry"]) for a in arrays)

    whole, tiles = totals("event"), totals("region")
    assert tiles[4] > whole[4]  # more samples than events
    assert tiles[0] == whole[0] and tiles[2] == whole[2]
    assert tiles[1] == pytest.approx(whole[1], rel=1e-5)
    assert tiles[3] == pytest.approx(whole[3], rel=1e-5)

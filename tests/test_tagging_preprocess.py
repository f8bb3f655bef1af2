"""``preprocess --kind jet``: the contract's folder, labels, links back to ROOT, mixing, resume."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot
from tiny_runs import npz_chunks

from jetpointnet.errors import UserError
from jetpointnet.tagging.config import JetPrepConfig
from jetpointnet.tagging.features import JET_FEATURES
from jetpointnet.tagging.preprocess import parse_class_inputs, preprocess_jets

CONTRACT = {"X": np.float32, "mask": np.bool_, "p4": np.float32, "y_cloud": np.int64,
            "weight": np.float32, "jet_pt": np.float32, "jet_eta": np.float32,
            "jet_phi": np.float32, "jet_m": np.float32, "jet_m_ungroomed": np.float32,
            "truth_jet_pt": np.float32, "truth_jet_m": np.float32, "tau21": np.float32,
            "d2": np.float32, "n_constituents": np.int32, "file_index": np.int32,
            "entry": np.int64, "event_number": np.int64, "object_index": np.int32}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(simulated):
    wz = simulated("wprime-wz", events=8, seed=2)
    qcd = simulated("dijet-jz4", events=8, seed=2, slice_radius=1.0)
    return {"wz": [str(p) for p in wz], "qcd": [str(p) for p in qcd]}


def _config(inputs, **kw) -> JetPrepConfig:
    opts = {"algorithm": "calo", "events_per_chunk": 4, "jets_per_file": 8, "length": 32, **kw}
    return JetPrepConfig(inputs=dict(inputs), **opts)


@pytest.fixture(scope="module")
def folder(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("jetprep") / "prep"
    res = preprocess_jets(out, config=_config(inputs), progress=False)
    return out, res


def test_contract_arrays_and_metadata(folder):
    out, _ = folder
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "jet" and meta["classes"] == ["qcd", "wz"]
    assert meta["features"] == list(JET_FEATURES) and meta["length"] == 32
    assert meta["algorithm"] == "calo" and len(meta["inputs"]) == 2
    files, chunks = npz_chunks(out)
    assert files and sum(c["y_cloud"].size for c in chunks) == sum(
        v["jets"] for v in meta["counts"].values()
    )
    for c in chunks:
        n = len(c["y_cloud"])
        assert set(c) == set(CONTRACT)
        for k, dt in CONTRACT.items():
            assert c[k].dtype == dt, k
            assert c[k].shape[0] == n
        assert c["X"].shape == (n, 32, len(JET_FEATURES)) and c["p4"].shape == (n, 32, 4)
        assert np.all(c["X"][~c["mask"]] == 0) and np.all(c["p4"][~c["mask"]] == 0)
        assert np.all(c["mask"].sum(1) == np.minimum(c["n_constituents"], 32))
        assert np.all(c["jet_pt"] > 0) and np.all(np.abs(c["jet_eta"]) < 2.0)
        assert np.all(c["truth_jet_pt"] > 200) and np.all(c["jet_m"] > 40)
    w = np.concatenate([c["weight"] for c in chunks])
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    flow = meta["cutflow"]
    assert flow["wz"]["d12"] > 0 and flow["qcd"]["mass"] > 0
    assert flow["wz"]["mass"] >= flow["wz"]["boson_dr"] >= flow["wz"]["d12"]


def test_each_cloud_once_and_back_to_its_root_entry(folder, inputs):
    out, _ = folder
    meta = json.loads((out / "metadata.json").read_text())
    _, chunks = npz_chunks(out)
    keys = [(int(f), int(e), int(o)) for c in chunks
            for f, e, o in zip(c["file_index"], c["entry"], c["object_index"], strict=True)]  # fmt: skip
    assert len(keys) == len(set(keys))
    files = meta["inputs"]
    for c in chunks:
        for i in range(len(c["y_cloud"])):
            path = files[c["file_index"][i]]
            cls = meta["sources"][c["file_index"][i]]["class"]
            assert c["y_cloud"][i] == meta["classes"].index(cls)
            if c["n_constituents"][i] > 32:
                continue
            t = uproot.open(path)["EventTree"]
            e = int(c["entry"][i])
            ev = t.arrays(["eventNumber", "cluster_E", "cluster_Eta", "cluster_Phi"],
                          entry_start=e, entry_stop=e + 1)  # fmt: skip
            assert ev["eventNumber"][0] == c["event_number"][i]
            ce, ceta = np.asarray(ev["cluster_E"][0]), np.asarray(ev["cluster_Eta"][0])
            cphi = np.asarray(ev["cluster_Phi"][0])
            px = py = 0.0
            for p in c["p4"][i][c["mask"][i]]:
                k = int(np.argmin(np.abs(ce - p[3])))  # the cluster of this constituent
                assert abs(ce[k] - p[3]) < 1e-3 * ce[k]
                px += ce[k] / np.cosh(ceta[k]) * np.cos(cphi[k])
                py += ce[k] / np.cosh(ceta[k]) * np.sin(cphi[k])
            assert np.hypot(px, py) == pytest.approx(float(c["jet_pt"][i]), rel=1e-4)


def test_chunks_mix_classes(folder):
    _, chunks = npz_chunks(folder[0])
    full = [c for c in chunks if len(c["y_cloud"]) == 8]
    assert full
    for c in full:
        assert set(c["y_cloud"].tolist()) == {0, 1}


def test_resume_skips_and_gives_the_same_bytes(folder, inputs):
    out, _ = folder
    files, _ = npz_chunks(out)
    before = {f: f.read_bytes() for f in files}
    res = preprocess_jets(out, config=_config(inputs), progress=False)
    assert res.chunks_run == 0 and res.chunks_skipped > 0
    assert {f: f.read_bytes() for f in npz_chunks(out)[0]} == before
    with pytest.raises(UserError, match="another configuration"):
        preprocess_jets(out, config=_config(inputs, length=16), progress=False)


def test_bad_inputs_are_one_line(inputs, tmp_path):
    with pytest.raises(UserError, match="unknown class 'wzz'"):
        parse_class_inputs(["wzz=a.root"], ["qcd", "wz"])
    bad = tmp_path / "broken.root"
    bad.write_bytes(b"not a root file")
    cfg = _config({"wz": inputs["wz"], "qcd": [str(bad)]})
    with pytest.raises(UserError, match=r"broken\.root"):
        preprocess_jets(tmp_path / "o", config=cfg, progress=False)
    assert not (tmp_path / "o" / "metadata.json").exists()


def test_cli_kind_jet_runs_and_names_a_bad_key(inputs, tmp_path, capsys):
    from jetpointnet.cli import main

    args = ["preprocess", "--kind", "jet", "--input", f"wz={inputs['wz'][0]}",
            "--input", f"qcd={inputs['qcd'][0]}", "--out", str(tmp_path / "o"), "--no-progress",
            "--set", "algorithm=calo", "--set", "events_per_chunk=8"]  # fmt: skip
    assert main(args) == 0
    assert "train" in capsys.readouterr().out
    assert main([*args, "--set", "algorithm=clasical"]) != 0
    err = capsys.readouterr().err.strip()
    assert "algorithm: unknown 'clasical'" in err and len(err.splitlines()) == 1


def test_status_2_bosons_are_never_truth_constituents(inputs):
    from jetpointnet.data.geometry import CellTable
    from jetpointnet.io.mltree_reader import read_events, read_geometry
    from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events

    path = inputs["wz"][0]
    t = uproot.open(path)["EventTree"]
    st = t["truthPartStatus"].array(library="ak")
    pdg = t["truthPartPdgId"].array(library="ak")
    n = t.num_entries
    events = read_events(path, JET_BRANCHES_REQUIRED, optional=JET_BRANCHES_OPTIONAL,
                         entry_start=0, entry_stop=n)  # fmt: skip
    ev = jet_events(events, CellTable.from_geometry(read_geometry(path)), entry_start=0)
    flat_st, flat_pdg = np.asarray(ak.flatten(st)), np.abs(np.asarray(ak.flatten(pdg)))
    assert (flat_st == 2).sum() == 2 * n  # one W and one Z per event
    stable = (flat_st == 1) & ~np.isin(flat_pdg, (12, 14, 16))
    assert len(ev.truth) == stable.sum()
    assert np.all(ev.truth.mass < 10)  # no 80-91 GeV boson among the constituents


@pytest.mark.slow
def test_ml_run_constituents_predicted_once_then_cached(inputs, simulated, tmp_path):
    from predict_helpers import make_data, make_run

    run = make_run(make_data(simulated("rho", 30, 1), tmp_path / "data"), tmp_path / "run",
                   "task.name=binary")  # fmt: skip
    small = {"wz": inputs["wz"][:1], "qcd": inputs["qcd"][:1]}
    out = tmp_path / "prep"
    res = preprocess_jets(out, config=_config(small, algorithm=f"ml:{run}"), progress=False)
    cache = out / "predictions" / f"{run.name}.parquet"
    assert cache.is_file() and (out / "predictions" / f"{run.name}.json").is_file()
    assert res.metadata["algorithm"] == f"ml:{run}" and res.metadata["counts"]["train"]["jets"]
    stamp = cache.stat().st_mtime_ns
    again = preprocess_jets(out, config=_config(small, algorithm=f"ml:{run}"), progress=False)
    assert again.chunks_run == 0 and cache.stat().st_mtime_ns == stamp  # reused, not redone
    with pytest.raises(UserError, match="is not a run folder"):
        preprocess_jets(out, config=_config(small, algorithm=f"ml:{tmp_path / 'nope'}"),
                        progress=False)  # fmt: skip

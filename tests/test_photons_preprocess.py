"""``preprocess --kind photon``: the contract's folder, labels, cut flow, links back to ROOT,
resume, bad inputs, the CLI, the jet-leading-cluster objects."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot
from photons_handmade import alp_event, write_alp_events
from tiny_runs import npz_chunks

from jetpointnet.errors import UserError
from jetpointnet.photons.build import OBSERVERS
from jetpointnet.photons.cells import CELL_FEATURES
from jetpointnet.photons.config import PhotonPrepConfig
from jetpointnet.photons.layers import IMAGE_LAYERS
from jetpointnet.photons.preprocess import preprocess_photons

L, M, K = 32, 16, 64
CONTRACT = {"X": (np.float32, (L, len(CELL_FEATURES))), "mask": (np.bool_, (L,)),
            "p4": (np.float32, (L, 4)), "image": (np.float32, (12, 15, 15)),
            "node_x": (np.float32, (M, 4)), "node_mask": (np.bool_, (M,)),
            "edges": (np.int32, (K, 2)), "edge_mask": (np.bool_, (K,)),
            "y_cloud": (np.int64, ()), "weight": (np.float32, ()),
            **{k: (np.float32, ()) for k in OBSERVERS if not k.startswith("n_")},
            "n_cells": (np.int32, ()), "n_nodes": (np.int32, ()),
            "file_index": (np.int32, ()), "entry": (np.int64, ()),
            "event_number": (np.int64, ()), "object_index": (np.int32, ())}  # fmt: skip
LXY = [0.0, 30.0, 60.0, 250.0, 500.0, 800.0, 1100.0, 1400.0] * 4


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("alp")
    rng = np.random.default_rng(5)
    ang = lambda: {"eta": float(rng.uniform(-0.8, 0.8)), "phi": float(rng.uniform(-3, 3))}
    disp = [alp_event(lxy, **ang()) for lxy in LXY]
    prompt = [alp_event(0.0, **ang()) for _ in LXY]
    for ev in prompt[::4]:
        ev.extra.append((9.0, 1.0, ev.photons[0].phi + 2.0))  # a candidate without truth
    return {"displaced": [str(write_alp_events(d / "alp.root", disp))],
            "prompt": [str(write_alp_events(d / "prompt.root", prompt, parents=False))]}  # fmt: skip


def _config(inputs, **kw) -> PhotonPrepConfig:
    opts = {"events_per_chunk": 8, "photons_per_file": 12, "length": L,
            "graph": {"max_nodes": M, "max_edges": K}, **kw}  # fmt: skip
    from jetpointnet.config import from_dict

    return from_dict(PhotonPrepConfig, {"inputs": dict(inputs), **opts})


@pytest.fixture(scope="module")
def folder(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("photonprep") / "prep"
    return out, preprocess_photons(out, config=_config(inputs), progress=False)


def test_contract_arrays_and_metadata(folder):
    out, _ = folder
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kind"] == "photon" and meta["classes"] == ["prompt", "displaced"]
    assert meta["features"] == list(CELL_FEATURES) and meta["length"] == L
    assert meta["image_layers"] == list(IMAGE_LAYERS) and meta["image_pixel"] == [0.025, 0.0245]
    assert meta["cloud_arrays"] == ["image", "node_x", "node_mask", "edges", "edge_mask"]
    assert meta["node_features"] == ["d_eta", "d_phi", "e_norm", "layer"]
    assert meta["max_nodes"] == M and meta["max_edges"] == K and meta["object"] == "cluster"
    assert meta["observers"] == list(OBSERVERS) and meta["lxy_threshold_mm"] == 100.0
    assert [s["class"] for s in meta["sources"]] == ["prompt", "displaced"]
    assert all(len(s["sha256"]) == 64 for s in meta["sources"])
    _, chunks = npz_chunks(out)
    assert sum(len(c["y_cloud"]) for c in chunks) == sum(
        v["photons"] for v in meta["counts"].values()
    )
    for c in chunks:
        n = len(c["y_cloud"])
        assert set(c) == set(CONTRACT)
        for k, (dt, shape) in CONTRACT.items():
            assert c[k].dtype == dt and c[k].shape == (n, *shape), k
        assert np.all(c["X"][~c["mask"]] == 0) and np.all(c["node_x"][~c["node_mask"]] == 0)
        e = c["edges"][c["edge_mask"]]
        assert np.all(e[:, 0] != e[:, 1])
        assert np.all(c["weight"] == 1)
    y = np.concatenate([c["y_cloud"] for c in chunks])
    lxy = np.concatenate([c["lxy"] for c in chunks])
    assert np.all(lxy[y == 1] > 100) and np.all(lxy[y == 0] == 0)
    assert np.all(np.isfinite(np.concatenate([c["pointing_z0"] for c in chunks])))


def test_cut_flow_counts_the_dropped(folder):
    flow = json.loads((folder[0] / "metadata.json").read_text())["cutflow"]
    n = len(LXY)
    # prompt: 2 photons per event, + 1 unmatched cluster every 4 events
    assert flow["prompt"] == {"all": 2 * n + n // 4, "eta": 2 * n + n // 4, "matched": 2 * n,
                              "lxy": 2 * n}  # fmt: skip
    d = flow["displaced"]
    below = 2 * sum(x <= 100 for x in LXY)  # both photons of decays below the threshold
    assert d["all"] == 2 * n and d["lxy"] == d["matched"] - below
    assert d["matched"] >= 2 * n - 4  # the most displaced showers point far from r = 1500


def test_each_object_once_and_back_to_its_root_event(folder):
    out, _ = folder
    meta = json.loads((out / "metadata.json").read_text())
    _, chunks = npz_chunks(out)
    keys = [(int(f), int(e), int(o)) for c in chunks
            for f, e, o in zip(c["file_index"], c["entry"], c["object_index"], strict=True)]  # fmt: skip
    assert len(keys) == len(set(keys))
    trees = {}
    for path in meta["inputs"]:
        with uproot.open(path) as f:
            trees[path] = f["EventTree"].arrays(["eventNumber", "cluster_E", "cluster_cell_E"])
    for c in chunks:
        for i in range(len(c["y_cloud"])):
            k = int(c["file_index"][i])
            assert c["y_cloud"][i] == meta["classes"].index(meta["sources"][k]["class"])
            ev = trees[meta["inputs"][k]][int(c["entry"][i])]
            assert ev["eventNumber"] == c["event_number"][i]
            # the object is the (object_index)-th highest cluster above 5 GeV of its event
            ce = np.asarray(ev["cluster_E"])
            rank = np.argsort(-ce, kind="stable")[int(c["object_index"][i])]
            from_cells = float(ak.sum(ev["cluster_cell_E"][rank]))
            assert c["obj_e"][i] == pytest.approx(from_cells, rel=1e-5)
            assert c["obj_e"][i] == pytest.approx(ce[rank], rel=1e-5)
            assert c["p4"][i][c["mask"][i], 3].sum() == pytest.approx(from_cells, rel=1e-5)


def test_resume_then_refuse_another_config_or_a_changed_input(folder, inputs, tmp_path):
    out, _ = folder
    stamp = {f: f.stat().st_mtime_ns for f in npz_chunks(out)[0]}
    again = preprocess_photons(out, config=_config(inputs), progress=False)
    assert (again.chunks_run, again.chunks_skipped) == (0, 8)
    assert {f: f.stat().st_mtime_ns for f in npz_chunks(out)[0]} == stamp  # nothing rewritten
    with pytest.raises(UserError, match="another configuration"):
        preprocess_photons(out, config=_config(inputs, lxy_threshold_mm=50.0), progress=False)
    # a fresh folder from a copy, then the copy changes: refused until --overwrite
    import shutil

    src = tmp_path / "p.root"
    shutil.copy(inputs["prompt"][0], src)
    mine = {"prompt": [str(src)], "displaced": inputs["displaced"]}
    first = preprocess_photons(tmp_path / "o", config=_config(mine), progress=False)
    src.unlink()
    write_alp_events(src, [alp_event(0.0)] * 8)
    with pytest.raises(UserError, match=r"p\.root"):
        preprocess_photons(tmp_path / "o", config=_config(mine), progress=False)
    redo = preprocess_photons(tmp_path / "o", config=_config(mine), progress=False, overwrite=True)
    assert redo.chunks_run == 1 and first.chunks_run == 8


def test_jet_leading_cluster_objects(inputs, tmp_path):
    res = preprocess_photons(tmp_path / "j", config=_config(inputs, object="jet-leading-cluster"),
                             progress=False)  # fmt: skip
    meta = res.metadata
    assert meta["object"] == "jet-leading-cluster"
    assert meta["cutflow"]["prompt"]["matched"] > 0 and meta["cutflow"]["displaced"]["lxy"] > 0
    _, chunks = npz_chunks(tmp_path / "j")
    # an ALP's photons (0.6 apart in phi at the decay) are one or two R = 0.4 jets: an
    # object is one photon's cluster (24 or 16 GeV, 4 nodes) or both (40 GeV, 8 nodes)
    e = np.concatenate([c["obj_e"] for c in chunks])
    nodes = np.concatenate([c["n_nodes"] for c in chunks])
    both = np.isclose(e, 40.0, rtol=1e-4)
    assert np.all(both | np.isclose(e, 24.0, rtol=1e-4) | np.isclose(e, 16.0, rtol=1e-4))
    assert both.any() and np.all(nodes == np.where(both, 8, 4))


def test_bad_inputs_and_keys_are_one_line(inputs, tmp_path, capsys):
    from jetpointnet.cli import main
    from jetpointnet.data.class_folder import parse_class_inputs

    with pytest.raises(UserError, match="unknown class 'prompy'"):
        parse_class_inputs(["prompy=a.root"], ["prompt", "displaced"])
    bad = tmp_path / "broken.root"
    bad.write_bytes(b"not a root file")
    with pytest.raises(UserError, match=r"broken\.root"):
        preprocess_photons(tmp_path / "o", config=_config({"prompt": [str(bad)],
                           "displaced": inputs["displaced"]}), progress=False)  # fmt: skip
    assert not (tmp_path / "o" / "metadata.json").exists()
    args = ["preprocess", "--kind", "photon", "--config", "configs/data/photons.yaml",
            "--input", f"prompt={inputs['prompt'][0]}", "--input",
            f"displaced={inputs['displaced'][0]}", "--out", str(tmp_path / "c"), "--no-progress",
            "--set", "events_per_chunk=16"]  # fmt: skip
    assert main(args) == 0
    assert "displaced" in capsys.readouterr().out
    assert (tmp_path / "c" / "metadata.json").is_file()
    assert main([*args, "--set", "object=jet-leading"]) != 0
    err = capsys.readouterr().err.strip()
    assert "object: unknown 'jet-leading'" in err and len(err.splitlines()) == 1


def test_real_prompt_showers_from_the_gun_preset(simulated, inputs, tmp_path):
    gun = simulated("gun", events=12, seed=3, particle="gamma", energy=50.0, eta_range=(-0.7, 0.7))
    cfg = _config({"prompt": [str(p) for p in gun], "displaced": inputs["displaced"]},
                  length=256, graph={"max_nodes": 48, "max_edges": 512})  # fmt: skip
    res = preprocess_photons(tmp_path / "g", config=cfg, progress=False)
    assert res.metadata["cutflow"]["prompt"]["matched"] == 12  # every gun photon found
    a = {k: np.concatenate([c[k] for c in npz_chunks(tmp_path / "g")[1]]) for k in CONTRACT}
    p = a["y_cloud"] == 0
    assert np.all((a["obj_e"][p] > 0.8 * 50) & (a["obj_e"][p] < 1.1 * 50))  # EM scale
    assert np.all(a["n_cells"][p] > 30)  # written cells (> 5 MeV) and np.all(a["n_nodes"][p] >= 4)
    assert np.all(a["edge_mask"][p].sum(1) > 0)
    img = a["image"][p].sum(axis=(2, 3))
    assert np.all(img.sum(1) > 0.9) and np.all(img[:, 2] > img[:, 0])  # EMB2 holds the most
    assert np.all(np.abs(a["pointing_z0"][p]) < 300)


def test_the_alp_gun_through_the_folder(simulated, tmp_path):
    opts = {"alp_mass": 10.0, "energy": 60.0, "eta_range": (-1.2, 1.2)}
    prompt = simulated("alp", events=10, seed=4, **opts)
    disp = simulated("alp", events=10, seed=5, decay_length=(200.0, 1200.0), **opts)
    cfg = _config({"prompt": [str(p) for p in prompt], "displaced": [str(p) for p in disp]},
                  length=256, graph={"max_nodes": 48, "max_edges": 512})  # fmt: skip
    meta = preprocess_photons(tmp_path / "alp", config=cfg, progress=False).metadata
    flow = meta["cutflow"]
    assert flow["prompt"]["matched"] >= 16 and flow["displaced"]["lxy"] >= 12  # of 20 photons
    assert flow["displaced"]["lxy"] == flow["displaced"]["matched"]  # all decays beyond 100 mm
    a = {k: np.concatenate([c[k] for c in npz_chunks(tmp_path / "alp")[1]]) for k in CONTRACT}
    d = a["y_cloud"] == 1
    assert np.all((a["lxy"][d] > 200 * 0.99) & (a["lxy"][d] < 1200))
    assert np.all(a["lxy"][~d] == 0) and np.all(a["truth_e"] > 0)


def test_a_typo_in_a_config_key_is_one_line(inputs, tmp_path, capsys):
    from jetpointnet.cli import main

    args = ["preprocess", "--kind", "photon", "--input", f"prompt={inputs['prompt'][0]}",
            "--out", str(tmp_path / "o"), "--no-progress", "--set", "lxy_treshold_mm=5"]  # fmt: skip
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert "lxy_threshold_mm" in err and len(err.splitlines()) == 1
    with pytest.raises(UserError, match="jet_radius"):
        preprocess_photons(tmp_path / "o", config=_config(inputs, jet_radius=0.0), progress=False)

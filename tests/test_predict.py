"""``predict`` on MLTree files (predict/run.py, predict/chunks.py, io/prediction_files.py)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from predict_helpers import make_data, make_run

from jetpointnet.cli import main
from jetpointnet.data.schema import PointType
from jetpointnet.errors import UserError
from jetpointnet.io.prediction_files import read_predictions
from jetpointnet.io.prep_folder import load_arrays
from jetpointnet.predict.run import PredictConfig, predict_files
from jetpointnet.training.inference import predict as predict_split


@pytest.fixture(scope="module")
def setup(simulated, tmp_path_factory: pytest.TempPathFactory):
    files = simulated("rho", 30, 1)
    tmp = tmp_path_factory.mktemp("pred")
    data = make_data(files, tmp / "data")
    run = make_run(data, tmp / "run")
    out = tmp / "pred.parquet"
    result = predict_files(run, [str(files[0])], out, config=PredictConfig(), progress=False)
    return {"files": files, "data": data, "run": run, "out": out, "result": result, "tmp": tmp}


def _by_sample(table: dict) -> dict[tuple[int, int], dict]:
    keys = list(zip(table["entry"].tolist(), table["track_index"].tolist(), strict=True))
    groups: dict[tuple[int, int], list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return {k: {c: table[c][idx] for c in table} for k, idx in groups.items()}


def test_output_columns_and_counts(setup) -> None:
    t = read_predictions(setup["out"])
    res = setup["result"]
    assert res.rows == len(t["cell_id"]) > 100
    assert res.samples == len(_by_sample(t)) > 5
    for col in ("event_number", "entry", "track_index", "track_p", "track_eta", "cell_id"):
        assert col in t
    assert t["cell_id"].dtype == np.uint64
    assert np.isfinite(t["pred_focal_energy"]).all()
    # the TSSR bypass: the prediction is a multiple of the cell energy
    assert np.all(np.sign(t["pred_focal_energy"]) * np.sign(t["cell_energy"]) >= 0)


def test_matches_the_preprocessed_pipeline(setup) -> None:
    """In-memory stage 1 + 2 give the same points and predictions as preprocess + predict."""
    t = _by_sample(read_predictions(setup["out"]))
    compared = 0
    for split in ("train", "val", "test"):
        folder = setup["data"] / "arrays" / split
        if not any(folder.glob("*.npz")):
            continue
        p = predict_split(setup["run"], setup["data"], split=split, progress=False)
        types = np.concatenate([load_arrays(f)["point_type"] for f in sorted(folder.glob("*.npz"))])
        energy = np.concatenate([load_arrays(f)["energy"] for f in sorted(folder.glob("*.npz"))])
        for i in range(len(p["entry"])):
            a, b = p["offsets"][i], p["offsets"][i + 1]
            cell = types[a:b] == PointType.CELL
            rows = t[(int(p["entry"][i]), int(p["track_index"][i]))]
            np.testing.assert_array_equal(rows["cell_energy"], energy[a:b][cell])
            np.testing.assert_allclose(
                rows["pred_focal_energy"], p["pred"][a:b][cell], rtol=1e-5, atol=1e-7
            )
            compared += 1
    assert compared == setup["result"].samples


def test_cell_ids_are_those_of_stage_one(setup) -> None:
    t = _by_sample(read_predictions(setup["out"]))
    stage1 = ak.concatenate(
        [ak.from_feather(f) for f in sorted((setup["data"] / "samples").glob("*/*.arrow"))]
    )
    length = 128  # configs/data/demo.yaml max_length
    checked = 0
    for s in stage1:
        key = (int(s["entry"]), int(s["track_index"]))
        if key not in t:
            continue
        ids = np.asarray(s["cells"]["id"], dtype=np.uint64)
        energy = dict(zip(ids.tolist(), np.asarray(s["cells"]["energy"]).tolist(), strict=True))
        rows = t[key]
        assert set(rows["cell_id"].tolist()) <= set(ids.tolist())
        for cid, e in zip(rows["cell_id"].tolist(), rows["cell_energy"].tolist(), strict=True):
            assert e == pytest.approx(energy[cid], rel=1e-6)
        if int(s["n_points"]) <= length:  # not truncated: every cell is there
            assert sorted(rows["cell_id"].tolist()) == sorted(ids.tolist())
            checked += 1
    assert checked > 0


def test_chunking_does_not_change_the_output(setup, tmp_path: Path) -> None:
    out = tmp_path / "small-chunks.parquet"
    cfg = PredictConfig(events_per_chunk=4, batch_size=3)
    predict_files(setup["run"], [str(setup["files"][0])], out, config=cfg, progress=False)
    a, b = read_predictions(setup["out"]), read_predictions(out)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("fmt", ["ttree", "rntuple"])
def test_root_output_and_observers(setup, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "pred.root"
    cfg = PredictConfig(observers=["runNumber"], root_format=fmt)
    predict_files(setup["run"], [str(setup["files"][0])], out, config=cfg, progress=False)
    with uproot.open(out) as f:
        kind = type(f["predictions"]).__name__
        assert ("RNTuple" in kind) == (fmt == "rntuple")
    r, p = read_predictions(out), read_predictions(setup["out"])
    np.testing.assert_array_equal(r["cell_id"], p["cell_id"])
    np.testing.assert_allclose(r["pred_focal_energy"], p["pred_focal_energy"], rtol=1e-6)
    with uproot.open(setup["files"][0]) as f:
        run_numbers = f["EventTree"]["runNumber"].array(library="np")
    np.testing.assert_array_equal(r["runNumber"], run_numbers[r["entry"]])


def test_cli_predict_and_refusals(setup, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.parquet"
    args = ["predict", "--run", str(setup["run"]), "--input", str(setup["files"][0])]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    np.testing.assert_array_equal(
        read_predictions(out)["pred_focal_energy"],
        read_predictions(setup["out"])["pred_focal_energy"],
    )
    before = out.stat().st_mtime_ns
    assert main([*args, "--out", str(out), "--quiet"]) == 2  # exists: refused
    assert out.stat().st_mtime_ns == before
    assert main([*args, "--out", str(tmp_path / "x.csv"), "--quiet"]) == 2
    assert main([*args, "--out", str(tmp_path / "y.parquet"), "--observer", "runNumbr"]) == 2
    err = capsys.readouterr().err
    assert "unknown output format '.csv'" in err
    assert "no branch 'runNumbr'" in err and "runNumber" in err
    assert not (tmp_path / "y.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_file_missing_a_branch_is_one_line(setup, tmp_path: Path) -> None:
    src = setup["files"][0]
    bad = tmp_path / "no_tracks.root"
    with uproot.open(src) as f:
        ev = f["EventTree"].arrays(library="ak")
        geo = f["CellGeo"].arrays(library="ak")
    with uproot.recreate(bad) as f:
        f["EventTree"] = {k: ev[k] for k in ev.fields if k != "trackPt"}
        f["CellGeo"] = {k: geo[k] for k in geo.fields}
    out = tmp_path / "p.parquet"
    with pytest.raises(
        UserError, match=r"no_tracks.root: tree 'EventTree' has no branch 'trackPt'"
    ):
        predict_files(setup["run"], [str(bad)], out, progress=False)
    assert not out.exists()
    with pytest.raises(UserError, match="no file matches"):
        predict_files(setup["run"], [str(tmp_path / "none*.root")], out, progress=False)


def test_unwritable_outputs_and_a_text_checkpoint_are_one_line(setup, tmp_path, capsys) -> None:
    probe = Path("/sys/jetpointnet-probe")
    try:
        probe.mkdir()
    except OSError:
        pass
    else:
        probe.rmdir()
        pytest.skip("/sys is writable here")
    run, data, src = str(setup["run"]), str(setup["data"]), str(setup["files"][0])
    cases = [
        ["predict", "--quiet", "--run", run, "--input", src, "--out", f"{probe}/p.parquet"],
        ["evaluate", "--quiet", "--run", run, "--data", data, "--out", f"{probe}/eval"],
    ]
    try:
        import onnx  # noqa: F401

        cases.append(["export", "--quiet", "--run", run, "--onnx", f"{probe}/m.onnx"])
    except ImportError:
        pass
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == (
            f"jetpointnet {argv[0]}: error: {probe}: operation not permitted; "
            "choose another output or fix the permissions\n"
        )
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint\n")
    argv = ["predict", "--quiet", "--run", run, "--input", src, "--checkpoint", str(text),
            "--out", str(tmp_path / "p.parquet")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{text}: not a readable checkpoint" in err


def test_a_partial_left_by_a_killed_predict_is_removed(setup, tmp_path) -> None:
    stale = tmp_path / f"p.partial-{2**22 + 11}.parquet"  # above any pid: its writer is gone
    stale.write_bytes(b"half a file")
    out = tmp_path / "p.parquet"
    argv = ["predict", "--quiet", "--run", str(setup["run"]), "--input", str(setup["files"][0])]
    assert main([*argv, "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]


def test_the_runs_tree_names_reach_predict(setup, tmp_path: Path) -> None:
    """A run preprocessed from files with other tree names predicts on such files."""
    import json
    import shutil

    from mltree_rename import rename_trees

    run = shutil.copytree(setup["run"], tmp_path / "run")
    meta = json.loads((run / "metadata.json").read_text())
    meta["config"].update(event_tree="Events", geometry_tree="Geo")
    (run / "metadata.json").write_text(json.dumps(meta))
    src = setup["files"][0]
    (tmp_path / "renamed").mkdir()
    renamed = rename_trees(src, tmp_path / "renamed" / src.name,
                           {"EventTree": "Events", "CellGeo": "Geo"})  # fmt: skip
    out = tmp_path / "renamed.parquet"
    res = predict_files(run, [str(renamed)], out, progress=False)
    want = read_predictions(setup["out"])
    got = read_predictions(out)
    assert res.rows == setup["result"].rows > 0
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    with pytest.raises(UserError, match="no tree 'Events' \\(closest: 'EventTree'"):
        predict_files(run, [str(src)], tmp_path / "x.parquet", progress=False)

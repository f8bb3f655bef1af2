"""``predict`` and ONNX export of the models with stage-2 extra inputs (``cnn``, ``gnn``).

A tiny cnn (regression) and gnn (multiclass) run on simulated rho events preprocessed
with ``arrays.extra``; each exported once through the CLI. The exported graph takes the
extra arrays as named inputs and equals torch on real batches of several sizes and on
random inputs of other shapes; ``predict`` gives the same per-cell output with both
backends, and the same as ``training.inference.predict`` on the preprocessed samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import uproot
from predict_helpers import EXTRAS, ROOT, make_data, make_run

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

from jetpointnet.cli import main
from jetpointnet.data.schema import CellClass, PointType
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import GEOMETRY_LINKS
from jetpointnet.io.prediction_files import read_predictions
from jetpointnet.io.prep_folder import load_arrays, split_files
from jetpointnet.predict.export import extra_inputs, onnx_session, run_session
from jetpointnet.predict.run import PredictConfig, predict_files
from jetpointnet.training.dataset import ChunkStream
from jetpointnet.training.inference import load_run
from jetpointnet.training.inference import predict as predict_split

PRESETS = ROOT / "configs" / "train"
#: Tiny versions of the cnn and gnn presets (seconds to train and export on 2 cores).
RUNS = {
    "cnn": (
        "cnn-small.yaml",
        ["model.options.grid=7", "model.options.embed=[8]", "model.options.channels=[8]"],
    ),
    "gnn": (
        "gnn-small.yaml",
        ["task.name=multiclass", "model.options.dim=16", "model.options.depth=2"],
    ),
}
WANT = {"cnn": ("d_eta", "d_phi", "sampling"), "gnn": ("neighbours",)}


@pytest.fixture(scope="module")
def setup(simulated, tmp_path_factory: pytest.TempPathFactory):
    files = simulated("rho", 30, 1)
    tmp = tmp_path_factory.mktemp("pred-extras")
    data = make_data(files, tmp / "data", EXTRAS)
    runs, onnx = {}, {}
    for name, (preset, overrides) in RUNS.items():
        runs[name] = make_run(data, tmp / name, *overrides, preset=PRESETS / preset)
        onnx[name] = tmp / f"{name}.onnx"
        assert main(["export", "--run", str(runs[name]), "--onnx", str(onnx[name]), "--quiet"]) == 0
    return {"files": files, "data": data, "runs": runs, "onnx": onnx}


def _random_extras(b: int, n: int, seed: int) -> dict[str, np.ndarray]:
    """Extras of another shape than any batch: samplings outside every layer group, links
    to padding and beyond the sample (the models must ignore those)."""
    g = np.random.default_rng(seed)
    return {
        "d_eta": (0.15 * g.standard_normal((b, n))).astype(np.float32),
        "d_phi": (0.15 * g.standard_normal((b, n))).astype(np.float32),
        "sampling": g.integers(-1, 24, (b, n)),
        "neighbours": g.integers(-2, 2 * n, (b, n, 7)),
    }


@pytest.mark.parametrize("name", sorted(RUNS))
def test_onnx_takes_the_extra_arrays_and_matches_torch(setup, name: str) -> None:
    model, _, _ = load_run(setup["runs"][name], device="cpu")
    assert extra_inputs(model) == WANT[name]
    session = onnx_session(setup["onnx"][name])
    inputs = ["x", "mask", "energy", *WANT[name]]
    assert [i.name for i in session.get_inputs()] == inputs
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["jetpointnet.inputs"]) == inputs
    assert meta["jetpointnet.model"] == name
    files = split_files(setup["data"], "train") + split_files(setup["data"], "test")
    n_batches, worst, scale = 0, 0.0, 0.0
    for bs in (1, 7):  # batch and point axes both vary
        for batch in ChunkStream(files, batch_size=bs, shuffle=False, extras=WANT[name]):
            extras = {k: batch[k] for k in WANT[name]}
            with torch.no_grad():
                ref = model(batch["x"], batch["mask"], batch["energy"], **extras)["pred"].numpy()
            got = run_session(
                session,
                batch["x"].numpy(),
                batch["mask"].numpy(),
                batch["energy"].numpy(),
                extras={k: v.numpy() for k, v in extras.items()},
            )
            assert got.shape == ref.shape
            worst = max(worst, float(np.abs(got - ref).max()))
            scale = max(scale, float(np.abs(ref).max()))
            n_batches += 1
    assert n_batches > 3 and scale > 0
    assert worst <= 1e-5 * max(1.0, scale), (worst, scale)
    # random inputs of other sizes, reaching the models' "no voxel" / "no link" branches
    g = np.random.default_rng(5)
    n_features = json.loads((setup["runs"][name] / "run.json").read_text())["in_features"]
    for b, n in [(2, 3), (5, 40)]:
        x = g.standard_normal((b, n, n_features)).astype(np.float32)
        mask = np.arange(n)[None, :] < g.integers(1, n + 1, (b, 1))
        energy = g.random((b, n), dtype=np.float32)
        extras = _random_extras(b, n, seed=b)
        got = run_session(session, x, mask, energy, extras=extras)
        with torch.no_grad():
            more = {k: torch.from_numpy(extras[k]) for k in WANT[name]}
            args = (torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(energy))
            ref = model(*args, **more)["pred"].numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def _keyed(table: dict, column: str) -> dict[tuple[int, int, int], np.ndarray]:
    """``column`` per (entry, track_index, cell_id)."""
    keys = zip(
        table["entry"].tolist(),
        table["track_index"].tolist(),
        table["cell_id"].tolist(),
        strict=True,
    )
    return dict(zip(keys, table[column], strict=True))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_predict_backends_agree_and_match_training_inference(
    setup, name: str, tmp_path: Path
) -> None:
    run, src = setup["runs"][name], [str(setup["files"][0])]
    res_t = predict_files(run, src, tmp_path / "t.parquet", config=PredictConfig(), progress=False)
    cfg = PredictConfig(backend="onnx", onnx_file=setup["onnx"][name], batch_size=5)
    res_o = predict_files(run, src, tmp_path / "o.parquet", config=cfg, progress=False)
    assert (res_t.backend, res_o.backend) == ("torch", "onnx")
    t, o = read_predictions(tmp_path / "t.parquet"), read_predictions(tmp_path / "o.parquet")
    assert t.keys() == o.keys()
    assert res_t.rows == len(t["cell_id"]) > 100
    value = "pred_focal_energy" if name == "cnn" else "pred_focal_prob"
    for col in t:
        if col.startswith(("pred_", "score_")):
            np.testing.assert_allclose(t[col], o[col], atol=1e-5, err_msg=col)
        else:
            np.testing.assert_array_equal(t[col], o[col], err_msg=col)
    assert np.isfinite(t[value]).all() and np.ptp(t[value]) > 0
    # the same samples through the preprocessed files and training.inference.predict
    got = _keyed(t, value)
    compared = 0
    for split in ("train", "val", "test"):
        files = split_files(setup["data"], split)
        if not files:
            continue
        p = predict_split(run, setup["data"], split=split, progress=False)
        chunks = [load_arrays(f) for f in files]
        cell_id = np.concatenate([c["cell_id"] for c in chunks])
        is_cell = np.concatenate([c["point_type"] for c in chunks]) == PointType.CELL
        pred = p["pred"] if p["pred"].ndim == 1 else p["pred"][:, int(CellClass.FOCAL)]
        sample = np.repeat(np.arange(len(p["entry"])), np.diff(p["offsets"]))
        for j in np.flatnonzero(is_cell):
            key = (int(p["entry"][sample[j]]), int(p["track_index"][sample[j]]), int(cell_id[j]))
            assert got[key] == pytest.approx(float(pred[j]), rel=1e-5, abs=1e-7), key
            compared += 1
    assert compared == len(t["cell_id"])


def test_refusals_are_one_line(setup, tmp_path: Path) -> None:
    src = setup["files"][0]
    out = tmp_path / "p.parquet"
    # an ONNX file of another run: its extra inputs are not what this run's model reads
    cfg = PredictConfig(backend="onnx", onnx_file=setup["onnx"]["gnn"])
    with pytest.raises(UserError, match=r"gnn\.onnx: takes the extra inputs \['neighbours'\]"):
        predict_files(setup["runs"]["cnn"], [str(src)], out, config=cfg, progress=False)
    assert not out.exists()
    # the gnn needs the CellGeo links; a geometry without them is refused before any work
    bad = tmp_path / "no_links.root"
    with uproot.open(src) as f:
        ev = f["EventTree"].arrays(library="ak")
        geo = f["CellGeo"].arrays(library="ak")
    dropped = GEOMETRY_LINKS[0]
    with uproot.recreate(bad) as f:
        f["EventTree"] = {k: ev[k] for k in ev.fields}
        f["CellGeo"] = {k: geo[k] for k in geo.fields if k != dropped}
    with pytest.raises(
        UserError, match=rf"no_links\.root: tree 'CellGeo' has no branch '{dropped}'"
    ):
        predict_files(setup["runs"]["gnn"], [str(bad)], out, progress=False)
    assert not out.exists()
    # the cnn does not read the links: the same file predicts
    res = predict_files(setup["runs"]["cnn"], [str(bad)], out, progress=False)
    assert res.rows > 100

"""A tagging run end to end on synthetic jet folders: train, predict rows, ONNX, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_jets import write_jet_folder

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.io.prediction_files import read_predictions
from jetpointnet.io.sample_files import read_npz
from jetpointnet.training import TrainConfig, train
from jetpointnet.training.dataset import split_files
from jetpointnet.training.jet_stream import JetStream

ROOT = Path(__file__).parents[1]
TINY = {
    "particlenet": ["model.options.k=4", "model.options.blocks=[[8, 8], [16, 16]]",
                    "model.options.fc=[16]"],
    "part": ["model.options.embed=[16]", "model.options.dim=16", "model.options.heads=2",
             "model.options.depth=1", "model.options.pair_mlp=[8]"],
}  # fmt: skip


def _train(name: str, data: Path, out: Path, overrides: list[str]):
    cfg = load_config(
        TrainConfig,
        ROOT / "configs" / "train" / f"{name}-small.yaml",
        ["train.threads=2", "train.tensorboard=false", "train.device=cpu", *overrides],
    )
    return train(cfg, data_dir=data, out_dir=out, progress=False)


pytestmark = pytest.mark.slow  # trains two runs and exports to ONNX: ~2 min on 2 busy cores


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tagging")
    data = write_jet_folder(tmp / "data", jets={"train": 96, "val": 32, "test": 64}, chunk=32)
    runs = {}
    for name, tiny in TINY.items():
        runs[name] = tmp / name
        _train(name, data, runs[name], ["train.epochs=1", "data.batch_size=32", *tiny])
    return {"tmp": tmp, "data": data, "runs": runs}


def test_run_folder_logs_accuracy_and_class_mix(setup):
    import csv

    with (setup["runs"]["part"] / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    for key in ("accuracy", "frac_pred_signal", "class_frac_min", "class_frac_max"):
        assert rows[0][key] != ""
    assert 0 < float(rows[0]["class_frac_min"]) <= float(rows[0]["class_frac_max"]) < 1


def test_predict_rows_lead_back_to_the_event(setup, tmp_path):
    run, data = setup["runs"]["particlenet"], setup["data"]
    out = tmp_path / "jets.parquet"
    argv = ["predict", "--run", str(run), "--data", str(data), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    rows = read_predictions(out, tree_name="jets")
    raw = [read_npz(f) for f in split_files(data, "test")]
    assert len(rows["prob_wz"]) == 64
    np.testing.assert_allclose(rows["prob_qcd"] + rows["prob_wz"], 1.0, atol=1e-5)
    for key in ("event_number", "entry", "file_index", "object_index", "jet_m", "tau21"):
        np.testing.assert_array_equal(rows[key], np.concatenate([r[key] for r in raw]))
    np.testing.assert_array_equal(rows["label"], np.concatenate([r["y_cloud"] for r in raw]))
    assert main(argv) != 0  # refuses to overwrite
    root = tmp_path / "jets.root"  # weaver's --predict-output out.root
    assert main([*argv[:-3], "--out", str(root), "--quiet"]) == 0
    np.testing.assert_allclose(read_predictions(root, tree_name="jets")["prob_wz"], rows["prob_wz"])
    onnx_out = tmp_path / "onnx.parquet"
    assert main([*argv[:-3], "--out", str(onnx_out), "--backend", "onnx", "--quiet"]) == 0
    onnx_rows = read_predictions(onnx_out, tree_name="jets")
    np.testing.assert_allclose(onnx_rows["prob_wz"], rows["prob_wz"], atol=1e-4)
    bad = ["predict", "--run", str(run), "--input", "x.root", "--out", str(tmp_path / "x.parquet")]
    assert main(bad) != 0  # a tagging run needs --data


@pytest.mark.parametrize("name", ["particlenet", "part"])
def test_onnx_parity(setup, name, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from jetpointnet.predict.export import onnx_session
    from jetpointnet.predict.tagging_export import check_parity

    run = setup["runs"][name]
    path = tmp_path / f"{name}.onnx"
    assert main(["export", "--run", str(run), "--onnx", str(path), "--quiet"]) == 0
    names = [i.name for i in onnx_session(path).get_inputs()]
    assert names == (["x", "mask", "p4"] if name == "part" else ["x", "mask"])
    ds = JetStream(split_files(setup["data"], "test"), batch_size=17, n_classes=2, shuffle=False)
    for batch in list(ds)[:2]:  # two batches of different lengths: dynamic axes
        assert check_parity(run, path, batch) < 1e-4


def test_evaluate_both_taggers_and_the_baselines(setup):
    out = setup["tmp"] / "eval"
    runs = setup["runs"]
    argv = ["evaluate", "--run", str(runs["particlenet"]), "--also", str(runs["part"]),
            "--data", str(setup["data"]), "--out", str(out), "--quiet", "--set", "n_boot=5"]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["summary"]) == {
        "particlenet",
        "part",
        "cut:mass",
        "cut:mass+tau21",
        "cut:mass+d2",
    }
    row = metrics["summary"]["cut:mass+d2"]
    assert row["auc"] > 0.75 and row["rejection_50"] > 2  # the synthetic classes differ in D2
    for name in ("particlenet", "part"):
        cm = np.array(metrics["confusion"][name])
        np.testing.assert_allclose(cm.sum(axis=1), 1.0)
        assert 0 <= metrics["summary"][name]["accuracy"] <= 1
    for fig in ("roc.png", "auc_vs_pt.png", "scores.png", "confusion_part.png", "report.html"):
        assert (out / fig).stat().st_size > 0
    assert "<h2>Tagging</h2>" in (out / "tagging.html").read_text()


@pytest.mark.parametrize("name", ["particlenet", "part"])
def test_tiny_training_learns_the_synthetic_task(name, tmp_path):
    from jetpointnet.evaluation.tagging_metrics import binary_summary
    from jetpointnet.training.tagging_inference import jet_table, load_tagging_run, score_split

    data = write_jet_folder(tmp_path / "data", seed=2, jets={"train": 480, "val": 96, "test": 200})
    res = _train(
        name, data, tmp_path / "run", ["train.epochs=6", "data.batch_size=32", *TINY[name]]
    )
    losses = [r["train_loss"] for r in res.history]
    assert losses[-1] < 0.8 * losses[0]
    run = load_tagging_run(tmp_path / "run")
    probs = score_split(run, data, progress=False)
    y = jet_table(data, "test")["y_cloud"] == 1
    assert binary_summary(y, probs[:, 1], n_boot=0)["auc"] > 0.8

"""Kind "photon": train through the public entry point, evaluate, batch order, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_photons import write_photon_folder

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import split_files
from jetpointnet.training import TrainConfig, train
from jetpointnet.training.jet_stream import JetStream

ROOT = Path(__file__).parents[1]
TINY = {
    "arma-gnn-small": [],
    "alp-cnn-small": ["model.options.filters=[4, 4, 4]", "model.options.dense=[8]"],
}


def _cfg(name: str, overrides: list[str]) -> TrainConfig:
    return load_config(
        TrainConfig,
        ROOT / "configs" / "train" / f"{name}.yaml",
        ["train.threads=2", "train.tensorboard=false", "train.device=cpu", *overrides],
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("photons")
    return write_photon_folder(
        tmp / "data", objects={"train": 192, "val": 64, "test": 64}, chunk=64
    )


@pytest.fixture(scope="module")
def gnn_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "arma"
    result = train(_cfg("arma-gnn-small", ["train.epochs=3", "data.batch_size=32"]),
                   data_dir=data, out_dir=out, progress=False)  # fmt: skip
    return out, result


def test_training_lowers_the_loss(gnn_run):
    _, result = gnn_run
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.005


def test_cnn_trains_and_evaluate_gives_the_metrics(data, gnn_run, tmp_path):
    cnn = tmp_path / "cnn"
    train(_cfg("alp-cnn-small", ["train.epochs=1", "data.batch_size=64", *TINY["alp-cnn-small"]]),
          data_dir=data, out_dir=cnn, progress=False)  # fmt: skip
    out = tmp_path / "eval"
    argv = ["evaluate", "--run", str(gnn_run[0]), "--also", str(cnn), "--data", str(data),
            "--out", str(out), "--quiet", "--set", "n_boot=5"]  # fmt: skip
    assert main(argv) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["kind"] == "photon" and m["signal"] == "displaced" and m["n_test"] == 64
    assert set(m["summary"]) == {"arma", "cnn", "cut:pointing_z0"}
    for row in m["summary"].values():
        assert (
            0.0 <= row["auc"] <= 1.0 and row["rejection_50"] >= 1.0 and row["rejection_80"] >= 1.0
        )
    assert m["summary"]["cut:pointing_z0"]["auc"] > 0.75  # the synthetic showers lean
    point = m["efficiency_vs_lxy"]["arma"]["80"]
    assert point["bins"][0]["lo"] == 0 and point["bins"][-1]["hi"] == 4000
    n_disp = sum(b["n"] for b in point["bins"])
    passed = sum(b["eff"] * b["n"] for b in point["bins"] if b["n"])
    assert n_disp == 32 and passed / n_disp == pytest.approx(0.8, abs=0.05)
    for name in ("roc.png", "efficiency_lxy.png", "scores.png", "report.html"):
        assert (out / name).stat().st_size > 0
    assert "cut:pointing_z0" in (out / "report.html").read_text()
    assert main(argv) != 0  # refuses to overwrite


def test_class_sorted_batches_hold_one_class(data):
    files = split_files(data, "train")
    common = {"batch_size": 16, "n_classes": 2, "seed": 3, "observers": ["lxy"]}
    sorted_ = JetStream(files, batch_order="class_sorted", **common)
    mixed = JetStream(files, **common)
    fracs = sorted_.class_fractions()
    assert set(np.unique(fracs[:, 1])) == {0.0, 1.0}  # every batch a single class
    assert 0 < mixed.epoch_stats()["class_frac_min"] < 1
    assert np.array_equal(np.sort(np.concatenate(sorted_.batches())), np.arange(192))
    batch = next(iter(JetStream(files, cloud_arrays=["node_x", "node_mask"], **common)))
    assert batch["node_x"].shape[1] == batch["node_mask"].shape[1] <= 24
    assert batch["lxy"].shape == (16,) and "image" not in batch


def test_bad_batch_order_is_one_clear_line():
    with pytest.raises(UserError, match=r"batch_order.*'class_sorted'"):
        _cfg("arma-gnn-small", ["data.batch_order=class_sort"])


def test_missing_image_array_is_one_clear_line(tmp_path):
    bad = write_photon_folder(tmp_path / "bad", objects={"train": 8, "val": 8}, chunk=8,
                              drop=("image",))  # fmt: skip
    with pytest.raises(UserError, match=r"photons_00000.npz: missing array 'image'") as err:
        train(_cfg("alp-cnn-small", ["train.epochs=1"]), data_dir=bad, out_dir=tmp_path / "r",
              progress=False)  # fmt: skip
    assert "\n" not in str(err.value)
    meta = json.loads((bad / "metadata.json").read_text())
    meta["cloud_arrays"] = ["image"]
    (bad / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="reads the per-object array 'node_x'"):
        train(_cfg("arma-gnn-small", ["train.epochs=1"]), data_dir=bad, out_dir=tmp_path / "g",
              progress=False)  # fmt: skip


def test_predict_rows_lead_back_to_the_event(data, gnn_run, tmp_path):
    from jetpointnet.io.prediction_files import read_predictions
    from jetpointnet.io.sample_files import read_npz

    out = tmp_path / "photons.parquet"
    argv = ["predict", "--run", str(gnn_run[0]), "--data", str(data), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    rows = read_predictions(out, tree_name="photons")
    raw = [read_npz(f) for f in split_files(data, "test")]
    np.testing.assert_allclose(rows["prob_prompt"] + rows["prob_displaced"], 1.0, atol=1e-5)
    for key in ("event_number", "entry", "object_index", "lxy", "pointing_z0"):
        np.testing.assert_array_equal(rows[key], np.concatenate([r[key] for r in raw]))
    onnx = ["predict", "--run", str(gnn_run[0]), "--data", str(data), "--quiet",
            "--out", str(tmp_path / "o.parquet"), "--backend", "onnx"]  # fmt: skip
    assert main(onnx) != 0


def test_batch_order_of_a_kind_without_it_is_one_clear_line(tmp_path):
    from jetpointnet.training.kinds import KINDS, check_batch_order

    check_batch_order(KINDS["photon"], "class_sorted")
    with pytest.raises(UserError, match=r"batch_order 'class_sorted' is not offered .* 'track'"):
        check_batch_order(KINDS["track"], "class_sorted")


def test_check_photon_folder_reads_what_training_reads(data, tmp_path):
    from jetpointnet.io.sample_files import read_npz, write_npz
    from jetpointnet.training.photon_kind import check_photon_folder

    check_photon_folder(data, splits=("train", "val", "test"))
    bad = write_photon_folder(tmp_path / "bad", objects={"train": 8}, chunk=8)
    path = split_files(bad, "train")[0]
    arrays = read_npz(path)
    arrays["edges"] = arrays["edges"][..., :1]  # (n, E, 1): not node pairs
    write_npz(path, arrays, overwrite=True)
    with pytest.raises(UserError, match=r"edges \(96, 1\) break the photon format"):
        check_photon_folder(bad)
    no_lxy = write_photon_folder(tmp_path / "nolxy", objects={"train": 8}, chunk=8, drop=("lxy",))
    with pytest.raises(UserError, match="missing array 'lxy'"):
        check_photon_folder(no_lxy)


def test_pointing_score_ranks_barrel_objects_without_a_line_as_not_pointing() -> None:
    from jetpointnet.evaluation.photons import NO_POINTING_BARREL, pointing_score

    z0 = np.array([-30.0, 400.0, np.nan, np.nan])
    eta = np.array([0.1, -0.5, 0.8, 2.0])  # the last in the end-cap: no pointing measured
    got = pointing_score(z0, eta)
    np.testing.assert_array_equal(got, [30.0, 400.0, NO_POINTING_BARREL, -1.0])

"""The training loop, run folders, resume after kill -9, inference (training/, cli/train.py)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_arrays import write_dataset
from tiny_runs import TINY_POINTNET

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.errors import UserError
from jetpointnet.evaluation.inputs import load_labels
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.inference import load_run, predict
from jetpointnet.training.logging import LOG_COLUMNS, read_log
from jetpointnet.training.loop import TrainingDiverged, train

TINY = [*TINY_POINTNET, "model.options.dropout=0.1"]


def _cfg(*extra: str) -> TrainConfig:
    return load_config(TrainConfig, None, [*TINY, *extra])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("d") / "data", samples_per_file=48, seed=2)


@pytest.fixture(scope="module")
def binary_run(data: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("runs") / "binary"
    cfg = _cfg("task.name=binary", "train.epochs=8", "train.lr=5e-3", "train.tensorboard=true")
    return train(cfg, data_dir=data, out_dir=out, progress=False)


def test_training_learns_the_synthetic_rule(binary_run, data: Path) -> None:
    hist = binary_run.history
    assert len(hist) == 8
    assert hist[-1]["train_loss"] < 0.75 * hist[0]["train_loss"]
    assert min(h["val_loss"] for h in hist) < 0.75 * hist[0]["val_loss"]
    # better than always predicting the majority class on the test split
    p = predict(binary_run.run_dir, data, progress=False)
    labels, lab_mask = [], []
    for f in sorted((data / "arrays" / "test").glob("*.npz")):
        with np.load(f) as z:
            labels.append(z["y_binary"])
            lab_mask.append(z["label_mask"])
    y, m = np.concatenate(labels), np.concatenate(lab_mask)
    acc = ((p["pred"][m] > 0.5) == (y[m] == 1)).mean()
    majority = max((y[m] == 1).mean(), (y[m] == 0).mean())
    assert acc > majority + 0.05


def test_run_folder_contents(binary_run, data: Path) -> None:
    run = binary_run.run_dir
    for name in ("config.yaml", "metadata.json", "run.json", "last.pt", "best.pt", "log.csv"):
        assert (run / name).is_file(), name
    assert any((run / "tb").iterdir())
    cfg = load_config(TrainConfig, run / "config.yaml")
    assert cfg.task.name == "binary" and cfg.model.options["seg_mlp"] == [32, 16]
    assert cfg.model.options["input_transform"] is True  # resolved defaults are stored
    info = json.loads((run / "run.json").read_text())
    assert info["torch_version"] == torch.__version__ and info["seed"] == 0
    assert info["device"] == "cpu" and info["in_features"] == 6
    assert json.loads((run / "metadata.json").read_text()) == json.loads(
        (data / "metadata.json").read_text()
    )
    rows = read_log(run / "log.csv")
    assert list(rows[0]) == list(LOG_COLUMNS)
    assert all(0 <= r["frac_pred_focal"] <= 1 and r["samples_per_s"] > 0 for r in rows)
    assert rows[0]["lr"] > rows[-1]["lr"]  # cosine schedule
    assert rows[0]["bn_momentum"] == 0.5
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["epoch"] == 8 and "rng" in ckpt and ckpt["optimizer"] is not None
    best = load_checkpoint(run / "best.pt")
    assert best["epoch"] == binary_run.best_epoch


def test_predict_output_order_and_layout_independence(binary_run, data: Path, tmp_path) -> None:
    padded = write_dataset(tmp_path / "padded", layout="padded", samples_per_file=48, seed=2)
    a = predict(binary_run.run_dir, data, split="val", progress=False)
    b = predict(binary_run.run_dir, padded, split="val", progress=False)
    np.testing.assert_array_equal(a["offsets"], b["offsets"])
    np.testing.assert_allclose(a["pred"], b["pred"], rtol=1e-5, atol=1e-6)
    assert a["offsets"][-1] == len(a["pred"]) and len(a["offsets"]) == 49
    np.testing.assert_array_equal(np.diff(a["offsets"]), a["n_points"])
    assert ((a["pred"] >= 0) & (a["pred"] <= 1)).all()
    # a batch of one sample gives the same predictions (no leakage between samples)
    model, _, _ = load_run(binary_run.run_dir, device="cpu")
    with np.load(data / "arrays" / "val" / "chunk_0000.npz") as z:
        lo, hi = z["offsets"][5], z["offsets"][6]
        x = torch.from_numpy(z["X"][lo:hi])[None]
        e = torch.from_numpy(z["energy"][lo:hi])[None]
    with torch.no_grad():
        out = torch.sigmoid(model(x, torch.ones(1, hi - lo, dtype=torch.bool), e)["pred"])
    np.testing.assert_allclose(out[0].numpy(), a["pred"][lo:hi], rtol=1e-5, atol=1e-6)
    # predict returns the labels it read: those evaluation would read, in both layouts
    for got, folder in ((a, data), (b, padded)):
        labels = load_labels(folder, split="val")
        assert set(labels) <= set(got) and "pred" not in labels
        for key, value in labels.items():
            np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_multiclass_and_regression_predictions(data: Path, tmp_path: Path) -> None:
    for task, shape in (("multiclass", (2, 4)), ("regression", (2,))):
        out = tmp_path / task
        cfg = _cfg(f"task.name={task}", "train.epochs=1", "train.samples_per_epoch=32")
        train(cfg, data_dir=data, out_dir=out, progress=False)
        p = predict(out, data, split="val", checkpoint="last", progress=False)
        assert p["pred"][:2].shape == shape
        if task == "multiclass":
            np.testing.assert_allclose(p["pred"].sum(1), 1.0, rtol=1e-5)


def test_nan_loss_stops_with_one_line(tmp_path: Path, capsys) -> None:
    root = write_dataset(tmp_path / "nan", files={"train": 1, "val": 1}, samples_per_file=8)
    path = root / "arrays" / "train" / "chunk_0000.npz"
    with np.load(path) as z:
        arrays = dict(z)
    arrays["X"][:, 0] = np.nan
    np.savez(path, **arrays)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 1: the loss is nan"):
        train(_cfg("train.epochs=1"), data_dir=root, out_dir=tmp_path / "r1", progress=False)
    argv = ["train", "--data", str(root), "--out", str(tmp_path / "r2"), "--quiet"]
    assert main([*argv, *[a for s in TINY for a in ("--set", s)]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "loss is nan" in err[0]


def test_config_and_run_folder_errors(data: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(UserError, match=r"unknown key 'train.lrr'.*closest: 'train.lr'"):
        _cfg("train.lrr=1e-3")
    with pytest.raises(UserError, match=r"'data.batch_size' must be >= 1"):
        train(_cfg("data.batch_size=0"), data_dir=data, out_dir=tmp_path / "r", progress=False)
    with pytest.raises(UserError, match=r"unknown feature 'energyy'.*closest: 'energy'"):
        train(_cfg("data.features=[x,energyy]"), data_dir=data, out_dir=tmp_path, progress=False)
    base = ["train", "--data", str(data), "--out", str(tmp_path / "none"), "--quiet"]
    assert main([*base, "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err
    assert main([*base, "--set", "model.name=pointnett"]) == 2
    assert "closest: 'pointnet'" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert "metadata.json: not found" in capsys.readouterr().err


def _cli(data: Path, out: Path, *extra: str) -> list[str]:
    sets = [a for s in [*TINY, "train.epochs=8", "data.num_workers=0"] for a in ("--set", s)]
    return [sys.executable, "-m", "jetpointnet.cli", "train", "--data", str(data),
            "--out", str(out), "--quiet", *sets, *extra]  # fmt: skip


def test_resume_after_kill_gives_the_same_result(data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run(_cli(data, full), check=True, env=env, timeout=120)
    proc = subprocess.Popen(_cli(data, killed), env=env)
    deadline = time.monotonic() + 120
    while len(read_log(killed / "log.csv")) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = int(load_checkpoint(killed / "last.pt")["epoch"])
    assert 1 <= done < 8
    assert main(_cli(data, killed, "--resume")[3:]) == 0
    a, b = read_log(full / "log.csv"), read_log(killed / "log.csv")
    assert [r["epoch"] for r in b] == list(range(1, 9))
    with (killed / "log.csv").open() as f:  # written as integers, also the rewritten rows
        assert [r["epoch"] for r in csv.DictReader(f)] == [str(i) for i in range(1, 9)]
    assert not (killed / ".jetpointnet.lock").exists()  # the killed run's lock taken over
    for key in ("train_loss", "val_loss", "lr", "frac_pred_focal"):
        assert [r[key] for r in a] == [r[key] for r in b], key
    wa, wb = (
        load_checkpoint(full / "last.pt")["model"],
        load_checkpoint(killed / "last.pt")["model"],
    )
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    info = json.loads((killed / "run.json").read_text())
    assert len(info["resumed"]) == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_training_and_prediction(data: Path, tmp_path: Path) -> None:
    cfg = _cfg("train.device=cuda", "train.amp=true", "train.epochs=2")
    result = train(cfg, data_dir=data, out_dir=tmp_path / "gpu", progress=False)
    assert all(np.isfinite(r["train_loss"]) for r in result.history)
    assert json.loads((tmp_path / "gpu" / "run.json").read_text())["device"].startswith("cuda")
    p = predict(tmp_path / "gpu", data, split="val", device="cuda", progress=False)
    assert np.isfinite(p["pred"]).all()

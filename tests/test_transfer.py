"""Transfer learning: --init-from, --freeze, --replay (training/transfer.py, replay.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from predict_helpers import make_data, make_run, train_config

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.io.prep_folder import split_files
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import ChunkStream
from jetpointnet.training.loop import train
from jetpointnet.training.replay import ReplayStream

VAL = "data.val_split=train"  # the tiny target sample may have no validation events


@pytest.fixture(scope="module")
def setup(simulated, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("transfer")
    source = make_data(simulated("rho", 30, 1), tmp / "source")
    target = make_data(simulated("rho", 30, 2), tmp / "target")
    base = make_run(source, tmp / "base")
    return {"source": source, "target": target, "base": base, "tmp": tmp}


def _state(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "last.pt")["model"]


def test_init_from_and_freeze(setup) -> None:
    out = setup["tmp"] / "frozen"
    cfg = train_config(VAL, "train.epochs=2", "train.lr=1e-2")
    cfg.transfer.init_from = str(setup["base"])
    cfg.transfer.init_checkpoint = "last"
    cfg.transfer.freeze = [r"^body\."]
    train(cfg, data_dir=setup["target"], out_dir=out, progress=False)
    before, after = _state(setup["base"]), _state(out)
    body = [k for k in after if k.startswith("body.")]
    head = [k for k in after if k.startswith("head.")]
    assert body and head
    for k in body:  # parameters and batch-norm statistics of the frozen body: unchanged
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0, msg=k)
    assert any(not torch.equal(after[k], before[k]) for k in head)
    saved = load_config(TrainConfig, out / "config.yaml")
    assert saved.transfer.freeze == [r"^body\."]


def test_init_from_without_freeze_starts_from_the_weights(setup) -> None:
    """One step at a tiny learning rate: every tensor is near the source run's, none equal."""
    out = setup["tmp"] / "fine"
    cfg = train_config(VAL, "train.lr=1e-7", "train.bn_momentum=0.0", "train.samples_per_epoch=8")
    cfg.transfer.init_from = str(setup["base"])
    cfg.transfer.init_checkpoint = "last"
    train(cfg, data_dir=setup["target"], out_dir=out, progress=False)
    before, after = _state(setup["base"]), _state(out)
    fresh = _state(make_run(setup["target"], setup["tmp"] / "fresh", VAL, "train.seed=5"))
    weights = [k for k in after if k.endswith("weight") and after[k].dim() == 2]
    for k in weights:
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=1e-5, msg=k)
    assert any(not torch.allclose(fresh[k], before[k], atol=1e-3) for k in weights)
    assert any(not torch.equal(after[k], before[k]) for k in weights)


def test_replay_mixes_the_scheduled_fraction(setup) -> None:
    kw = {"batch_size": 4, "shuffle": True, "equal_shares": True}
    target = ChunkStream(split_files(setup["target"], "train"), seed=0, **kw)
    source = ChunkStream(split_files(setup["source"], "train"), seed=1, max_samples=0, **kw)
    schedule = [0.5, 0.2, 0.0]
    mix = ReplayStream(target, source, schedule=schedule, seed=0)
    n_target, n_source_total = target.total, source.total
    assert n_source_total >= n_target  # the 50 % epoch is not capped
    source_ids = set(range(n_source_total))
    for epoch, f in enumerate([*schedule, 0.0]):
        mix.set_epoch(epoch)
        counts = {True: 0, False: 0}
        ids_from_source = []
        batches = list(mix)
        assert len(batches) == len(mix)
        for b in batches:
            flag = bool(b["replay"][0])
            assert bool((b["replay"] == flag).all())
            counts[flag] += len(b["x"])
            if flag:
                ids_from_source += b["sample_id"].tolist()
        assert counts[False] == n_target
        assert counts[True] == round(f / (1 - f) * n_target)
        assert set(ids_from_source) <= source_ids
        assert len(set(ids_from_source)) == len(ids_from_source)
        share = counts[True] / (counts[True] + counts[False])
        assert share == pytest.approx(f, abs=0.5 / n_target + 1e-9)


def test_cli_transfer_and_mistakes(setup, capsys) -> None:
    tmp, base = setup["tmp"], str(setup["base"])
    args = [
        "train",
        "--data",
        str(setup["target"]),
        "--config",
        str(Path(__file__).parents[1] / "configs/train/small.yaml"),
    ]
    args += ["--set", "train.epochs=1", "--set", "train.device=cpu", "--set", "train.tensorboard=false", "--set", VAL, "--quiet"]  # fmt: skip
    out = tmp / "cli-replay"
    rc = main([*args, "--out", str(out), "--init-from", base, "--freeze", r"^body\.input_tnet",
               "--replay", str(setup["source"]), "--replay-schedule", "0.3", "0.1"])  # fmt: skip
    assert rc == 0
    saved = load_config(TrainConfig, out / "config.yaml")
    assert saved.transfer.replay_schedule == [0.3, 0.1]
    assert saved.transfer.init_from == base
    assert main([*args, "--out", str(tmp / "x1"), "--init-from", base, "--freeze", "^bdy"]) == 2
    assert main([*args, "--out", str(tmp / "x2"), "--replay", str(setup["source"]),
                 "--replay-schedule", "1.0"]) == 2  # fmt: skip
    assert main([*args, "--out", str(tmp / "x3"), "--init-from", str(tmp)]) == 2
    err = capsys.readouterr().err
    assert "--freeze '^bdy': matches no parameter" in err
    assert "replay fraction 1.0 is not in [0, 1)" in err
    assert "not a run folder" in err
    assert not (tmp / "x1" / "last.pt").exists()
    assert np.isfinite(load_checkpoint(out / "last.pt")["extra"]["state"]["best_val_loss"])

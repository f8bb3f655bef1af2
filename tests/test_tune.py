"""``tune``: Optuna + Hyperband study, resumed from SQLite (tuning/, cli/tune.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from predict_helpers import ROOT, make_data

pytest.importorskip("optuna")

import optuna

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.errors import UserError
from jetpointnet.training.config import TrainConfig
from jetpointnet.tuning.space import load_space

SPACE = """
base: {base}
set: [train.device=cpu, train.threads=1, train.tensorboard=false, data.val_split=train]
min_epochs: 1
max_epochs: 2
reduction_factor: 2
params:
  train.lr: {{float: [1.0e-3, 1.0e-2], log: true}}
  model.options.dropout: {{float: [0.0, 0.3]}}
  model.options.seg_mlp: {{choice: [[32, 16], [64, 32, 16]]}}
  task.energy_weight: {{choice: [none, E]}}
"""


@pytest.fixture(scope="module")
def data(simulated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data(simulated("rho", 30, 1), tmp_path_factory.mktemp("tune") / "data")


def _space(tmp: Path) -> Path:
    path = tmp / "space.yaml"
    path.write_text(SPACE.format(base=ROOT / "configs" / "train" / "small.yaml"))
    return path


def test_study_resumes_and_writes_a_trainable_best_config(data: Path, tmp_path: Path) -> None:
    space, db = _space(tmp_path), f"sqlite:///{tmp_path / 'study.db'}"
    args = ["tune", "--data", str(data), "--space", str(space), "--study-db", db, "--quiet"]
    args += ["--out", str(tmp_path / "trials")]
    assert main([*args, "--trials", "2"]) == 0
    study = optuna.load_study(study_name="jetpointnet", storage=db)
    assert len(study.trials) == 2
    assert main([*args, "--trials", "2"]) == 0  # a new process would do the same
    study = optuna.load_study(study_name="jetpointnet", storage=db)
    trials = study.trials
    assert len(trials) == 4
    assert len({str(t.params) for t in trials}) == 4  # the resumed half is not a replay
    finished = [t for t in trials if t.state.is_finished()]
    assert len(finished) == 4
    states = {t.state for t in trials}
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    best = min((t for t in trials if t.value is not None), key=lambda t: t.value)
    cfg = load_config(TrainConfig, tmp_path / "trials" / "best.yaml")
    assert cfg.train.lr == pytest.approx(best.params["train.lr"])
    assert cfg.model.options["seg_mlp"] == json.loads(best.params["model.options.seg_mlp"])
    assert cfg.train.epochs == 2
    rc = main(["train", "--data", str(data), "--out", str(tmp_path / "again"), "--config",
               str(tmp_path / "trials" / "best.yaml"), "--set", "train.epochs=1", "--quiet"])  # fmt: skip
    assert rc == 0


def test_bad_space_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("params:\n  train.lr: {flot: [1, 2]}\n")
    with pytest.raises(UserError, match=r"params.train.lr: unknown key 'flot'.*float"):
        load_space(bad)
    bad.write_text("params:\n  train.lrr: {float: [0.001, 0.01]}\n")
    with pytest.raises(UserError, match=r"unknown key 'train\.lrr'"):
        load_space(bad)
    bad.write_text("parms: {}\n")
    with pytest.raises(UserError, match=r"unknown key 'parms'.*params"):
        load_space(bad)

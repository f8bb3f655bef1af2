"""Typed configs (config.py: pydantic over stdlib dataclasses) and the run-folder reader
(training/run_folder.py): one line per mistake, before any work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from synthetic_arrays import write_dataset
from tiny_runs import TINY_POINTNET

from jetpointnet.cli import main
from jetpointnet.config import (
    ConfigValueError,
    apply_overrides,
    from_dict,
    load_config,
    save_config,
    to_dict,
)
from jetpointnet.errors import UserError
from jetpointnet.evaluation.evaluate import EvaluateConfig
from jetpointnet.jets.ceilings import CEILINGS
from jetpointnet.jets.run import ALGORITHMS, JetsConfig
from jetpointnet.predict.run import PredictConfig
from jetpointnet.training.config import ModelConfig, TrainConfig
from jetpointnet.training.loop import check_config, train
from jetpointnet.training.run_folder import RunFolder, read_run

TINY = [*TINY_POINTNET, "train.epochs=1"]


def _one_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def _raises(cls, raw, **kw) -> str:
    with pytest.raises(UserError) as info:
        from_dict(cls, raw, **kw)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_unknown_key_names_the_file_and_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lrr: 0.01\n")
    with pytest.raises(UserError) as info:
        load_config(TrainConfig, path)
    assert str(info.value) == (
        f"{path}: unknown key 'train.lrr' (closest: 'train.lr', 'train.min_lr', 'train.amp')"
    )
    assert _raises(TrainConfig, {"modle": {}}) == "config: unknown key 'modle' (closest: 'model')"
    text = _raises(TrainConfig, {"model": {"options": {"seg_mpl": [8]}}}, where="f.yaml")
    assert text.startswith("f.yaml: unknown key 'model.options.seg_mpl' (closest: ")
    assert "'model.options.seg_mlp'" in text


def test_wrong_types_name_the_key_and_the_value() -> None:
    cases = [
        ({"train": {"epochs": 3.5}}, "'train.epochs' must be an integer, got 3.5"),
        ({"train": {"amp": 3}}, "'train.amp' must be true or false, got 3"),
        ({"train": {"lr": "fast"}}, "'train.lr' must be a number, got 'fast'"),
        ({"data": {"features": "energy"}}, "'data.features' must be a list, got 'energy'"),
        ({"task": {"class_weights": [1, "x"]}}, "'task.class_weights[1]' must be a number"),
        ({"train": 3}, "'train' must be a mapping, got 3"),
        ({"train": {"optimizer": "adan"}}, "'train.optimizer' must be one of 'adam', 'adamw',"),
        # what pydantic's lax mode would coerce is refused, as the hand-written engine did
        ({"train": {"amp": 1}}, "'train.amp' must be true or false, got 1"),
        ({"train": {"amp": "yes"}}, "'train.amp' must be true or false, got 'yes'"),
        ({"train": {"epochs": "3"}}, "'train.epochs' must be an integer, got '3'"),
        ({"train": {"threads": True}}, "'train.threads' must be an integer, got True"),
        ({"train": {"lr": False}}, "'train.lr' must be a number, got False"),
        ({"model": {"options": {"input_transform": 0}}}, "'model.options.input_transform' must"),
    ]
    for raw, want in cases:
        assert want in _raises(TrainConfig, raw), raw
    # values that convert cleanly still do, as before
    cfg = from_dict(TrainConfig, {"train": {"epochs": 3.0, "lr": "1e-3"}, "data": {"val_split": 7}})
    assert cfg.train.epochs == 3 and cfg.train.lr == 1e-3 and cfg.data.val_split == "7"
    assert isinstance(cfg.train.epochs, int)


def test_post_init_checks_name_the_dotted_key(tmp_path: Path) -> None:
    assert _raises(TrainConfig, {"data": {"batch_size": 0}}) == (
        "config: 'data.batch_size' must be >= 1"
    )
    assert "'train.early_stopping' must be >= 1 or null" in _raises(
        TrainConfig, {"train": {"early_stopping": -2}}
    )
    text = _raises(TrainConfig, {"transfer": {"replay_data": "x", "replay_schedule": [0.5, 1]}})
    assert text == "config: 'transfer.replay_schedule': replay fraction 1.0 is not in [0, 1)"
    # built in Python: the same check, the key relative to its dataclass
    with pytest.raises(ConfigValueError, match=r"^'model.name' must be one of|^'name' must be"):
        ModelConfig(name="pointnett")
    # a config changed after it was built is checked again by the training loop
    cfg = load_config(TrainConfig, None, TINY)
    cfg.data.batch_size = 0
    with pytest.raises(UserError, match=r"^run: 'data.batch_size' must be >= 1$"):
        check_config(cfg, where="run")


@pytest.mark.parametrize(
    ("cls", "raw", "want"),
    [
        (EvaluateConfig, {"baselines": ["dumb", "smart_randm"]}, "'baselines[1]' must be one of"),
        (EvaluateConfig, {"displays": ["best", "wrost"]}, "'displays[1]' must be one of"),
        (JetsConfig, {"algorithms": ["calo", "clasical"]}, "'algorithms[1]' must be one of"),
        (JetsConfig, {"chs": "of"}, "'chs' must be one of 'auto', 'on', 'off', got 'of'"),
        (PredictConfig, {"backend": "onx"}, "'backend' must be one of 'torch', 'onnx', got 'onx'"),
    ],
)
def test_closed_choices_fail_with_the_closest(cls, raw, want) -> None:
    text = _raises(cls, raw, where="x.yaml")
    assert text.startswith("x.yaml: ") and want in text and "(closest: " in text
    # the same choice made in Python (a CLI's flags) is held to the same list
    with pytest.raises(ConfigValueError, match=r"must be one of .*\(closest: "):
        cls(**raw)


def test_literals_match_the_runtime_lists() -> None:
    assert ("calo", "classical", "ml", *CEILINGS) == ALGORITHMS
    assert JetsConfig().algorithms == list(ALGORITHMS)
    assert EvaluateConfig().baselines == ["dumb", "random", "smart_random"]


def test_choice_typos_fail_before_any_work(tmp_path: Path, capsys) -> None:
    # none of these inputs exist: the config is what fails, first, in one line
    run, data = str(tmp_path / "no-run"), str(tmp_path / "no-data")
    err = _one_line(capsys, ["evaluate", "--run", run, "--data", data,
                             "--set", "baselines=[dumb,smart_randm]"])  # fmt: skip
    assert "'baselines[1]' must be one of" in err and "(closest: 'smart_random'" in err
    err = _one_line(capsys, ["evaluate", "--run", run, "--data", data,
                             "--set", "displays=[typicl]"])  # fmt: skip
    assert "'displays[0]' must be one of" in err and "(closest: 'typical'" in err


def test_set_overrides() -> None:
    raw = {"train": {"lr": 0.1, "epochs": 2}}
    out = apply_overrides(raw, ["train.lr=0.001", "model.options.seg_mlp=[8, 4]", "task.name="])
    assert raw == {"train": {"lr": 0.1, "epochs": 2}}  # the input is not changed
    assert out["train"] == {"lr": 1e-3, "epochs": 2}
    assert out["model"] == {"options": {"seg_mlp": [8, 4]}} and out["task"] == {"name": ""}
    with pytest.raises(UserError, match=r"expected KEY=VALUE"):
        apply_overrides({}, ["train.lr"])
    with pytest.raises(UserError, match=r"empty key"):
        apply_overrides({}, ["=3"])
    cfg = load_config(TrainConfig, None, ["train.lr=3e-4", "train.grad_clip=null"])
    assert cfg.train.lr == 3e-4 and cfg.train.grad_clip is None
    with pytest.raises(UserError, match=r"^defaults: 'task.name' must be one of"):
        load_config(TrainConfig, None, ["task.name=regresion"])


def test_model_options_resolve_without_touching_the_input() -> None:
    options = {"seg_mlp": [8, 4]}
    cfg = ModelConfig(name="pointnet", options=options)
    assert options == {"seg_mlp": [8, 4]}
    assert cfg.options["seg_mlp"] == [8, 4] and cfg.options["input_transform"] is True
    assert ModelConfig(name="pointnet", options=cfg.options).options == cfg.options


@dataclass
class _Inner:
    mode: Literal["a", "b"] = "a"
    n: int = 1

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ConfigValueError("n", "must be >= 0")


@dataclass
class _Outer:
    inner: _Inner = field(default_factory=_Inner)
    items: list[_Inner] = field(default_factory=list)
    path: Path | None = None
    pair: tuple[int, float] = (1, 2.0)


def test_nested_dataclasses_and_to_dict_round_trip(tmp_path: Path) -> None:
    cfg = from_dict(_Outer, {"inner": {"mode": "b"}, "items": [{"n": 2}], "path": "a/b"})
    assert cfg == _Outer(_Inner("b"), [_Inner("a", 2)], Path("a/b"))
    assert from_dict(_Outer, to_dict(cfg)) == cfg
    assert _raises(_Outer, {"items": [{}, {"n": -1}]}) == "config: 'items[1].n' must be >= 0"
    assert (
        _raises(_Outer, {"inner": {"nn": 1}})
        == "config: unknown key 'inner.nn' (closest: 'inner.n', 'inner.mode')"
    )
    assert _raises(_Outer, {"pair": [1]}) == "config: 'pair' must be a list of 2 values, got [1]"
    assert from_dict(_Outer, {"pair": [3, 4]}).pair == (3, 4.0)
    path = tmp_path / "c.yaml"
    full = load_config(TrainConfig, None, TINY)
    save_config(full, path)
    assert load_config(TrainConfig, path) == full


def test_read_run_round_trips_a_tiny_training_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", samples_per_file=16, seed=3)
    cfg = load_config(TrainConfig, None, TINY)
    before = to_dict(cfg)
    result = train(cfg, data_dir=data, out_dir=tmp_path / "run", progress=False)
    assert to_dict(cfg) == before  # training does not write back into the config
    run = read_run(result.run_dir)
    assert isinstance(run, RunFolder) and read_run(run) is run
    assert run.config == cfg
    assert run.metadata == json.loads((data / "metadata.json").read_text())
    assert run.info.in_features == len(run.metadata["features"])
    assert run.info.parameters > 0 and run.info.seed == 0 and run.info.resumed == []
    assert run.info.data_dir == str(data.resolve())
    assert run.checkpoint("last") == run.path / "last.pt"
    (run.path / "run.json").unlink()
    with pytest.raises(UserError, match=r"run: not a run folder \(no run.json\) for --init-from"):
        read_run(run.path, purpose="for --init-from")


def test_every_train_config_loads() -> None:
    """Each preset under configs/train/ is a valid TrainConfig (typos fail here, not in a run)."""
    from jetpointnet.config import load_config
    from jetpointnet.training.config import TrainConfig

    folder = Path(__file__).resolve().parents[1] / "configs" / "train"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) > 10
    for f in files:
        load_config(TrainConfig, f, [])
    dijet = load_config(TrainConfig, folder / "small-dijet.yaml", [])
    assert dijet.task.name == "multiclass" and dijet.model.name == "pointnet"

"""An event-level run end to end: train, predict -> particles.parquet, jets event:RUN, ONNX."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from jetpointnet.cli import main
from jetpointnet.data.event_preprocess import EventPreprocessConfig, preprocess_events
from jetpointnet.data.event_samples import RegionConfig
from jetpointnet.errors import UserError
from jetpointnet.io.particles import PARTICLE_CLASSES, read_particles
from jetpointnet.io.prep_folder import split_files
from jetpointnet.io.sample_files import read_json, read_npz, write_json
from jetpointnet.predict.event import (
    EventPredictConfig,
    load_event_run,
    predict_event_files,
    predict_event_folder,
)
from jetpointnet.training import TrainConfig, train
from jetpointnet.training.event_kind import MODEL_INPUTS
from jetpointnet.training.event_stream import EventStream

TINY = {"dim": 16, "heads": 2, "enc_depth": 1, "dec_depth": 1, "n_neutral": 8, "embed": [16],
        "pair_mlp": [8], "head_mlp": [16]}  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory, simulated):
    """6 rho events (the event-target tests' files), one sample per event, a 2-epoch run."""
    files = simulated("rho", events=6, seed=3)
    root = tmp_path_factory.mktemp("evrun")
    cfg = EventPreprocessConfig(
        events_per_chunk=6, max_neutral=8, region=RegionConfig(mode="event")
    )
    preprocess_events([str(f) for f in files], root / "data", config=cfg, progress=False)
    tcfg = TrainConfig()
    tcfg.model.name, tcfg.model.options = "event_pflow", dict(TINY)
    tcfg.task.name = "event"
    tcfg.data.batch_size, tcfg.data.val_split = 2, "train"
    tc = tcfg.train
    tc.epochs, tc.threads, tc.tensorboard, tc.device, tc.lr = 2, 1, False, "cpu", 3e-3
    before = torch.get_num_threads()
    result = train(tcfg, data_dir=root / "data", out_dir=root / "run", progress=False)
    torch.set_num_threads(before)
    return files, root, result


def test_train_writes_an_event_run(setup):
    _, root, result = setup
    assert result.epochs_done == 2 and all(np.isfinite(r["val_loss"]) for r in result.history)
    _model, cfg, meta = load_event_run(root / "run")
    assert cfg.task.name == "event" and meta["kind"] == "event"
    assert cfg.model.options["n_neutral"] == 8 and "ffn_ratio" in cfg.model.options


def test_predict_writes_particles_in_the_contract_schema(setup, tmp_path):
    files, root, _ = setup
    out = tmp_path / "particles.parquet"
    cfg = EventPredictConfig(incidence=True, min_existence=0.0)
    res = predict_event_files(root / "run", [str(f) for f in files], out, config=cfg,
                              progress=False)  # fmt: skip
    table = read_particles(out)
    assert res.events == 6 and res.particles == len(table["entry"]) > 0
    assert set(table["class"]) <= set(PARTICLE_CLASSES)
    charged = table["track_index"] >= 0
    assert np.all(table["m"][~charged] == 0) and np.all(
        (table["existence"] >= 0) & (table["existence"] <= 1)
    )
    # every real track of every sample is one charged row, with the track's pT
    n_tracks = sum(int(read_npz(f)["track_mask"].sum()) for s in ("train", "val", "test")
                   for f in (root / "data" / "arrays" / s).glob("*.npz"))  # fmt: skip
    assert charged.sum() == n_tracks
    p = table["pt"][charged] * np.cosh(table["eta"][charged])
    assert np.allclose(table["E"][charged] ** 2, p**2 + table["m"][charged] ** 2, rtol=1e-4)
    # the incidence of every real cell sums to 1 (up to the rows below 0.001)
    import pyarrow.parquet as pq

    inc = pq.read_table(res.incidence).to_pandas()
    sums = inc.groupby(["entry", "region_index", "cell_id"])["fraction"].sum()
    assert ((sums > 0.95) & (sums < 1.0001)).all()
    # the same on the preprocessed folder's samples, through the CLI as well
    rc = main(["predict", "--run", str(root / "run"), "--input", *map(str, files),
               "--out", str(tmp_path / "cli.parquet"), "--min-existence", "0", "--quiet"])  # fmt: skip
    assert rc == 0 and len(read_particles(tmp_path / "cli.parquet")["entry"]) == res.particles
    folder = predict_event_folder(root / "run", root / "data", tmp_path / "f.parquet",
                                  split="train", progress=False)  # fmt: skip
    n_train = sum(len(read_npz(f)["entry"]) for f in split_files(root / "data", "train"))
    rows = read_particles(folder.out)
    assert folder.samples == n_train and set(rows["entry"]) <= set(table["entry"])


def test_evaluate_an_event_run_writes_particle_and_cell_metrics(setup, tmp_path, capsys):
    _, root, _ = setup
    out = tmp_path / "eval"
    assert main(["evaluate", "--run", str(root / "run"), "--data", str(root / "data"),
                 "--split", "train", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    metrics = read_json(out / "particles_metrics.json")
    assert 0.0 <= metrics["cell_accuracy"] <= 1.0
    assert metrics["scores"]["cell_energy_correct"] == metrics["cell_accuracy"]
    assert set(metrics["efficiency"]) == set(PARTICLE_CLASSES)
    page = (out / "report.html").read_text()
    assert "Event-level particle flow" in page and "cell_energy_correct" in page
    assert (out / "particles.parquet").is_file()
    assert "cell energy to the right particle" in capsys.readouterr().out


def test_jets_from_the_predicted_particles(setup, tmp_path):
    files, root, _ = setup
    spec = f"event:{root / 'run'}"
    rc = main(["jets", "--input", *map(str, files), "--out", str(tmp_path / "jets"),
               "--algorithm", spec, "--min-pt", "5", "--quiet"])  # fmt: skip
    assert rc == 0
    summary = read_json(tmp_path / "jets" / "summary.json")
    assert summary["algorithms"] == ["event:run"] and summary["response"]["event:run"]
    assert (tmp_path / "jets" / "predictions" / "event-run.particles.parquet").is_file()


def test_bad_inputs_are_one_clear_line(setup, tmp_path, capsys):
    files, root, _ = setup
    from synthetic_arrays import write_dataset

    track_data = write_dataset(tmp_path / "track", files={"train": 1, "val": 1, "test": 1})
    with pytest.raises(UserError, match="kind 'track', not 'event'"):
        predict_event_folder(root / "run", track_data, tmp_path / "x.parquet", progress=False)
    bad = TrainConfig()
    bad.model.name, bad.model.options = "event_pflow", {"n_neutral": 2}
    bad.task.name = "event"
    with pytest.raises(UserError, match="n_neutral is 2, fewer neutral slots than the data's"):
        train(bad, data_dir=root / "data", out_dir=tmp_path / "r1", progress=False)
    bad.model.options, bad.task.name = {}, "regression"
    with pytest.raises(UserError, match="learned by task 'event', not 'regression'"):
        train(bad, data_dir=root / "data", out_dir=tmp_path / "r2", progress=False)
    wrong = tmp_path / "wrong-run"
    shutil.copytree(root / "run", wrong)
    meta = read_json(wrong / "metadata.json")
    write_json(wrong / "metadata.json", {**meta, "kind": "jet"})
    with pytest.raises(UserError, match="kind 'jet', not 'event'"):
        load_event_run(wrong)
    rc = main(["jets", "--input", str(files[0]), "--out", str(tmp_path / "j"),
               "--algorithm", f"event:{wrong}", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "not an event-level run" in err[0]
    assert not (tmp_path / "j" / "summary.json").exists()
    rc = main(["predict", "--run", str(root / "run"), "--input", str(files[0]),
               "--out", str(tmp_path / "p.root"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "FILE.parquet" in err[0]
    assert not (tmp_path / "p.root").exists()


@pytest.mark.slow
def test_onnx_export_matches_torch(setup, tmp_path):
    files, root, _ = setup
    from jetpointnet.predict.event_export import event_session, run_event_session

    path = tmp_path / "event.onnx"
    assert main(["export", "--run", str(root / "run"), "--onnx", str(path), "--quiet"]) == 0
    session = event_session(path)
    model, _, _ = load_event_run(root / "run")
    stream = EventStream(split_files(root / "data", "train"), batch_size=3, shuffle=False)
    for batch in stream:
        with torch.no_grad():
            ref = model(*(batch[k] for k in MODEL_INPUTS))
        got = run_event_session(session, batch)
        for name, value in ref.items():
            assert np.allclose(got[name], value.numpy(), atol=2e-4, rtol=1e-4), name
    a = predict_event_files(root / "run", [str(files[0])], tmp_path / "t.parquet", progress=False)
    b = predict_event_files(root / "run", [str(files[0])], tmp_path / "o.parquet", progress=False,
                            config=EventPredictConfig(backend="onnx", onnx_file=path))  # fmt: skip
    ta, tb = read_particles(a.out), read_particles(b.out)
    assert list(ta["class"]) == list(tb["class"])
    assert np.allclose(ta["E"], tb["E"], rtol=1e-4)


@pytest.mark.slow
def test_loss_falls_on_200_jz2_events(simulated, tmp_path):
    """The issue's check: the CPU config's loss falls on 200 simulated JZ2 dijet events."""
    files = simulated("dijet-jz2", events=200, seed=5)
    cfg = EventPreprocessConfig(max_cells=256, max_tracks=24, max_neutral=32)
    preprocess_events([str(f) for f in files], tmp_path / "data", config=cfg, progress=False)
    from jetpointnet.config import load_config

    root = Path(__file__).resolve().parents[1]
    tcfg = load_config(TrainConfig, root / "configs" / "train" / "event-small.yaml",
                       # 2 epochs: train loss 13.4 -> 8.3, val 10.9 -> 7.0 (4 epochs: 5.8,
                       # 5.7, at twice the time), measured 2026-12-04
                       ["train.epochs=2", "train.samples_per_epoch=320", "train.val_samples=160",
                        "train.tensorboard=false", "train.device=cpu"])  # fmt: skip
    result = train(tcfg, data_dir=tmp_path / "data", out_dir=tmp_path / "run", progress=False)
    first, last = result.history[0], result.history[-1]
    assert last["train_loss"] < 0.8 * first["train_loss"]
    assert last["val_loss"] < first["val_loss"]

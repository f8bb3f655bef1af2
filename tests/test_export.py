"""ONNX export and the ONNX Runtime backend (predict/export.py, predict/backends.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from predict_helpers import make_data, make_run

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

from jetpointnet.cli import main
from jetpointnet.io.prediction_files import read_predictions
from jetpointnet.io.prep_folder import split_files
from jetpointnet.predict.export import export_onnx, onnx_session, run_session
from jetpointnet.predict.run import PredictConfig, predict_files
from jetpointnet.training.dataset import ChunkStream
from jetpointnet.training.inference import load_run


@pytest.fixture(scope="module")
def setup(simulated, tmp_path_factory: pytest.TempPathFactory):
    files = simulated("rho", 30, 1)
    tmp = tmp_path_factory.mktemp("export")
    data = make_data(files, tmp / "data")
    runs = {
        "regression": make_run(data, tmp / "reg"),
        "multiclass": make_run(data, tmp / "mc", "task.name=multiclass", "train.epochs=2"),
    }
    onnx = {}
    for task, run in runs.items():  # exported once, through the CLI
        onnx[task] = tmp / f"{task}.onnx"
        assert main(["export", "--run", str(run), "--onnx", str(onnx[task]), "--quiet"]) == 0
    return {"files": files, "data": data, "runs": runs, "onnx": onnx, "tmp": tmp}


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_onnx_parity_on_real_samples(setup, task: str) -> None:
    run = setup["runs"][task]
    session = onnx_session(setup["onnx"][task])
    model, _, _ = load_run(run, device="cpu")
    files = split_files(setup["data"], "train") + split_files(setup["data"], "test")
    n_batches, worst, scale = 0, 0.0, 0.0
    for bs in (1, 7):  # batch and point axes both vary
        for batch in ChunkStream(files, batch_size=bs, shuffle=False):
            with torch.no_grad():
                ref = model(batch["x"], batch["mask"], batch["energy"])["pred"].numpy()
            got = run_session(
                session, batch["x"].numpy(), batch["mask"].numpy(), batch["energy"].numpy()
            )
            assert got.shape == ref.shape
            worst = max(worst, float(np.abs(got - ref).max()))
            scale = max(scale, float(np.abs(ref).max()))
            n_batches += 1
    assert n_batches > 3
    assert scale > 0
    assert worst <= 1e-5 * max(1.0, scale), (worst, scale)


def test_predict_with_onnx_backend_matches_torch(setup, tmp_path: Path) -> None:
    run = setup["runs"]["multiclass"]
    src = [str(setup["files"][0])]
    predict_files(run, src, tmp_path / "t.parquet", config=PredictConfig(), progress=False)
    cfg = PredictConfig(backend="onnx", onnx_file=setup["onnx"]["multiclass"])
    res = predict_files(run, src, tmp_path / "o.parquet", config=cfg, progress=False)
    assert res.backend == "onnx"
    a, b = read_predictions(tmp_path / "t.parquet"), read_predictions(tmp_path / "o.parquet")
    for col in ("pred_focal_prob", "score_focal", "score_neutral", "score_noise"):
        np.testing.assert_allclose(a[col], b[col], atol=1e-5, err_msg=col)
    total = sum(b[c] for c in b if c.startswith("score_"))
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_cli_export_refuses_overwrite_and_bad_run(setup, tmp_path: Path, capsys) -> None:
    out = setup["onnx"]["regression"]
    run = str(setup["runs"]["regression"])
    size = out.stat().st_size
    assert main(["export", "--run", run, "--onnx", str(out), "--quiet"]) == 2
    assert out.stat().st_size == size
    assert main(["export", "--run", str(tmp_path), "--onnx", str(tmp_path / "b.onnx")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert not (tmp_path / "b.onnx").exists()
    with pytest.raises(FileExistsError):
        export_onnx(run, out)

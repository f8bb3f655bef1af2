"""evaluate -> metrics.json + plots + report.html on a synthetic split; compare; pflow CLI;
the report rendered in headless Chromium (skipped where /usr/bin/chromium is absent)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from eval_helpers import make_dataset

from jetpointnet.cli import main
from jetpointnet.errors import UserError
from jetpointnet.evaluation.compare import compare
from jetpointnet.evaluation.evaluate import EvaluateConfig, evaluate_predictions
from jetpointnet.evaluation.inputs import load_labels

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    data = make_dataset(root / "data", n_events=25, seed=4)
    lab = load_labels(data)
    cell = lab["point_type"] == 0
    rng = np.random.default_rng(0)
    pred = np.where(cell, lab["y_energy"] * rng.uniform(0.8, 1.1, cell.size), 0.0)
    cfg = EvaluateConfig(pdf=False, displays=["worst"])
    metrics = evaluate_predictions(
        {"net": ("regression", pred.astype(np.float32))},
        data,
        out_dir=root / "eval",
        cfg=cfg,
        progress=False,
        training_log={
            "epoch": np.arange(1, 4.0),
            "train_loss": np.array([3.0, 2.0, 1.0]),
            "val_loss": np.array([3.5, 2.5, 1.5]),
            "lr": np.array([1e-3, 5e-4, 1e-4]),
        },
    )
    return root, data, metrics


def test_metrics_json_complete_and_finite(evaluated):
    root, _, metrics = evaluated
    on_disk = json.loads((root / "eval" / "metrics.json").read_text())
    assert set(on_disk["models"]) == {"net", "classical pflow", "dumb", "random", "smart_random"}
    assert on_disk["summary"]["net"]["beats_smart_random"] is True
    assert on_disk["pflow"]["unaligned_cell_points"] == 0
    text = (root / "eval" / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    for name in (
        "track_performance",
        "confusion",
        "roc",
        "pred_vs_true",
        "training_curves",
        "cell_metrics_table",
    ):
        assert (root / "eval" / "plots" / f"{name}.png").stat().st_size > 1000
    assert (root / "eval" / "displays" / "worst.html").is_file()
    assert metrics["models"]["net"]["cell"]["f1"] > metrics["models"]["smart_random"]["cell"]["f1"]


def test_report_has_tables_and_images(evaluated):
    root, _, _ = evaluated
    page = (root / "eval" / "report.html").read_text()
    for cls in ("cell-metrics", "track-metrics", "summary"):
        assert f'class="{cls}"' in page
    assert page.count("data:image/png;base64,") >= 7
    assert "Simplified against eflowRec" in page and "smart_random" in page


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no /usr/bin/chromium")
def test_report_renders_in_chromium(evaluated, tmp_path):
    root, _, _ = evaluated
    js = (
        "document.title = [document.querySelectorAll('table').length,"
        "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length].join(',')"
    )
    page = (
        (root / "eval" / "report.html")
        .read_text()
        .replace("</body>", f"<script>{js}</script></body>")
    )
    probe = tmp_path / "probe.html"
    probe.write_text(page)
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        probe.as_uri(),
    ]
    dom = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"<title>(\d+),(\d+)</title>", dom)
    assert m, dom[:500]
    n_tables, n_images = int(m.group(1)), int(m.group(2))
    assert n_tables >= 3 and n_images >= 7  # summary, cell and track tables


def test_compare_tables(evaluated, tmp_path):
    root, _, _ = evaluated
    md, text = compare([root / "eval"], out=tmp_path / "cmp")
    assert md.splitlines()[0].startswith("| model | kind | accuracy")
    assert "| net | network |" in md and "classical pflow" in md
    assert (tmp_path / "cmp.csv").read_text() == text
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(text))}
    assert int(rows["classical pflow"]["left to calorimeter"]) >= 0
    assert rows["net"]["left to calorimeter"] == ""
    assert int(rows["classical pflow"]["tracks scored"]) <= int(rows["net"]["tracks scored"])
    with pytest.raises(UserError, match=r"no metrics\.json"):
        compare([tmp_path])


def test_refuses_overwrite_and_bad_predictions(evaluated):
    root, data, _ = evaluated
    with pytest.raises(UserError, match="exists"):
        evaluate_predictions({}, data, out_dir=root / "eval", progress=False)
    with pytest.raises(UserError, match="predictions for"):
        evaluate_predictions(
            {"x": ("regression", np.zeros(3))}, data, out_dir=root / "e2", progress=False
        )


def test_cli_pflow_and_one_line_errors(evaluated, tmp_path, capsys):
    _, data, _ = evaluated
    assert main(["pflow", "--data", str(data), "--out", str(tmp_path / "pf"), "--quiet"]) == 0
    assert (tmp_path / "pf" / "report.html").is_file()
    assert main(["pflow", "--data", str(data), "--split", "tset", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "closest: 'test'" in err[0]


def test_classical_left_tracks_are_rows_not_zeros(evaluated):
    root, _, metrics = evaluated
    cls = metrics["models"]["classical pflow"]["track"]
    left = cls["left_to_calorimeter"]
    assert set(left) == {"not_selected", "no_match", "vetoed"}
    n_left = sum(r["n_tracks"] for r in left.values())
    n_all = metrics["models"]["net"]["track"]["inclusive"]["n_tracks"]
    assert cls["inclusive"]["n_tracks"] + n_left == n_all
    assert "left_to_calorimeter" not in metrics["models"]["net"]["track"]
    page = (root / "eval" / "report.html").read_text()
    assert 'class="left-to-calorimeter"' in page and "subtracted tracks" in page


def test_left_out_tracks_leave_the_headline():
    from jetpointnet.evaluation.scoring import Answer, score_answer

    # three one-cell tracks with 2 GeV true each; the third predicted 0 (left out)
    labels = {
        "point_type": np.zeros(3, dtype=np.int8),
        "label_mask": np.ones(3, dtype=bool),
        "y_binary": np.ones(3, dtype=np.int8),
        "energy": np.full(3, 2.0),
        "offsets": np.arange(4),
        "truth_focal_total": np.full(3, 2.0),
    }
    ans = Answer(focal=np.array([True, True, False]), energy=np.array([2.0, 2.2, 0.0]))
    m, x = score_answer(ans, labels, left_out={"vetoed": np.array([False, False, True])})
    assert m["track"]["inclusive"]["n_tracks"] == 2
    assert m["track"]["inclusive"]["response"] == pytest.approx(1.05)
    assert m["track"]["left_to_calorimeter"]["vetoed"] == {
        "n_tracks": 1,
        "n_true_above_min": 1,
        "true_deposit_gev": 2.0,
        "true_fraction": pytest.approx(1 / 3),
    }
    assert x["pred_total"].tolist() == [2.0, 2.2]
    m, _ = score_answer(ans, labels)  # without left_out the zero counts
    assert m["track"]["inclusive"]["n_tracks"] == 3


def test_cli_pflow_max_pt(evaluated, tmp_path, capsys):
    _, data, _ = evaluated
    out = tmp_path / "pf40"
    assert main(["pflow", "--data", str(data), "--out", str(out), "--max-pt", "40", "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["pflow"]["max_pt"] == 40.0
    assert "left to the calorimeter" in capsys.readouterr().out
    assert main(["pflow", "--data", str(data), "--max-pt", "0.2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-pt" in err[0]

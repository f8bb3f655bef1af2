"""The prepared GPU check (benchmarks/gpu_check.sh) end to end on CPU at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "check"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--cpu-dry-run", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    steps = dict(line.split(" ", 1) for line in (out / "steps.txt").read_text().splitlines())
    want = ["env", "gpu_tests", "pointnet5m", "zoo", "loader", "make_data", "train_bf16",
            "train_ddp"]  # fmt: skip
    assert list(steps) == want
    for name, status in steps.items():
        rc = status.split()[0]
        # the gpu tests skip on CPU: pytest exits 0 (skipped) or 5 (all deselected)
        assert rc in (("rc=0", "rc=5") if name == "gpu_tests" else ("rc=0",)), (name, status)
    records = [json.loads(line) for line in (out / "figures.jsonl").read_text().splitlines()]
    models = {(r["preset"], r["L"], r["amp"], r["batch"]) for r in records if r["what"] == "model"}
    # the dry run: the 5.1 M model at both lengths and batches in bf16, the zoo at the
    # first length with bf16 on and off (the GPU run: every combination)
    for n in (16, 24):
        assert {("jetpointnet-5m", n, True, 2), ("jetpointnet-5m", n, True, 4)} <= models
    for amp in (True, False):
        assert ("gnn-small", 16, amp, 2) in models
    assert all(r["train"] > 0 and r["infer"] > 0 for r in records if r["what"] == "model")
    kinds = {(r["kind"], r["workers"]) for r in records if r["what"] == "loader"}
    assert {(k, w) for k in ("track", "jet", "event") for w in (0, 1)} <= kinds
    for run in ("run-bf16", "run-ddp"):
        log = (out / run / "log.csv").read_text().splitlines()
        assert len(log) == 2 and "samples_per_s" in log[0], run


def test_bench_train_parts_on_cpu(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_train
    import torch

    cpu = torch.device("cpu")
    r = bench_train.measure("gnn-small", 8, 2, 1, cpu, amp=True)  # reads the extras
    assert r["train"] > 0 and r["infer"] > 0 and r["params"] > 0
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic_arrays import write_dataset

    data = write_dataset(tmp_path / "d", files={"train": 2, "val": 1}, samples_per_file=40)
    rate = bench_train.loader_rate("track", data, workers=0, device=cpu, epochs=1)
    assert rate["samples_per_s"] > 0 and 8 <= rate["padded_points_per_sample"] <= 42

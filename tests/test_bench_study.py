"""benchmarks/_study.py: fixed nested subsets of the training events, resumable steps, tables."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(Path(__file__).parent))
import _study
from predict_helpers import make_data

from jetpointnet.io.prep_folder import read_metadata, split_files


def _events(folder: Path) -> dict[int, int]:
    """event key -> number of training samples of the event."""
    keys = np.concatenate([_study._event_keys(f) for f in split_files(folder, "train")])
    u, n = np.unique(keys, return_counts=True)
    return dict(zip(u.tolist(), n.tolist(), strict=True))


def test_subsets_are_fixed_nested_and_whole_events(simulated, tmp_path: Path) -> None:
    full = make_data(simulated("rho", events=50, seed=1), tmp_path / "full")
    small, big = tmp_path / "f030", tmp_path / "f060"
    info = _study.subset_step(str(full), str(small), 0.3, seed=3)
    _study.subset_step(str(full), str(big), 0.6, seed=3)
    all_ev, ev_s, ev_b = _events(full), _events(small), _events(big)
    assert len(ev_s) == info["events"] == round(0.3 * len(all_ev))
    assert set(ev_s) <= set(ev_b) <= set(all_ev)  # nested
    assert all(ev_s[k] == all_ev[k] for k in ev_s)  # every sample of a kept event
    for f in split_files(small, "train"):
        z = np.load(f)
        assert z["offsets"][-1] == len(z["X"]) == z["n_points"].sum()
        assert len(z["track_pt"]) == len(z["n_points"]) == len(z["offsets"]) - 1
    meta = read_metadata(small)
    assert meta["counts"]["train"]["samples"] == sum(ev_s.values())
    assert meta["subset"]["fraction"] == 0.3
    assert split_files(small, "test") == [small / "arrays" / "test" / f.name
                                          for f in split_files(full, "test")]  # fmt: skip
    again = tmp_path / "again"
    _study.subset_step(str(full), str(again), 0.3, seed=3)
    for a, b in zip(split_files(small, "train"), split_files(again, "train"), strict=True):
        assert a.read_bytes() == b.read_bytes()  # deterministic


def square(x: int) -> dict:
    return {"y": x * x, "summary": f"{x} squared"}


def test_steps_run_once_in_order_and_refuse_other_arguments(tmp_path: Path, capsys) -> None:
    steps = [_study.Step("a", square, {"x": 3}), _study.Step("b/c", square, {"x": 4}, ("a",))]
    res = _study.run_steps(steps, tmp_path, jobs=1)
    assert res["b/c"]["y"] == 16 and (tmp_path / "steps" / "b" / "c.json").is_file()
    assert "4 squared" in capsys.readouterr().out
    again = _study.run_steps(steps, tmp_path, jobs=1)
    assert again["a"]["y"] == 9
    assert "2 of 2 steps done before" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="other arguments"):
        _study.run_steps([_study.Step("a", square, {"x": 5})], tmp_path, jobs=1)
    assert json.loads((tmp_path / "steps" / "a.json").read_text())["kwargs"] == {"x": 3}


def test_tables() -> None:
    assert _study.pm([1.0, 3.0]) == "2.000 ± 1.414"
    assert _study.pm([1.0, None], 2) == "1.000 (n=1)"
    assert _study.pm([None]) == "n/a"
    d, spread, big = _study.exceeds([1.0, 1.2], [0.0, 0.2])
    assert d == pytest.approx(1.0) and spread == pytest.approx(0.2) and big
    assert not _study.exceeds([0.1, 0.3], [0.0, 0.2])[2]
    assert math.isnan(_study.exceeds([1.0], [0.0, 0.2])[1])
    assert _study.tag(0.1) == "f010" and _study.tag(1.0) == "f100"

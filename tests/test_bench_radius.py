"""benchmarks/bench_radius.py: its resumable step runner and its table cells (no training)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_radius as br


def test_cells_and_radii() -> None:
    assert br.fmt([1.0, 2.0, 3.0]) == "2.000 ± 1.000"  # sample std over seeds (ddof 1)
    assert br.fmt([0.5, None, float("nan")]) == "0.500"
    assert br.fmt([]) == "–"
    assert br.parse_radii(["0.2", "adaptive95", "0.2"]) == ["0.2", "adaptive95"]
    for bad in ("0", "adaptive", "adaptive100", "wide"):
        with pytest.raises(SystemExit):
            br.parse_radii([bad])
    assert br.radius_sets("0.3", Path("p.json"))[-1] == "radius.fixed=0.3"
    summary = {"response": {"classical": [{"bin": "40-60", "e": {"q68": 0.1, "n": 7}}]}}
    jets = br.jet_q68(summary, "classical")
    assert jets["40-60"]["q68"] == 0.1 and jets["20-40"]["q68"] is None


def test_runner_records_skips_and_refuses(tmp_path: Path, capsys) -> None:
    runner = br.Runner(tmp_path)
    step = br.Step("kind/a", ["--version"])
    assert runner.run(step)
    record = json.loads((tmp_path / "done" / "kind" / "a.json").read_text())
    assert record["cmd"] == ["--version"] and record["peak_rss_mib"] > 0
    assert runner.run(step) and "done before, skipped" in capsys.readouterr().out
    # a finished step with another command: refused, unless it may be redone
    assert not runner.run(br.Step("kind/a", ["--help"])) and runner.failed == ["kind/a"]
    assert runner.run(br.Step("kind/a", ["--help"], redo=True))
    # a step whose prerequisite finished after it is stale
    later = br.Step("kind/b", ["--version"], needs=["kind/a"])
    assert runner.run(later)
    marker = tmp_path / "done" / "kind" / "a.json"
    os.utime(marker, (marker.stat().st_atime, marker.stat().st_mtime + 10))
    assert not runner.done(later)
    # a missing output makes it not done; a failing command is reported, not raised
    assert not runner.done(br.Step("kind/b", ["--version"], output=tmp_path / "none"))
    assert not runner.run(br.Step("bad", ["no-such-command"]))
    assert "FAILED bad" in capsys.readouterr().out and (tmp_path / "logs" / "bad.log").is_file()

"""The demo chain end to end on few events: simulate -> preprocess -> train -> evaluate."""

from __future__ import annotations

import json
import os

import pytest

from jetpointnet.workflows.demo import DemoConfig, _finished, run_demo


@pytest.mark.slow
def test_quick_demo_runs_the_whole_chain(tmp_path):
    index = run_demo(DemoConfig(out=tmp_path, quick=True), progress=False)
    page = index.read_text()
    assert 'class="cells"' in page and "pointnet-rho" in page and "classical pflow" in page
    assert page.count("data:image/png;base64,") == 2  # jet resolution, cell scores
    assert "too few jets" in page  # 10 dijet events: no bin reaches 20 matched jets
    assert 'href="eval/rho/displays/worst.html"' in page
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"rho", "dijet", "jets", "event", "min_jets"}
    assert summary["min_jets"] == 20
    assert 0.0 <= summary["event"]["cell_energy_correct"] <= 1.0
    # every algorithm of the jets stage is on the page, its names read from the jets summary
    algos = set(json.loads((tmp_path / "jets" / "summary.json").read_text())["response"])
    assert {"calo", "classical", "ml:pointnet-rho", "oracle", "oracle-calibrated",
            "event:event-jz2", "target"} <= algos  # fmt: skip
    assert {row[0] for row in summary["jets"]} == algos
    assert all(f"<td>{a}</td>" in page for a in algos)
    assert (tmp_path / "jets" / "report.html").is_file()
    names = [row[0] for row in summary["rho"]]
    assert {"pointnet-rho", "classical pflow", "smart_random"} <= set(names)
    for split in ("rho", "dijet"):
        assert (tmp_path / "eval" / split / "report.html").is_file()
        assert (tmp_path / "eval" / split / "metrics.json").is_file()
        # the plots also as PDF for slides; the displays as PNG and interactive HTML only
        assert list((tmp_path / "eval" / split / "plots").glob("*.pdf"))
        shown = {p.suffix for p in (tmp_path / "eval" / split / "displays").iterdir()}
        assert shown == {".png", ".html"}, shown
    assert (tmp_path / "eval" / "event" / "report.html").is_file()
    assert 'href="eval/event/report.html"' in page
    assert (tmp_path / "simulation" / "report.html").is_file()
    assert (tmp_path / "runs" / "pointnet-rho" / "best.pt").is_file()
    # re-running resumes: nothing is simulated, preprocessed or evaluated again (the runs'
    # checkpoints did not change), and the index is rewritten alike from the stages' records
    done = [next((tmp_path / "data" / "rho").glob("*.root")), tmp_path / "eval" / "rho" / "report.html",
            tmp_path / "eval" / "event" / "report.html", tmp_path / "jets" / "summary.json"]  # fmt: skip
    stamps = [p.stat().st_mtime_ns for p in done]
    run_demo(DemoConfig(out=tmp_path, quick=True), progress=False)
    assert [p.stat().st_mtime_ns for p in done] == stamps
    assert index.read_text() == page


def test_a_stage_is_finished_when_its_record_is_newer_than_its_inputs(tmp_path):
    record, older, newer = tmp_path / "report.html", tmp_path / "best.pt", tmp_path / "last.pt"
    assert not _finished(record, older)  # never ran
    for i, path in enumerate((older, record, newer)):
        path.write_text("x")
        os.utime(path, ns=(10**18 + i, 10**18 + i))
    assert _finished(record, older, tmp_path / "absent.pt")
    assert not _finished(record, older, newer)  # trained further since: evaluate again

"""The demo's index page from synthetic evaluation and jets results: every algorithm of the jets
summary plotted, 'too few jets' below the threshold, numbers with their errors; rendered with an
interactive display in headless Chromium (skipped where Chromium is absent)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from browser import CHROMIUM, probe_page

from jetpointnet.workflows.index_page import cell_scores, jet_resolution_rows, write_index


def _metrics(f1_conf, ewa=0.8, n_eff=400.0):
    (_, fp), (fn, tp) = f1_conf
    f1 = 2 * tp / (2 * tp + fp + fn)
    cell = {"f1": f1, "confusion": f1_conf, "energy_weighted_accuracy": ewa,
            "energy_weighted_n_eff": n_eff}  # fmt: skip
    return {"models": {"net": {"cell": cell}, "dumb": {"cell": {**cell, "f1": 0.0}}}}


def _row(lo, hi, n_truth, eff, q68, err):
    stats = {"median": 1.0, "median_err": 0.01, "q68": q68, "q68_err": err, "iqr": q68,
             "iqr_err": err}  # fmt: skip
    return {"bin": f"{lo:g}-{hi:g}", "lo": lo, "hi": hi, "n_truth": n_truth, "efficiency": eff,
            "e": stats, "pt": stats}  # fmt: skip


def _jets():
    response = {
        algo: [_row(20, 40, 10, 0.9, 0.2, 0.05), _row(40, 60, 50, 0.96, 0.12 + k * 0.01, 0.01)]
        for k, algo in enumerate(("calo", "classical", "ml:net", "oracle:net"))
    }
    return {"response": response, "config": {"radius": 0.4}}


def test_jet_rows_hide_bins_below_the_threshold():
    rows = jet_resolution_rows(_jets(), min_jets=20)
    assert [r["algorithm"] for r in rows[::2]] == ["calo", "classical", "ml:net", "oracle:net"]
    low = [r for r in rows if r["bin"] == "20-40"]
    assert all(r["matched"] == 9 and math.isnan(r["q68"]) for r in low)
    assert rows[1]["matched"] == 48 and rows[1]["q68"] == pytest.approx(0.12)
    assert not math.isnan(jet_resolution_rows(_jets(), min_jets=9)[0]["q68"])


def test_cell_errors_are_binomial():
    conf = [[900, 30], [20, 50]]
    s = cell_scores(_metrics(conf))["net"]
    n, k = 50 + 30 + 20, 50  # F1 = 2k / (n + k) with k ~ Binomial(n, k / n)
    rng = np.random.default_rng(1)
    draws = rng.binomial(n, k / n, 20000)
    assert s["f1"][0] == pytest.approx(2 * k / (n + k))
    assert s["f1"][1] == pytest.approx(np.std(2 * draws / (n + draws)), rel=0.05)
    assert s["energy_weighted_accuracy"][1] == pytest.approx(math.sqrt(0.8 * 0.2 / 400))


def _page(tmp_path, min_jets=20):
    (tmp_path / "simulation").mkdir(exist_ok=True)
    sim = tmp_path / "simulation" / "report.html"
    sim.write_text("<html></html>")
    metrics = {"rho": _metrics([[900, 30], [20, 50]]), "dijet": _metrics([[800, 60], [40, 100]])}
    return write_index(tmp_path, sim, metrics, _jets(), min_jets=min_jets)


def test_index_page_content(tmp_path):
    page = _page(tmp_path).read_text()
    assert page.count("data:image/png;base64,") == 2
    assert page.count("too few jets (n = 9)") == 4  # the 20-40 GeV bin of every algorithm
    assert "0.120 ± 0.010 (n = 48)" in page and "oracle:net" in page
    assert "0.667 ± 0.044" in page  # rho F1 = 2 TP / (2 TP + FP + FN) = 100 / 150
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["min_jets"] == 20
    assert {r[0] for r in summary["jets"]} == {"calo", "classical", "ml:net", "oracle:net"}
    assert summary["jets"][0][3] == "n/a" and summary["jets"][1][3] == "0.120 ± 0.010"
    for png in ("jet_resolution", "cell_scores"):
        assert (tmp_path / "figures" / f"{png}.png").stat().st_size > 5000


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium")
def test_index_page_and_its_display_render_in_chromium(tmp_path):
    pytest.importorskip("plotly")
    from test_plotting import _display

    from jetpointnet.plotting.html_display import write_html_display

    display = write_html_display(_display(), tmp_path / "eval" / "rho" / "displays" / "worst.html")
    index = _page(tmp_path)
    assert 'href="eval/rho/displays/worst.html"' in index.read_text()
    js = (
        "document.title = [document.querySelectorAll('table').length,"
        "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length].join(',')"
    )
    n_tables, n_images = map(int, probe_page(index, js, tmp_path).split(","))
    assert n_tables == 3 and n_images == 2  # jets, cells of rho and of dijet; two figures
    js = (
        "const g = document.getElementById('event-display');"
        "document.title = [document.querySelectorAll('.js-plotly-plot').length,"
        " g && g._fullLayout ? g._fullLayout.updatemenus.length : 0,"
        " document.querySelectorAll('.colorbar').length].join(',')"
    )
    assert probe_page(display, js, tmp_path) == "1,1,1"

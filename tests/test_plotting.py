"""Every figure function returns a figure with the data it was given (checked on the
figure's artists), :func:`save_figure` writes it, and no global matplotlib state changes
(the HTML display: test_html_display)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from jetpointnet.evaluation.metrics import track_report
from jetpointnet.evaluation.pflow.templates import EFLOWREC_REFERENCE, eflowrec_reference
from jetpointnet.plotting import performance as perf
from jetpointnet.plotting.event_display import plot_event_3d, plot_event_layers
from jetpointnet.plotting.style import save_figure
from jetpointnet.plotting.templates import (
    eop_templates_figure,
    plot_eop_templates,
    plot_ring_profiles,
    ring_profiles_figure,
)


def _bars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def _report(rng):
    true = rng.uniform(1, 20, 200)
    pred = true * rng.normal(1, 0.1, 200)
    rep = track_report(
        pred,
        true,
        track_pt=true,
        track_eta=rng.uniform(-2, 2, 200),
        min_dr_other=rng.uniform(0, 1, 200),
        pt_edges=[1, 5, 20],
        eta_edges=[0, 1, 2.5],
    )
    return pred, true, rep


def test_track_performance_figure():
    _, _, rep = _report(np.random.default_rng(0))
    fig = perf.plot_track_performance({"a": rep, "b": rep})
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    ax = fig.axes[0]
    assert ax.get_xlabel() == r"track $p_T$ [GeV]" and ax.get_xscale() == "log"
    assert [c.get_label() for c in _bars(ax)] == ["a", "b"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    y = np.asarray(_bars(ax)[0].lines[0].get_ydata(), float)
    want = [r["response"] for r in rep["by_pt"]]
    np.testing.assert_allclose(y, np.asarray(want, float))
    assert fig.axes[1].get_ylim()[0] == 0.0  # a resolution is not negative
    assert fig.axes[2].get_xlabel() == r"track $|\eta|$"


def test_confusion_roc_and_table_figures():
    fig = perf.plot_confusions({"a": [[5, 1], [2, 3]], "b": [[1, 0], [0, 1]]})
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "a"
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[5 / 6, 1 / 6], [2 / 5, 3 / 5]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.83\n(5)" in texts and "0.60\n(3)" in texts
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["not focal", "focal"]
    fig = perf.plot_roc({"a": (np.array([0, 0.2, 1]), np.array([0, 0.7, 1]), 0.75)})
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["a (AUC 0.750)", "random"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 0.7, 1])
    assert ax.get_xlabel().startswith("false positive rate")
    fig = perf.plot_metric_table([{"model": "a", "f1": 0.5, "auc": None}], ["model", "f1", "auc"])
    cells = fig.axes[0].tables[0].get_celld()
    assert [cells[(1, c)].get_text().get_text() for c in range(3)] == ["a", "0.500", "n/a"]
    assert cells[(0, 1)].get_text().get_text() == "f1"


def test_training_and_pred_vs_true_figures():
    pred, true, _ = _report(np.random.default_rng(0))
    fig = perf.plot_pred_vs_true({"a": (pred, true), "b": (true, true)})
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "b"
    mesh = fig.axes[0].collections[0]
    assert np.nansum(mesh.get_array()) == len(true)  # every track in the histogram
    assert fig.axes[0].get_xlabel() == "true focal deposit [GeV]"
    log = {"epoch": np.arange(1, 4), "train_loss": np.array([3.0, 2, 1]), "val_loss": np.ones(3),
           "lr": np.full(3, 1e-3), "frac_pred_focal": np.full(3, 0.4)}  # fmt: skip
    fig = perf.plot_training_curves(log)
    loss, lr, frac = fig.axes
    assert [line.get_label() for line in loss.lines] == ["train_loss", "val_loss"]
    np.testing.assert_allclose(loss.lines[0].get_ydata(), [3, 2, 1])
    assert len(lr.lines) == 1 and lr.get_ylabel() == "learning rate"
    assert [line.get_label() for line in frac.lines] == ["frac_pred_focal"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)


def test_template_figures_and_the_path_wrappers(tmp_path):
    t = eflowrec_reference()
    fig = eop_templates_figure(t, EFLOWREC_REFERENCE)
    (ax,) = fig.axes
    labels = [c.get_label() for c in _bars(ax)]
    assert all(lab.startswith(("ours, LHED", "eflowRec, LHED")) for lab in labels)
    with_ref = {c for c, _ in EFLOWREC_REFERENCE}
    assert sum(lab.startswith("eflowRec") for lab in labels) == len(with_ref) > 0
    ours = [c for k, c in enumerate(t.categories) if (t.count[:, 0, k] >= t.min_count).any()]
    assert [lab for lab in labels if lab.startswith("ours")] == [f"ours, LHED {c}" for c in ours]
    assert ax.get_ylim() == (0.0, 1.4) and ax.get_xscale() == "log"
    t.profiles = {"all": {"EM2": [10.0, 0.02, 1.0, 0.1]}}
    fig = ring_profiles_figure(t)
    assert [line.get_label() for line in fig.axes[0].lines] == ["EM2"]
    assert np.all(fig.axes[0].lines[0].get_ydata() > 0)
    # the old entry points still write the files
    (png,) = plot_eop_templates(t, EFLOWREC_REFERENCE, tmp_path / "eop", pdf=False)
    assert png.name == "eop.png" and png.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in plot_ring_profiles(t, tmp_path / "rings")] == ["rings.png", "rings.pdf"]


def _display():
    eta = np.array([0.10, 0.125, 0.10, 0.2])
    return {
        "cells": {
            "eta": eta,
            "phi": np.array([0.2, 0.2, 0.2, 0.3]),
            "deta": np.array([0.025, 0.025, 0.1, 0.1]),
            "dphi": np.array([0.0245, 0.0245, 0.098, 0.098]),
            "x": np.array([1700.0, 1700, 2500, 2500]),
            "y": np.array([340.0, 340, 500, 700]),
            "z": np.array([170.0, 210, 250, 500]),
            "layer": np.array([2, 2, 12, 12]),
            "energy": np.array([2.0, 1.0, 3.0, 0.5]),
            "true": np.array([2.0, 0.5, 3.0, 0.0]),
            "pred": np.array([1.8, 0.7, 2.5, 0.1]),
        },
        "tracks": [
            {
                "name": "t0",
                "focused": True,
                "layer_eta": np.full(21, 0.1),
                "layer_phi": np.r_[np.full(20, 0.2), np.nan],
                "layer_x": np.linspace(1500, 3500, 21),
                "layer_y": np.full(21, 300.0),
                "layer_z": np.full(21, 200.0),
            }
        ],
        "title": "unit display",
    }


def test_event_display_figures():
    fig = plot_event_layers(_display())
    # two layers (2 and 12), true and predicted side by side, and the colour bar
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 4
    patches = [c for ax in panels for c in ax.collections if isinstance(c, PatchCollection)]
    assert sum(len(c.get_paths()) for c in patches) == 2 * 4  # every cell in both panels
    fig = plot_event_3d(_display())
    assert [ax.name for ax in fig.axes if ax.name == "3d"] == ["3d", "3d"]


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig = perf.plot_roc({"a": (np.array([0, 1]), np.array([0, 1]), None)})
    paths = save_figure(fig, tmp_path / "roc")
    assert [p.name for p in paths] == ["roc.png", "roc.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roc.pdf", "roc.png"]  # no leftovers


def test_no_global_matplotlib_state():
    before = dict.copy(matplotlib.rcParams)
    perf.plot_roc({"a": (np.array([0, 1]), np.array([0, 1]), 0.5)})
    assert dict.copy(matplotlib.rcParams) == before  # the style applied inside the figure only
    code = (  # raw values: reading rcParams["backend"] would resolve (select) it
        "import matplotlib; r = dict.copy(matplotlib.rcParams);"
        "import jetpointnet.plotting.style, jetpointnet.plotting.performance;"
        "assert dict.copy(matplotlib.rcParams) == r, 'import changed rcParams or the backend'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_headline_figures():
    from jetpointnet.plotting.headline import plot_cell_scores, plot_jet_resolution

    curves = {"calo": ([np.nan, 0.2], [np.nan, 0.01]), "ml:net": ([0.3, 0.1], [0.02, 0.01])}
    fig = plot_jet_resolution(curves, [20, 40, 60])
    (ax,) = fig.axes
    assert [c.get_label() for c in _bars(ax)] == ["calo", "ml:net"]
    np.testing.assert_allclose(np.asarray(_bars(ax)[1].lines[0].get_ydata(), float), [0.3, 0.1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "40", "60"]
    scores = {"rho": {"net": {"f1": (0.7, 0.01), "energy_weighted_accuracy": (0.8, 0.02)},
                      "dumb": {"f1": (0.1, 0.01), "energy_weighted_accuracy": (0.5, 0.02)}},
              "dijet": {"net": {"f1": (0.6, 0.01), "energy_weighted_accuracy": (0.7, 0.02)}}}  # fmt: skip
    fig = plot_cell_scores(scores)
    f1, ewa = fig.axes
    assert [t.get_text() for t in f1.get_yticklabels()] == ["net", "dumb"]
    widths = [[p.get_width() for p in c] for c in f1.containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose(widths[0], [0.7, 0.1])  # rho: net, dumb
    assert widths[1][0] == 0.6 and np.isnan(widths[1][1])  # dijet has no 'dumb'
    assert ewa.get_xlabel() == "energy-weighted cell accuracy"
    assert [t.get_text() for t in ewa.get_legend().get_texts()] == ["rho", "dijet"]


def test_jet_figures():
    from jetpointnet.plotting.jets import plot_jet_response, plot_response_distributions

    stats = {"median": 1.0, "median_err": 0.01, "q68": 0.2, "q68_err": 0.02, "iqr": 0.25,
             "iqr_err": 0.02}  # fmt: skip
    rows = [{"lo": 20, "hi": 40, "e": stats, "pt": stats}, {"lo": 40, "hi": 60, "e": stats,
            "pt": stats}]  # fmt: skip
    fig = plot_jet_response({"calo": rows, "oracle": rows})
    assert len(fig.axes) == 6
    assert fig.axes[0].get_ylabel() == "jet E: median response"
    assert fig.axes[4].get_ylabel() == "jet $p_T$: (q84 - q16) / 2 / median"
    bars = _bars(fig.axes[1])
    assert [c.get_label() for c in bars] == ["calo", "oracle"]
    np.testing.assert_allclose(np.asarray(bars[0].lines[0].get_ydata(), float), [0.2, 0.2])
    rng = np.random.default_rng(2)
    matched = {"algorithm": np.repeat(["calo", "ml"], 50), "truth_pt": rng.uniform(20, 60, 100),
               "reco_energy": rng.normal(50, 5, 100), "truth_energy": np.full(100, 50.0)}  # fmt: skip
    fig = plot_response_distributions(matched, ["calo", "ml"], [20, 40, 60])
    assert [ax.get_title() for ax in fig.axes] == ["20-40 GeV", "40-60 GeV"]
    assert sum(len(ax.patches) for ax in fig.axes) == 4  # one step histogram per algo and bin

"""Every figure function writes non-empty PNG (and PDF) files (the HTML display: test_html_display)."""

from __future__ import annotations

import numpy as np

from jetpointnet.evaluation.metrics import track_report
from jetpointnet.evaluation.pflow.templates import EFLOWREC_REFERENCE, eflowrec_reference
from jetpointnet.plotting import performance as perf
from jetpointnet.plotting.event_display import plot_event_3d, plot_event_layers
from jetpointnet.plotting.templates import plot_eop_templates, plot_ring_profiles


def _ok(paths, n=2):
    assert len(paths) == n
    for p in paths:
        assert p.stat().st_size > 1000


def test_performance_figures(tmp_path):
    rng = np.random.default_rng(0)
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
    _ok(perf.plot_track_performance({"a": rep, "b": rep}, tmp_path / "tp"))
    _ok(perf.plot_confusions({"a": [[5, 1], [2, 3]]}, tmp_path / "cm"))
    _ok(
        perf.plot_roc({"a": (np.array([0, 0.2, 1]), np.array([0, 0.7, 1]), 0.75)}, tmp_path / "roc")
    )
    _ok(perf.plot_pred_vs_true({"a": (pred, true)}, tmp_path / "pvt", pdf=False), n=1)
    _ok(
        perf.plot_training_curves(
            {"epoch": np.arange(1, 4), "train_loss": np.ones(3), "lr": np.ones(3)},
            tmp_path / "tc",
            pdf=False,
        ),
        n=1,
    )
    _ok(
        perf.plot_metric_table(
            [{"model": "a", "f1": 0.5, "auc": None}],
            ["model", "f1", "auc"],
            tmp_path / "tab",
            pdf=False,
        ),
        n=1,
    )
    t = eflowrec_reference()
    _ok(plot_eop_templates(t, EFLOWREC_REFERENCE, tmp_path / "eop", pdf=False), n=1)
    t.profiles = {"all": {"EM2": [10.0, 0.02, 1.0, 0.1]}}
    _ok(plot_ring_profiles(t, tmp_path / "rings", pdf=False), n=1)


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


def test_event_displays(tmp_path):
    _ok(plot_event_layers(_display(), tmp_path / "lay", pdf=False), n=1)
    _ok(plot_event_3d(_display(), tmp_path / "d3", pdf=False), n=1)

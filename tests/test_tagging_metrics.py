"""Tagging metrics on hand-made scores and the cut-based baseline."""

from __future__ import annotations

import numpy as np

from jetpointnet.evaluation.metrics import auc
from jetpointnet.evaluation.tagging_baseline import baseline_scores, fit_mass_window
from jetpointnet.evaluation.tagging_metrics import (
    auc_in_bins,
    binary_summary,
    normalised_confusion,
    rejection_at,
    tagging_roc,
)


def test_auc_of_perfect_reversed_and_random_classifiers():
    y = np.r_[np.zeros(500, bool), np.ones(500, bool)]
    perfect = np.r_[np.linspace(0, 0.4, 500), np.linspace(0.6, 1, 500)]
    best = binary_summary(y, perfect, n_boot=0)
    assert best["auc"] == 1.0
    assert best["rejection_50"] == 500 and best["rejection_50_lower_bound"]  # none passes
    assert binary_summary(y, -perfect, n_boot=0)["auc"] == 0.0
    rng = np.random.default_rng(0)
    yr = rng.random(20000) < 0.5
    row = binary_summary(yr, rng.random(20000), n_boot=20)
    assert abs(row["auc"] - 0.5) < 0.02
    assert 0 < row["auc_err"] < 0.01  # bootstrap error ~ 1/sqrt(n)
    assert abs(row["rejection_50"] - 2.0) < 0.1  # random: eps_B = eps_S


def test_rejection_at_a_known_efficiency():
    # signal scores uniform on [0, 1]: eps_S(t) = 1 - t; background with P(b > t) = (1 - t)^2
    q = (np.arange(20000) + 0.5) / 20000
    sig, bkg = q, 1 - np.sqrt(q)
    y = np.r_[np.ones_like(sig, bool), np.zeros_like(bkg, bool)]
    eps_s, eps_b = tagging_roc(y, np.r_[sig, bkg])
    for wp in (0.3, 0.5, 0.8):
        assert abs(rejection_at(eps_s, eps_b, wp) - 1 / wp**2) / (1 / wp**2) < 0.01
    assert abs(auc(eps_b, eps_s) - 2 / 3) < 1e-3  # eps_S = sqrt(eps_B): area 2/3
    # weights: doubling every background weight changes nothing
    w = np.r_[np.ones_like(sig), 2 * np.ones_like(bkg)]
    assert abs(binary_summary(y, np.r_[sig, bkg], weights=w, n_boot=0)["rejection_50"] - 4) < 0.05


def test_confusion_rows_sum_to_one_and_auc_in_bins():
    cm = normalised_confusion(np.array([0, 0, 0, 1, 1]), np.array([0, 1, 1, 1, 1]), n_classes=2)
    np.testing.assert_allclose(cm, [[1 / 3, 2 / 3], [0, 1]])
    y = np.array([0, 1] * 50, bool)
    pt = np.repeat([250.0, 500.0], 50)
    score = np.where(pt < 400, y.astype(float), 0.5)  # perfect in the low bin, blind above
    rows = auc_in_bins(y, score, pt, [200, 400, 800, 1000], n_boot=5)
    assert rows[0]["auc"] == 1.0 and rows[1]["auc"] == 0.5 and np.isnan(rows[2]["auc"])


def test_mass_window_baseline():
    rng = np.random.default_rng(1)
    m_sig = rng.normal(85, 8, 4000)
    win = fit_mass_window(m_sig, containment=0.8)
    assert 70 < win.lo < 76 and 94 < win.hi < 100 and abs(win.centre - 85) < 1.5
    mass = np.array([85.0, 80.0, 85.0, 150.0, 40.0])
    tau21 = np.array([0.2, 0.6, 0.9, 0.1, 0.1])
    s = baseline_scores("mass+tau21", win, mass=mass, tau21=tau21, d2=np.ones(5))
    assert s[0] > s[1] > s[2] > max(s[3], s[4])  # inside the window ranked by tau21, outside below
    s_mass = baseline_scores("mass", win, mass=mass, tau21=tau21, d2=tau21)
    assert s_mass[0] == s_mass[2] > s_mass[1] > s_mass[4] > s_mass[3]

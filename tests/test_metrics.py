"""Metric functions against hand-computed values, and never NaN on degenerate inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jetpointnet.evaluation.metrics import (
    auc,
    binary_metrics,
    binned_track_metrics,
    confusion_matrix,
    multiclass_metrics,
    roc_curve,
    segment_sum,
    track_metrics,
    track_report,
)


def _finite(obj) -> bool:
    return all(math.isfinite(v) for v in _numbers(obj))


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield float(obj)


def test_binary_metrics_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    e = np.array([4.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.5, -0.5])
    m = binary_metrics(y, p, energy=e)
    assert m["confusion"] == [[4, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # wrong cells: E=1 (fn) and E=1 (fp); total |E| = 10
    assert m["energy_weighted_accuracy"] == pytest.approx(8 / 10)
    assert m["energy_weighted_n_eff"] == pytest.approx(10**2 / 23)  # sum E^2 = 23
    assert m["auc"] is None


def test_roc_and_auc_by_hand():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    fpr, tpr, thr = roc_curve(y, s)
    assert np.allclose(fpr, [0, 0, 0.5, 0.5, 1.0])
    assert np.allclose(tpr, [0, 0.5, 0.5, 1.0, 1.0])
    assert auc(fpr, tpr) == pytest.approx(0.75)
    assert binary_metrics(y, s > 0.5, score=s)["auc"] == pytest.approx(0.75)
    assert thr[0] == np.inf


def test_confusion_and_multiclass():
    t = np.array([0, 1, 2, 3, 0, 1])
    p = np.array([0, 2, 2, 3, 1, 1])
    cm = confusion_matrix(t, p, n_classes=4)
    assert cm.tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    m = multiclass_metrics(t, p, n_classes=4)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx([1.0, 0.5, 0.5, 1.0])
    assert m["recall"] == pytest.approx([0.5, 0.5, 1.0, 1.0])


@pytest.mark.parametrize(
    ("y", "p", "e"),
    [
        (np.zeros(5), np.zeros(5), np.ones(5)),  # no positive cells
        (np.zeros(0), np.zeros(0), np.zeros(0)),  # nothing at all
        (np.ones(3), np.zeros(3), np.zeros(3)),  # zero-energy cells
    ],
)
def test_binary_degenerate_no_nan(y, p, e):
    m = binary_metrics(y, p, energy=e, score=p.astype(float))
    assert _finite(m)
    json.dumps(m, allow_nan=False)


def test_track_metrics_by_hand():
    true = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 0.2])
    pred = np.array([8.0, 9.0, 10.0, 11.0, 12.0, 5.0])  # the last is below min_true
    m = track_metrics(pred, true, min_true=0.5)
    ratio = pred[:5] / true[:5]
    assert m["n_used"] == 5
    assert m["response"] == pytest.approx(1.0)
    q = np.quantile(ratio, [0.16, 0.25, 0.75, 0.84])
    assert m["resolution_iqr"] == pytest.approx(q[2] - q[1])
    assert m["resolution_68"] == pytest.approx((q[3] - q[0]) / 2)
    assert m["mape"] == pytest.approx(100 * np.mean(np.abs(ratio - 1)))


def test_track_metrics_degenerate_no_nan():
    for pred, true in [
        (np.zeros(0), np.zeros(0)),
        (np.ones(4), np.zeros(4)),
        (np.zeros(4), np.ones(4)),
    ]:
        m = track_metrics(pred, true)
        assert _finite(m)
        json.dumps(m, allow_nan=False)
    assert track_metrics(np.ones(3), np.zeros(3))["mape"] is None
    assert track_metrics(np.zeros(3), np.ones(3))["resolution_68"] is None  # median 0


def test_binning_and_dense_split():
    pred = np.array([1.0, 2.0, 3.0, 4.0])
    true = np.array([1.0, 1.0, 1.0, 1.0])
    pt = np.array([1.5, 1.5, 7.0, 70.0])
    rows = binned_track_metrics(pred, true, pt, [1.0, 2.0, 10.0], min_true=0.5)
    assert [r["n_used"] for r in rows] == [2, 1]
    assert rows[0]["response"] == pytest.approx(1.5)
    rep = track_report(
        pred,
        true,
        track_pt=pt,
        track_eta=-pt / 100,
        min_dr_other=np.array([0.1, np.inf, 0.3, 0.05]),
        pt_edges=[1, 100],
        eta_edges=[0, 1],
        min_true=0.5,
    )
    assert rep["dense"]["n_used"] == 2 and rep["dense"]["response"] == pytest.approx(2.5)
    assert rep["isolated"]["response"] == pytest.approx(2.5)
    assert rep["by_abs_eta"][0]["n_used"] == 4  # |eta| used


def test_segment_sum():
    assert segment_sum(np.arange(6.0), np.array([0, 2, 2, 6])).tolist() == [1.0, 0.0, 14.0]

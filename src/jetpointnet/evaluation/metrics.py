"""Cell-level and track-level metrics in plain numpy, the same for every model and baseline.

Conventions (they keep every number finite, so ``metrics.json`` never holds ``NaN``):

- A ratio whose denominator is zero (precision with no predicted positives, F1 with
  P + R = 0, ...) is ``0.0``, as scikit-learn's ``zero_division=0``.
- A quantity that is undefined for the input (AUC with one class only, a track response
  with no track above threshold) is ``None``, written ``null`` in JSON.

Cell level works on flat arrays of real, labelled cells; energies are in GeV. Track level
compares per-track sums of predicted and true focal energy (GeV):

- response: ``median(pred / true)``;
- resolution ``iqr``: ``(q75 - q25) / median`` of ``pred / true``;
- resolution ``68``: ``(q84 - q16) / 2 / median`` of ``pred / true``;
- MAPE: ``mean(|pred - true| / true)`` in percent, over tracks with ``true > min_true``
  (seed 000's total-energy MAPE, without its division by zero).

All three use only tracks with ``true > min_true`` (default 0.5 GeV).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "auc",
    "binary_metrics",
    "binned_track_metrics",
    "confusion_matrix",
    "multiclass_metrics",
    "roc_curve",
    "segment_sum",
    "track_metrics",
    "track_report",
]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` int64 counts; rows are true classes, columns predictions.

    Labels outside ``[0, n_classes)`` are ignored.
    """
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    ok = (t >= 0) & (t < n_classes) & (p >= 0) & (p < n_classes)
    flat = t[ok] * n_classes + p[ok]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def roc_curve(
    y_true: np.ndarray, score: np.ndarray, *, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr, thresholds)`` for a binary label and a score (higher = focal).

    Starts at (0, 0) with threshold ``+inf``. With one class absent the corresponding
    rate is all zeros.
    """
    y = np.asarray(y_true).ravel().astype(bool)
    s = np.asarray(score, dtype=np.float64).ravel()
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    order = np.argsort(-s, kind="mergesort")
    s, y, w = s[order], y[order], w[order]
    tp = np.cumsum(w * y)
    fp = np.cumsum(w * ~y)
    # keep the last index of each distinct score
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1] if s.size else np.array([], dtype=int)
    tp, fp, thr = tp[last], fp[last], s[last]
    pos = tp[-1] if tp.size else 0.0
    neg = fp[-1] if fp.size else 0.0
    tpr = np.r_[0.0, tp / pos if pos > 0 else np.zeros_like(tp)]
    fpr = np.r_[0.0, fp / neg if neg > 0 else np.zeros_like(fp)]
    return fpr, tpr, np.r_[np.inf, thr]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a curve given by increasing ``fpr`` (trapezoids)."""
    x = np.asarray(fpr, dtype=np.float64)
    y = np.asarray(tpr, dtype=np.float64)
    if x.size < 2:
        return 0.0
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def binary_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    energy: np.ndarray | None = None,
    score: np.ndarray | None = None,
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, energy-weighted accuracy, confusion, AUC.

    Parameters
    ----------
    y_true, y_pred:
        0/1 per cell (1 = focal).
    energy:
        Cell energy in GeV; the energy-weighted accuracy weights each cell by ``|E|``
        (topo-clusters keep negative-energy cells). Without it, that entry is omitted.
    score:
        A per-cell score (probability or predicted fraction) for the ROC AUC; ``auc`` is
        ``None`` when no score is given or when only one class is present.
    """
    t = np.asarray(y_true).ravel().astype(bool)
    p = np.asarray(y_pred).ravel().astype(bool)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} differ")
    tp = int(np.sum(t & p))
    tn = int(np.sum(~t & ~p))
    fp = int(np.sum(~t & p))
    fn = int(np.sum(t & ~p))
    n = t.size
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    out: dict[str, Any] = {
        "n_cells": n,
        "positive_fraction": _ratio(tp + fn, n),
        "accuracy": _ratio(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "confusion": [[tn, fp], [fn, tp]],
    }
    if energy is not None:
        w = np.abs(np.asarray(energy, dtype=np.float64).ravel())
        out["energy_weighted_accuracy"] = _ratio(float(np.sum(w * (t == p))), float(np.sum(w)))
        # Kish's effective number of cells, for the binomial error of that weighted mean
        out["energy_weighted_n_eff"] = _ratio(float(np.sum(w)) ** 2, float(np.sum(w * w)))
    out["auc"] = None
    if score is not None and 0 < tp + fn < n:
        fpr, tpr, _ = roc_curve(t, score)
        out["auc"] = auc(fpr, tpr)
    return out


def multiclass_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    n_classes: int,
    energy: np.ndarray | None = None,
) -> dict[str, Any]:
    """Accuracy, energy-weighted accuracy, per-class precision/recall/F1 and confusion."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    cm = confusion_matrix(t, p, n_classes=n_classes)
    n = int(cm.sum())
    diag = np.diag(cm)
    prec = [_ratio(diag[k], cm[:, k].sum()) for k in range(n_classes)]
    rec = [_ratio(diag[k], cm[k, :].sum()) for k in range(n_classes)]
    f1 = [_ratio(2 * a * b, a + b) for a, b in zip(prec, rec, strict=True)]
    out: dict[str, Any] = {
        "n_cells": n,
        "accuracy": _ratio(diag.sum(), n),
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "macro_f1": float(np.mean(f1)) if f1 else 0.0,
        "confusion": cm.tolist(),
    }
    if energy is not None:
        w = np.abs(np.asarray(energy, dtype=np.float64).ravel())
        out["energy_weighted_accuracy"] = _ratio(float(np.sum(w * (t == p))), float(np.sum(w)))
        # Kish's effective number of cells, for the binomial error of that weighted mean
        out["energy_weighted_n_eff"] = _ratio(float(np.sum(w)) ** 2, float(np.sum(w * w)))
    return out


def segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values[offsets[i]:offsets[i + 1]]`` for every sample ``i`` (float64)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    off = np.asarray(offsets, dtype=np.int64)
    c = np.r_[0.0, np.cumsum(v)]
    return c[off[1:]] - c[off[:-1]]


def track_metrics(
    pred_total: np.ndarray, true_total: np.ndarray, *, min_true: float = 0.5
) -> dict[str, Any]:
    """Response, two resolutions and MAPE of per-track focal energies (GeV).

    Only tracks with ``true_total > min_true`` count; with none, every figure is ``None``.
    """
    pred = np.asarray(pred_total, dtype=np.float64).ravel()
    true = np.asarray(true_total, dtype=np.float64).ravel()
    sel = np.isfinite(pred) & np.isfinite(true) & (true > min_true)
    out: dict[str, Any] = {
        "n_tracks": int(pred.size),
        "n_used": int(sel.sum()),
        "response": None,
        "resolution_iqr": None,
        "resolution_68": None,
        "mape": None,
    }
    if not sel.any():
        return out
    ratio = pred[sel] / true[sel]
    q16, q25, med, q75, q84 = np.quantile(ratio, [0.16, 0.25, 0.5, 0.75, 0.84])
    out["response"] = float(med)
    if med > 0:
        out["resolution_iqr"] = float((q75 - q25) / med)
        out["resolution_68"] = float((q84 - q16) / 2.0 / med)
    out["mape"] = float(100.0 * np.mean(np.abs(ratio - 1.0)))
    return out


def binned_track_metrics(
    pred_total: np.ndarray,
    true_total: np.ndarray,
    x: np.ndarray,
    edges: Sequence[float],
    *,
    min_true: float = 0.5,
) -> list[dict[str, Any]]:
    """:func:`track_metrics` in bins ``[edges[i], edges[i + 1])`` of ``x``; each with ``lo``, ``hi``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    pred = np.asarray(pred_total, dtype=np.float64).ravel()
    true = np.asarray(true_total, dtype=np.float64).ravel()
    rows = []
    for lo, hi in itertools.pairwise(edges):
        sel = (x >= lo) & (x < hi)
        row = {"lo": float(lo), "hi": float(hi)}
        row.update(track_metrics(pred[sel], true[sel], min_true=min_true))
        rows.append(row)
    return rows


def track_report(
    pred_total: np.ndarray,
    true_total: np.ndarray,
    *,
    track_pt: np.ndarray,
    track_eta: np.ndarray,
    min_dr_other: np.ndarray,
    pt_edges: Sequence[float],
    eta_edges: Sequence[float],
    dense_dr: float = 0.2,
    min_true: float = 0.5,
) -> dict[str, Any]:
    """Every track-level figure: inclusive, by pT (GeV), by |eta|, isolated and dense.

    A track is *dense* when another track lies within ``dense_dr`` (``min_dr_other`` is
    ``inf`` without another track), *isolated* otherwise.
    """
    pred = np.asarray(pred_total, dtype=np.float64)
    true = np.asarray(true_total, dtype=np.float64)
    dense = np.asarray(min_dr_other, dtype=np.float64) < dense_dr
    return {
        "inclusive": track_metrics(pred, true, min_true=min_true),
        "isolated": track_metrics(pred[~dense], true[~dense], min_true=min_true),
        "dense": track_metrics(pred[dense], true[dense], min_true=min_true),
        "by_pt": binned_track_metrics(pred, true, track_pt, pt_edges, min_true=min_true),
        "by_abs_eta": binned_track_metrics(
            pred, true, np.abs(np.asarray(track_eta)), eta_edges, min_true=min_true
        ),
    }

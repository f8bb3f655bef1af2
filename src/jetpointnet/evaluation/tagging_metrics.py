"""Tagging metrics on per-cloud scores: accuracy, ROC, AUC, background rejection.

Conventions (seed 004's tables): the signal is one class (``signal``), every other
class is background; the ROC is the signal efficiency ``eps_S`` (true-positive rate)
against the background efficiency ``eps_B`` (false-positive rate) of a cut on the score,
both optionally weighted per cloud; the background rejection at a working point is
``1 / eps_B`` at the cut where ``eps_S`` reaches it (``eps_B`` interpolated linearly in
``eps_S`` between ROC points; ``inf`` when no background passes, which
:func:`binary_summary` reports as the bound ``n_background`` with
``rejection_<wp>_lower_bound`` true). Errors come from a
bootstrap over the clouds: the standard deviation of the metric over ``n_boot``
resamples with replacement (a seeded generator), the finite ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from jetpointnet.evaluation.metrics import auc, confusion_matrix, roc_curve

__all__ = [
    "WORKING_POINTS",
    "auc_in_bins",
    "binary_summary",
    "bootstrap",
    "normalised_confusion",
    "rejection_at",
    "tagging_roc",
]

#: Signal efficiencies at which the background rejection is quoted.
WORKING_POINTS = (0.3, 0.5, 0.8)


def tagging_roc(
    is_signal: np.ndarray, score: np.ndarray, *, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(eps_S, eps_B)``, both increasing, from (0, 0) to (1, 1)."""
    fpr, tpr, _ = roc_curve(np.asarray(is_signal, bool), score, weights=weights)
    return tpr, fpr


def rejection_at(eps_s: np.ndarray, eps_b: np.ndarray, target: float) -> float:
    """``1 / eps_B`` at signal efficiency ``target`` (linear interpolation; inf if 0)."""
    if eps_s.size < 2 or eps_s[-1] < target:
        return float("nan")
    i = int(np.searchsorted(eps_s, target, side="left"))
    i = min(max(i, 1), eps_s.size - 1)
    s0, s1, b0, b1 = eps_s[i - 1], eps_s[i], eps_b[i - 1], eps_b[i]
    b = b1 if s1 == s0 else b0 + (b1 - b0) * (target - s0) / (s1 - s0)
    return float("inf") if b <= 0 else float(1.0 / b)


def _point(is_signal: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    eps_s, eps_b = tagging_roc(is_signal, score, weights=w)
    row = {"auc": auc(eps_b, eps_s)}
    for wp in WORKING_POINTS:
        row[f"rejection_{round(100 * wp)}"] = rejection_at(eps_s, eps_b, wp)
    return row


def bootstrap(
    is_signal: np.ndarray,
    score: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    n_boot: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """Bootstrap standard deviations of AUC and the rejections (keys ``<metric>_err``)."""
    rng = np.random.default_rng(seed)
    n = len(score)
    rows = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        rows.append(_point(is_signal[idx], score[idx], None if weights is None else weights[idx]))
    out = {}
    for key in rows[0] if rows else []:
        vals = np.array([r[key] for r in rows], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        out[f"{key}_err"] = float(vals.std(ddof=1)) if vals.size > 1 else float("nan")
    return out


def binary_summary(
    is_signal: np.ndarray,
    score: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    n_boot: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """AUC and ``rejection_30/50/80`` with their bootstrap errors, and the counts."""
    is_signal = np.asarray(is_signal, bool)
    score = np.asarray(score, np.float64)
    row = _point(is_signal, score, weights)
    if n_boot > 0:
        row.update(bootstrap(is_signal, score, weights=weights, n_boot=n_boot, seed=seed))
    n_bkg = int((~is_signal).sum())
    for wp in WORKING_POINTS:  # no background passes: quote the bound 1/eps_B > n_background
        key = f"rejection_{round(100 * wp)}"
        row[f"{key}_lower_bound"] = bool(np.isinf(row[key]))
        if np.isinf(row[key]):
            row[key] = float(n_bkg)
    row["n_signal"] = int(is_signal.sum())
    row["n_background"] = int((~is_signal).sum())
    return row


def normalised_confusion(y_true: np.ndarray, y_pred: np.ndarray, *, n_classes: int) -> np.ndarray:
    """Confusion matrix with rows (true classes) summing to 1 (rows without clouds: 0)."""
    cm = confusion_matrix(y_true, y_pred, n_classes=n_classes).astype(np.float64)
    total = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)


def auc_in_bins(
    is_signal: np.ndarray,
    score: np.ndarray,
    values: np.ndarray,
    edges: Sequence[float],
    *,
    weights: np.ndarray | None = None,
    n_boot: int = 50,
    seed: int = 0,
) -> list[dict[str, float]]:
    """AUC (and its bootstrap error) in bins of ``values`` (e.g. jet pT in GeV).

    Rows ``{lo, hi, auc, auc_err, n_signal, n_background}``; a bin without both classes
    has ``auc`` NaN.
    """
    is_signal = np.asarray(is_signal, bool)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        sel = (values >= lo) & (values < hi)
        ns, nb = int((is_signal & sel).sum()), int((~is_signal & sel).sum())
        row = {"lo": float(lo), "hi": float(hi), "n_signal": ns, "n_background": nb}
        if ns and nb:
            w = None if weights is None else weights[sel]
            eps_s, eps_b = tagging_roc(is_signal[sel], score[sel], weights=w)
            row["auc"] = auc(eps_b, eps_s)
            errs = bootstrap(is_signal[sel], score[sel], weights=w, n_boot=n_boot, seed=seed)
            row["auc_err"] = errs.get("auc_err", float("nan"))
        else:
            row["auc"] = row["auc_err"] = float("nan")
        rows.append(row)
    return rows

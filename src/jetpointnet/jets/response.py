"""Jet response and resolution in bins of truth-jet pT.

For each bin of truth pT and each algorithm: the number of truth jets, the fraction
matched to a reco jet, and for the matched ones the median response ``R = X_reco /
X_truth`` for ``X = E`` and ``X = pT`` with two resolution definitions,

* ``iqr``: (q75 - q25) / median (ATLAS/MLPF's interquartile width), and
* ``q68``: (q84 - q16) / 2 / median (half the central 68 % interval),

each with a bootstrap standard error (``n_boot`` resamples, fixed seed) so that two
algorithms can be compared on the same jets. Bins are ``[edges[i], edges[i + 1])`` GeV,
the last one open when its upper edge is ``inf``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["PT_BINS", "bin_label", "resolution_stats", "response_table"]

#: The issue's bins of truth-jet pT (GeV).
PT_BINS = (20.0, 40.0, 60.0, 100.0, 200.0, float("inf"))


def bin_label(lo: float, hi: float) -> str:
    return f"{lo:g}+" if not np.isfinite(hi) else f"{lo:g}-{hi:g}"


def _point(r: np.ndarray) -> tuple[float, float, float]:
    q16, q25, q50, q75, q84 = np.quantile(r, [0.16, 0.25, 0.5, 0.75, 0.84])
    if q50 <= 0:
        return float(q50), float("nan"), float("nan")
    return float(q50), float((q75 - q25) / q50), float((q84 - q16) / 2 / q50)


def resolution_stats(r: np.ndarray, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """Median, IQR/median and (q84-q16)/2/median of the responses ``r`` with bootstrap errors."""
    r = np.asarray(r, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        nan = float("nan")
        return {"n": len(r), "median": float(r[0]) if len(r) else nan, "iqr": nan, "q68": nan,
                "median_err": nan, "iqr_err": nan, "q68_err": nan}  # fmt: skip
    med, iqr, q68 = _point(r)
    rng = np.random.default_rng(seed)
    boot = np.array([_point(r[rng.integers(0, len(r), len(r))]) for _ in range(n_boot)])
    err = np.nanstd(boot, axis=0) if n_boot > 1 else np.full(3, np.nan)
    return {"n": len(r), "median": med, "iqr": iqr, "q68": q68,
            "median_err": float(err[0]), "iqr_err": float(err[1]), "q68_err": float(err[2])}  # fmt: skip


def response_table(
    truth_pt: np.ndarray,
    truth_e: np.ndarray,
    reco_pt: np.ndarray,
    reco_e: np.ndarray,
    *,
    edges: Sequence[float] = PT_BINS,
    n_boot: int = 200,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per pT bin; ``reco_*`` is NaN for unmatched truth jets."""
    truth_pt = np.asarray(truth_pt, np.float64)
    matched = np.isfinite(np.asarray(reco_pt, np.float64))
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inb = (truth_pt >= lo) & (truth_pt < hi)
        m = inb & matched
        n = int(inb.sum())
        row: dict[str, Any] = {
            "bin": bin_label(lo, hi),
            "lo": lo,
            "hi": hi,
            "n_truth": n,
            "efficiency": float(m.sum() / n) if n else float("nan"),
        }
        with np.errstate(divide="ignore", invalid="ignore"):
            row["e"] = resolution_stats(reco_e[m] / truth_e[m], n_boot=n_boot, seed=seed)
            row["pt"] = resolution_stats(reco_pt[m] / truth_pt[m], n_boot=n_boot, seed=seed)
        rows.append(row)
    return rows

"""Tagging figures: ROC curves as background rejection, confusion matrices, AUC vs jet pT,
score distributions.

Every function takes plain data (numpy arrays and dicts of numbers, as
:mod:`jetpointnet.evaluation.tagging` computes them) and returns a matplotlib ``Figure``;
:func:`jetpointnet.plotting.style.save_figure` writes it. Jet pT in GeV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from jetpointnet.plotting.style import label, new_figure, styled

__all__ = ["auc_vs_pt_figure", "confusion_figure", "rejection_roc_figure", "score_figure"]


@styled()
def rejection_roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    working_points: Sequence[float] = (0.3, 0.5, 0.8),
    extra: str = "",
):
    """Background rejection ``1 / eps_B`` (log) against signal efficiency, one line per tagger.

    ``curves``: name -> ``(eps_S, eps_B)``; names starting with ``cut:`` are drawn dashed
    (the cut-based baselines).
    """
    fig, ax = new_figure()
    for name, (eps_s, eps_b) in curves.items():
        ok = (eps_b > 0) & (eps_s > 0)
        style = "--" if name.startswith("cut:") else "-"
        ax.plot(eps_s[ok], 1.0 / eps_b[ok], style, label=name)
    for wp in working_points:
        ax.axvline(wp, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1.0)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(r"signal efficiency $\varepsilon_S$")
    ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
    ax.legend(loc="upper right", fontsize="x-small")
    label(ax, extra=extra)
    return fig


@styled(hep=False)
def confusion_figure(cm: np.ndarray, classes: Sequence[str], *, title: str = ""):
    """A confusion matrix normalised per true class (rows), with its values written in."""
    fig, ax = new_figure(size=(5.2, 4.6))
    cm = np.asarray(cm, dtype=np.float64)
    im = ax.imshow(cm, vmin=0.0, vmax=1.0, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{cm[i, j]:.3f}", ha="center", va="center",
                    color="white" if cm[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix (rows sum to 1)", fontsize="small")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


@styled()
def auc_vs_pt_figure(rows: Mapping[str, Sequence[Mapping[str, float]]], *, extra: str = ""):
    """AUC in bins of jet pT: ``rows`` name -> ``[{lo, hi, auc, auc_err}, ...]``."""
    fig, ax = new_figure()
    for k, (name, bins) in enumerate(rows.items()):
        lo = np.array([b["lo"] for b in bins])
        hi = np.array([b["hi"] for b in bins])
        y = np.array([b["auc"] for b in bins], dtype=np.float64)
        err = np.array([b.get("auc_err", np.nan) for b in bins], dtype=np.float64)
        x = 0.5 * (lo + hi) + (k - 0.5 * (len(rows) - 1)) * 0.02 * (hi - lo)
        ax.errorbar(x, y, yerr=np.nan_to_num(err), xerr=None, fmt="o" if ":" not in name else "s",
                    mfc="none" if name.startswith("cut:") else None, label=name)  # fmt: skip
    ax.set_xlabel(r"jet $p_T$ [GeV]")
    ax.set_ylabel("AUC")
    ax.set_ylim(0.0, 1.15)  # room for the label; error bars of sparse bins are clipped
    ax.legend(loc="lower right", fontsize="x-small")
    label(ax, extra=extra)
    return fig


@styled(hep=False)
def score_figure(
    scores: Mapping[str, np.ndarray],
    is_signal: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bins: int = 40,
):
    """Signal-class probability of signal and background jets, one panel per tagger."""
    n = max(1, len(scores))
    fig, axes = new_figure(1, n, size=(4.0 * n, 3.6), squeeze=False)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, (name, s) in zip(axes[0], scores.items(), strict=False):
        for sel, what in ((is_signal, "signal"), (~is_signal, "background")):
            w = None if weights is None else weights[sel]
            ax.hist(s[sel], bins=edges, weights=w, density=True, histtype="step", label=what)
        ax.set_yscale("log")
        ax.set_xlabel("signal probability")
        ax.set_title(name, fontsize="small")
        ax.legend(fontsize="x-small")
    return fig

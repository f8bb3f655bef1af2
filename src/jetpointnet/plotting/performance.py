"""Performance figures: track response and resolution, confusion matrices, ROC curves,
training curves, predicted vs true focal energy, and a cell-metric table.

Every function takes plain data (dicts of numbers or numpy arrays, as written by
``jetpointnet.evaluation``) and returns a :class:`~matplotlib.figure.Figure`; write it
with :func:`jetpointnet.plotting.style.save_figure`. Energies are in GeV.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from jetpointnet.plotting.style import label, new_figure, styled

__all__ = [
    "plot_confusions",
    "plot_metric_table",
    "plot_pred_vs_true",
    "plot_roc",
    "plot_track_performance",
    "plot_training_curves",
]

Stem = str | os.PathLike[str]


def _xy(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = np.array([r["lo"] for r in rows], dtype=float)
    hi = np.array([r["hi"] for r in rows], dtype=float)
    val = np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)
    return (lo + hi) / 2, (hi - lo) / 2, val


def _legend(ax, **kwargs) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


@styled()
def plot_track_performance(
    reports: Mapping[str, Mapping[str, Any]],
) -> Figure:
    """Response and resolution vs pT and |eta|, one line per model (``track_report`` dicts)."""
    fig, axes = new_figure(2, 2, size=(12, 9))
    panels = [
        ("by_pt", "response", r"track $p_T$ [GeV]", "response median(pred/true)"),
        ("by_pt", "resolution_68", r"track $p_T$ [GeV]", "resolution (q84-q16)/2/median"),
        ("by_abs_eta", "response", r"track $|\eta|$", "response median(pred/true)"),
        ("by_abs_eta", "resolution_68", r"track $|\eta|$", "resolution (q84-q16)/2/median"),
    ]
    markers = "osD^v<>ph*"
    for ax, (binning, key, xl, yl) in zip(axes.ravel(), panels, strict=True):
        for i, (name, rep) in enumerate(reports.items()):
            x, xerr, y = _xy(rep[binning], key)
            ax.errorbar(
                x, y, xerr=xerr, marker=markers[i % len(markers)], ls="none", label=name, ms=5
            )
        if binning == "by_pt":
            ax.set_xscale("log")
        if key == "response":
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        else:
            ax.set_ylim(bottom=0.0)  # a resolution is not negative
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.15 * (hi - lo))  # head room for the label
        ax.set_xlabel(xl, fontsize="medium")
        ax.set_ylabel(yl, fontsize="medium")
        label(ax)
    _legend(axes[0, 0], fontsize="x-small", loc="lower right")
    fig.tight_layout()  # the axis titles of neighbouring panels must not overlap
    return fig


@styled()
def plot_confusions(
    matrices: Mapping[str, Sequence[Sequence[int]]],
    *,
    class_names: Sequence[str] = ("not focal", "focal"),
) -> Figure:
    """Confusion matrices (rows true, columns predicted), normalised per true class."""
    n = max(len(matrices), 1)
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, size=(4.6 * ncols, 4.2 * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, cm) in zip(axes.ravel(), matrices.items(), strict=False):
        m = np.asarray(cm, dtype=float)
        norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        k = len(m)
        names = list(class_names)[:k] if len(class_names) >= k else [str(i) for i in range(k)]
        ax.set_xticks(range(k), names, rotation=30, fontsize="x-small")
        ax.set_yticks(range(k), names, fontsize="x-small")
        ax.minorticks_off()
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}\n({int(m[i, j])})",
                    ha="center",
                    va="center",
                    fontsize="xx-small",
                    color="white" if norm[i, j] > 0.6 else "black",
                )
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("predicted", fontsize="small")
        ax.set_ylabel("true", fontsize="small")
    return fig


@styled()
def plot_roc(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float | None]],
) -> Figure:
    """ROC curves (focal = positive) with their AUC in the legend."""
    fig, ax = new_figure()
    for name, (fpr, tpr, area) in curves.items():
        txt = f"{name} (AUC {area:.3f})" if area is not None else name
        ax.plot(fpr, tpr, label=txt)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="random")
    ax.set_xlabel("false positive rate (non-focal cells called focal)")
    ax.set_ylabel("true positive rate (focal cells found)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    label(ax)
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


@styled()
def plot_training_curves(
    log: Mapping[str, np.ndarray],
) -> Figure:
    """Loss (train and validation), learning rate and focal fraction per epoch."""
    cols = {k.lower(): np.asarray(v, dtype=float) for k, v in log.items()}
    epoch = cols.get("epoch", np.arange(1, len(next(iter(cols.values()), [])) + 1))
    fig, axes = new_figure(1, 3, size=(16, 4.6))
    for key, val in cols.items():
        if "loss" in key:
            axes[0].plot(epoch, val, marker="o", ms=3, label=key)
    axes[0].set_ylabel("loss")
    _legend(axes[0], fontsize="x-small")
    for key, val in cols.items():
        if key in ("lr", "learning_rate"):
            axes[1].plot(epoch, val, marker="o", ms=3)
    axes[1].set_ylabel("learning rate")
    for key, val in cols.items():
        if "focal" in key:
            axes[2].plot(epoch, val, marker="o", ms=3, label=key)
    axes[2].set_ylabel("fraction of cells called focal")
    _legend(axes[2], fontsize="x-small")
    for ax in axes:
        ax.set_xlabel("epoch")
        label(ax)
    return fig


@styled()
def plot_pred_vs_true(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    bins: int = 40,
) -> Figure:
    """2-D histograms of predicted vs true focal deposit per track (GeV), one per model."""
    n = max(len(pairs), 1)
    fig, axes = new_figure(1, n, size=(5.2 * n, 4.8), squeeze=False)
    top = max([float(np.nanmax(np.r_[p, t, 1.0])) for p, t in pairs.values()] or [1.0])
    edges = np.linspace(0, top * 1.02, bins + 1)
    for ax, (name, (pred, true)) in zip(axes.ravel(), pairs.items(), strict=False):
        h, _, _ = np.histogram2d(np.asarray(true), np.asarray(pred), bins=[edges, edges])
        ax.pcolormesh(edges, edges, np.where(h > 0, h, np.nan).T, cmap="viridis")
        ax.plot([0, top], [0, top], color="red", lw=0.8, ls="--")
        ax.set_xlabel("true focal deposit [GeV]")
        ax.set_ylabel("predicted focal deposit [GeV]")
        ax.set_title(name, fontsize="small")
        label(ax)
    return fig


@styled()
def plot_metric_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Figure:
    """The cell-metric table as a figure (numbers with three decimals)."""
    fig, ax = new_figure(size=(1.6 * (len(columns) + 1), 0.45 * (len(rows) + 2)))
    ax.axis("off")

    def fmt(v: Any) -> str:
        if v is None:
            return "n/a"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    text = [[fmt(r.get(c)) for c in columns] for r in rows]
    table = ax.table(cellText=text, colLabels=list(columns), loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    return fig

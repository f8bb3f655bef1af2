"""The headline figures of the demo's index page: jet-energy resolution against truth-jet
pT for every algorithm, and cell F1 / energy-weighted accuracy for every answer.

Inputs are plain numbers (the caller has already removed bins with too few jets, by
setting them to NaN): no physics here, only drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from numpy.typing import ArrayLike

from jetpointnet.plotting.style import LABEL, label, new_figure, styled

__all__ = ["plot_cell_scores", "plot_jet_resolution"]

_MARKERS = "osD^v<>px*"


@styled()
def plot_jet_resolution(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    edges: Sequence[float],
    *,
    ylabel: str = "jet energy resolution (q84 - q16) / 2 / median",
    extra: str = "",
) -> Figure:
    """One series per algorithm: ``curves[name] = (value, error)`` per truth-pT bin of
    ``edges`` (NaN: not shown). Points of different algorithms are offset a little in pT
    so their error bars do not hide each other."""
    lo = np.asarray(edges[:-1], dtype=float)
    hi = np.asarray(edges[1:], dtype=float)
    hi = np.where(np.isfinite(hi), hi, lo * 1.5)
    centre = np.sqrt(lo * hi)
    fig, ax = new_figure(size=(7.5, 5.2))
    n = max(len(curves), 1)
    for k, (name, (y, err)) in enumerate(curves.items()):
        shift = (hi / lo) ** (0.25 * ((k + 0.5) / n - 0.5))  # within the bin, log-spaced
        x = centre * shift
        ax.errorbar(x, y, yerr=err, xerr=[x - lo, hi - x], marker=_MARKERS[k % len(_MARKERS)],
                    linestyle="none", capsize=2, label=name, elinewidth=1)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(lo[0] * 0.95, hi[-1] * 1.05)
    ticks = sorted({*lo, *hi})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])  # the bin edges, no crowded minor labels
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("truth jet $p_T$ [GeV]")
    ax.set_ylabel(ylabel, fontsize="small")
    top = max((np.nanmax(np.asarray(y) + np.nan_to_num(err)) for y, err in curves.values()
               if np.isfinite(y).any()), default=1.0)  # fmt: skip
    ax.set_ylim(0.0, 1.45 * top)  # head room for the label and the legend
    if not any(np.isfinite(y).any() for y, _ in curves.values()):
        ax.text(0.5, 0.5, "no bin with enough matched jets", transform=ax.transAxes,
                ha="center", va="center", color="grey")  # fmt: skip
    label(ax, extra=extra)
    ax.legend(fontsize="x-small", loc="upper right", ncol=2 if len(curves) > 3 else 1)
    fig.tight_layout()
    return fig


@styled(hep=False)
def plot_cell_scores(
    scores: Mapping[str, Mapping[str, Mapping[str, tuple[float, float]]]],
) -> Figure:
    """``scores[sample][answer][metric] = (value, error)`` for the metrics ``f1`` and
    ``energy_weighted_accuracy``: one panel per metric, horizontal bars per answer,
    one colour per sample."""
    metrics = (("f1", "cell F1 (focal cells)"),
               ("energy_weighted_accuracy", "energy-weighted cell accuracy"))  # fmt: skip
    answers: list[str] = []
    for per in scores.values():
        answers += [a for a in per if a not in answers]
    height = 1.6 + 0.42 * len(answers) * max(len(scores), 1)
    fig, axes = new_figure(1, 2, size=(12.0, height), sharey=True)
    step = 0.8 / max(len(scores), 1)
    for ax, (key, title) in zip(axes, metrics, strict=True):
        for j, (sample, per) in enumerate(scores.items()):
            y = np.arange(len(answers)) + (j - (len(scores) - 1) / 2) * step
            v = [per.get(a, {}).get(key, (np.nan, np.nan)) for a in answers]
            ax.barh(y, [x[0] for x in v], height=step * 0.9, xerr=[x[1] for x in v],
                    capsize=2, label=sample)  # fmt: skip
        ax.set_yticks(np.arange(len(answers)), answers)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel(title)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # the first answer on top (the axes share y: once)
    fig.suptitle(LABEL, fontsize="medium", fontstyle="italic", fontweight="bold", x=0.01,
                 ha="left")  # fmt: skip
    axes[1].legend(title="test split", fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig

"""Jet response and resolution against truth-jet pT, one curve per algorithm.

Inputs are the rows of :func:`jetpointnet.jets.response.response_table` per algorithm
(plain dicts) and, for the distributions, the matched truth/reco arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from jetpointnet.plotting.style import label, new_figure, styled

__all__ = ["plot_jet_response", "plot_response_distributions"]

_MARKERS = "osD^v<>px*"


def _centres(rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([r["lo"] for r in rows], dtype=float)
    hi = np.array([r["hi"] for r in rows], dtype=float)
    hi = np.where(np.isfinite(hi), hi, lo * 1.5)
    return np.sqrt(lo * hi), np.stack([np.sqrt(lo * hi) - lo, hi - np.sqrt(lo * hi)])


@styled()
def plot_jet_response(
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    extra: str = "",
) -> Figure:
    """Median response and both resolutions of E and pT vs truth pT (2 x 3 panels)."""
    fig, axes = new_figure(2, 3, size=(16.0, 9.0))
    panels = [("median", "median response"), ("q68", "(q84 - q16) / 2 / median"),
              ("iqr", "IQR / median")]  # fmt: skip
    for row, qty in enumerate(("e", "pt")):
        for col, (key, name) in enumerate(panels):
            ax = axes[row, col]
            for k, (algo, rows) in enumerate(tables.items()):
                x, xerr = _centres(rows)
                y = np.array([r[qty][key] for r in rows], dtype=float)
                yerr = np.array([r[qty][f"{key}_err"] for r in rows], dtype=float)
                ceiling = algo.startswith("oracle")  # ceilings: open markers
                ax.errorbar(x, y, yerr=yerr, xerr=xerr, marker=_MARKERS[k % len(_MARKERS)],
                            mfc="none" if ceiling else None, linestyle="none", label=algo)  # fmt: skip
            ax.set_xscale("log")
            ax.set_xlabel("truth jet $p_T$ [GeV]")
            ax.set_ylabel(f"jet {'E' if qty == 'e' else '$p_T$'}: {name}")
            if key == "median":
                ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            else:
                ax.set_ylim(bottom=0.0)
            label(ax, extra=extra)
            ax.legend(fontsize="x-small", loc="upper right")
    fig.tight_layout()
    return fig


@styled()
def plot_response_distributions(
    matched: Mapping[str, np.ndarray],
    algorithms: Sequence[str],
    edges: Sequence[float],
    *,
    extra: str = "",
) -> Figure:
    """Histograms of the jet-energy response per truth-pT bin, one line per algorithm."""
    n_bins = len(edges) - 1
    fig, axes = new_figure(1, n_bins, size=(4.0 * n_bins, 4.0), squeeze=False)
    bins = np.linspace(0.0, 2.0, 41)
    algo = np.asarray(matched["algorithm"]).astype(str)
    with np.errstate(divide="ignore", invalid="ignore"):
        resp = np.asarray(matched["reco_energy"]) / np.asarray(matched["truth_energy"])
    tpt = np.asarray(matched["truth_pt"])
    legend = False
    for i in range(n_bins):
        ax = axes[0, i]
        lo, hi = edges[i], edges[i + 1]
        for a in algorithms:
            r = resp[(algo == a) & (tpt >= lo) & (tpt < hi) & np.isfinite(resp)]
            if len(r):
                ax.hist(np.clip(r, 0, 2), bins=bins, histtype="step", density=True, label=a)
        ax.set_xlabel(r"$E_{reco} / E_{truth}$")
        ax.set_title(f"{lo:g}-{hi:g} GeV" if np.isfinite(hi) else f"> {lo:g} GeV",
                     fontsize="small")  # fmt: skip
        if i == 0:
            label(ax, extra=extra)
        if not legend and ax.get_legend_handles_labels()[0]:  # bins without jets draw nothing
            ax.legend(fontsize="xx-small", loc="upper right")
            legend = True
    fig.tight_layout()
    return fig

"""Displaced-photon figures: the tagger's efficiency against the ALP decay's transverse distance.

Takes plain data as :mod:`jetpointnet.evaluation.photons` computes it and returns a
matplotlib ``Figure`` (:func:`jetpointnet.plotting.style.save_figure` writes it). The ROC
and score figures are those of :mod:`jetpointnet.plotting.tagging`. Lxy in mm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from jetpointnet.plotting.style import label, new_figure, styled

__all__ = ["efficiency_lxy_figure"]


@styled()
def efficiency_lxy_figure(
    by_lxy: Mapping[str, Mapping[str, Mapping[str, Any]]], *, extra: str = ""
):
    """Displaced efficiency against ``lxy``: ``by_lxy`` name -> working point -> ``{bins}``.

    One line per tagger and working point (solid: the highest working point, dashed: the next;
    names starting with ``cut:`` drawn with open markers), bins ``{lo, hi, eff, err}``.
    """
    fig, ax = new_figure(size=(9.5, 5.0))
    styles = ["-", "--", ":", "-."]
    for k, (name, points) in enumerate(by_lxy.items()):
        colour = f"C{k % 10}"
        for s, (wp, point) in enumerate(sorted(points.items(), key=lambda p: -float(p[0]))):
            bins = point["bins"]
            lo = np.array([b["lo"] for b in bins])
            hi = np.array([b["hi"] for b in bins])
            eff = np.array([b["eff"] for b in bins], dtype=np.float64)
            err = np.nan_to_num(np.array([b["err"] for b in bins], dtype=np.float64))
            ax.errorbar(0.5 * (lo + hi), eff, yerr=err, xerr=0.5 * (hi - lo), color=colour,
                        ls=styles[s % len(styles)], marker="o", ms=3,
                        mfc="none" if name.startswith("cut:") else colour,
                        label=f"{name} ({wp} % WP)")  # fmt: skip
    ax.set_xlabel(r"ALP decay $L_{xy}$ [mm]")
    ax.set_ylabel("displaced-photon efficiency")
    ax.set_ylim(0.0, 1.2)  # room for the label
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small")
    fig.subplots_adjust(right=0.68)
    label(ax, extra=extra)
    return fig

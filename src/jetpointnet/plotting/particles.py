"""Figures of the particle-level evaluation (:func:`jetpointnet.evaluation.particles.
particle_metrics`): efficiency and fake rate per class vs pT, neutral residuals.

Each function returns a matplotlib Figure; :func:`save_particle_figures` writes them with
:func:`jetpointnet.plotting.style.save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.plotting.style import label, new_figure, save_figure, styled

__all__ = ["efficiency_figure", "residuals_figure", "save_particle_figures"]


def _centres(bins: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([b["lo"] for b in bins])
    hi = np.array([b["hi"] for b in bins])
    hi = np.where(np.isfinite(hi), hi, 2 * np.maximum(lo, 1.0))
    v = np.array([np.nan if b["value"] is None else b["value"] for b in bins])
    return np.sqrt(np.maximum(lo, 0.5) * hi), v


@styled()
def efficiency_figure(metrics: dict[str, Any]):
    """Two panels: efficiency (per target class) and fake rate (per predicted class) vs pT."""
    fig, axes = new_figure(1, 2, size=(11.0, 4.2))
    for ax, key, title in ((axes[0], "efficiency", "efficiency"),
                           (axes[1], "fake_rate", "fake rate")):  # fmt: skip
        for cls, entry in metrics[key].items():
            if entry["n"] == 0:
                continue
            x, v = _centres(entry["bins"])
            ax.plot(x, v, marker="o", label=f"{cls} ({entry['n']})")
        ax.set_xscale("log")
        ax.set_ylim(0.0, 1.15)
        ax.set_xlabel("$p_T$ [GeV] (target for efficiency, predicted for fakes)")
        ax.set_ylabel(title)
        if ax.get_legend_handles_labels()[0]:  # no class with particles: nothing to list
            ax.legend(fontsize="x-small", loc="lower right")
        label(ax, extra=f"match cost < {metrics['threshold']}")
    return fig


@styled()
def residuals_figure(metrics: dict[str, Any]):
    """Median and IQR of the E, eta, phi residuals of matched photons and neutral hadrons."""
    fig, axes = new_figure(1, 3, size=(13.0, 4.0))
    classes = list(metrics["residuals"])
    for ax, var in zip(axes, ("E", "eta", "phi"), strict=True):
        res = [metrics["residuals"][c][var] for c in classes]
        med = np.array([np.nan if r["median"] is None else r["median"] for r in res])
        iqr = np.array([np.nan if r["iqr"] is None else r["iqr"] for r in res])
        ax.errorbar(np.arange(len(classes)), med, yerr=iqr / 2, fmt="o", capsize=4)
        ax.set_xticks(np.arange(len(classes)), classes)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_ylabel({"E": "$E/E_t - 1$", "eta": r"$\Delta\eta$", "phi": r"$\Delta\phi$"}[var]
                      + " (median, IQR)")  # fmt: skip
    return fig


def save_particle_figures(metrics: dict[str, Any], out: str | os.PathLike[str]) -> list[str]:
    """Write both figures (PNG) into ``out``; return their file names."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for stem, fn in (("particles_efficiency", efficiency_figure),
                     ("particles_residuals", residuals_figure)):  # fmt: skip
        save_figure(fn(metrics), out / stem, pdf=False)
        names.append(f"{stem}.png")
    return names

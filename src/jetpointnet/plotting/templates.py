"""Particle-flow template figures: measured <E/p> against eflowRec, and ring profiles.

Takes a :class:`jetpointnet.evaluation.pflow.templates.Templates`; energies in GeV.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from jetpointnet.plotting.style import label, new_figure, save_figure, styled

__all__ = [
    "eop_templates_figure",
    "plot_eop_templates",
    "plot_ring_profiles",
    "ring_profiles_figure",
]


@styled()
def eop_templates_figure(templates, reference: dict, *, eta_bin: int = 0) -> Figure:
    """<E/p> (error bar: sigma) vs track energy per LHED category in one |eta| bin,
    with the eflowRec reference values (``{(category, E): (mean, sigma)}``) as open marks."""
    fig, ax = new_figure(size=(7.5, 5.5))
    nodes = np.asarray(templates.energy_nodes, dtype=float)
    colors = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for k, cat in enumerate(templates.categories):
        n = templates.count[:, eta_bin, k]
        ok = n >= templates.min_count
        if ok.any():
            ax.errorbar(
                nodes[ok] * (1 + 0.02 * k),
                templates.mean[ok, eta_bin, k],
                yerr=templates.sigma[ok, eta_bin, k],
                marker="o",
                ls="-",
                color=colors[k % 6],
                label=f"ours, LHED {cat}",
            )
        refs = sorted((e, v) for (c, e), v in reference.items() if c == cat)
        if refs:
            ax.errorbar(
                [e * (1 - 0.02 * k) for e, _ in refs],
                [v[0] for _, v in refs],
                yerr=[v[1] for _, v in refs],
                marker="s",
                mfc="none",
                ls=":",
                color=colors[k % 6],
                label=f"eflowRec, LHED {cat}",
            )
    lo, hi = templates.eta_edges[eta_bin], templates.eta_edges[eta_bin + 1]
    ax.set_xscale("log")
    ax.set_xlabel("track energy [GeV]")
    ax.set_ylabel(r"$\langle E_{\mathrm{clusters}}/p \rangle$ (EM scale)")
    ax.set_ylim(0, 1.4)
    label(ax, extra=rf"single $\pi^\pm$, {lo:g} < $|\eta|$ < {hi:g}")
    ax.legend(fontsize="xx-small", ncol=2, loc="upper right")
    return fig


@styled()
def ring_profiles_figure(templates, *, category: str = "all") -> Figure:
    """Fitted ring profiles (fraction of p per unit eta-phi area) per layer group."""
    fig, ax = new_figure(size=(7.5, 5.5))
    r = np.linspace(0.0, 0.3, 200)
    shown = 0
    for group in templates.profiles.get(category, {}):
        ax.plot(r, templates.profile(category, group, r), label=group)
        shown += 1
    ax.set_yscale("log")
    ax.set_xlabel(r"$\Delta R$ to the track in the layer")
    ax.set_ylabel("expected energy density / p")
    label(ax, extra=f"ring profiles, LHED {category}")
    if shown:
        ax.legend(fontsize="x-small", ncol=2)
    return fig


def plot_eop_templates(
    templates, reference: dict, stem: str | os.PathLike[str], *, eta_bin: int = 0, pdf: bool = True
) -> list[Path]:
    """Write :func:`eop_templates_figure` to ``stem.png`` (and ``.pdf``); the paths."""
    return save_figure(eop_templates_figure(templates, reference, eta_bin=eta_bin), stem, pdf=pdf)


def plot_ring_profiles(
    templates, stem: str | os.PathLike[str], *, category: str = "all", pdf: bool = True
) -> list[Path]:
    """Write :func:`ring_profiles_figure` to ``stem.png`` (and ``.pdf``); the paths."""
    return save_figure(ring_profiles_figure(templates, category=category), stem, pdf=pdf)

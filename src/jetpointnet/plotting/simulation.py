"""Figures of the simulation validation: event maps, resolution, response, pion E/p."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from jetpointnet.plotting.style import label, new_figure, styled
from jetpointnet.simulate.validation import EFLOWREC_EOP, ResolutionFit, em_design_resolution

__all__ = ["plot_event_map", "plot_layer_energy", "plot_photon_resolution", "plot_pion_eop"]


@styled(hep=False)
def plot_event_map(
    cells: dict[str, np.ndarray],
    tracks: dict[str, np.ndarray],
    layer_names: dict[int, str],
    *,
    title: str,
) -> Figure:
    """Clustered cells of one event in eta-phi: all layers, and EMB2/EME2 alone.

    ``cells``: eta, phi, E (GeV), sampling; ``tracks``: eta, phi at EMB2/EME2 and pt.
    """
    import matplotlib.colors as mcolors

    fig, axes = new_figure(1, 2, size=(13, 5.2))
    pos = cells["E"] > 0
    norm = mcolors.LogNorm(vmin=max(1e-2, float(np.min(cells["E"][pos], initial=1e-2))),
                           vmax=max(1e-1, float(np.max(cells["E"], initial=1.0))))  # fmt: skip
    for ax, sel, what in (
        (axes[0], pos, "all layers"),
        (axes[1], pos & np.isin(cells["sampling"], (2, 6)), f"{layer_names[2]} + {layer_names[6]}"),
    ):
        sc = ax.scatter(cells["eta"][sel], cells["phi"][sel], c=cells["E"][sel], s=6, norm=norm, cmap="viridis",
                        marker="s", linewidths=0)  # fmt: skip
        ok = tracks["eta"] > -1e5
        ax.scatter(
            tracks["eta"][ok],
            tracks["phi"][ok],
            s=40,
            facecolors="none",
            edgecolors="red",
            label="tracks at EM2",
        )
        ax.set_xlabel(r"$\eta$")
        ax.set_ylabel(r"$\phi$")
        ax.set_xlim(-3.3, 3.3)
        ax.set_ylim(-np.pi, np.pi)
        ax.set_title(f"{title}: {what}", fontsize=11)
        ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(sc, ax=axes, label="cell energy [GeV, EM scale]")
    label(axes[0])
    return fig


@styled()
def plot_photon_resolution(points: Sequence[dict], fit: ResolutionFit) -> Figure:
    """sigma/E and response of single photons vs energy, with the ATLAS design curve."""
    fig, (ax, ax2) = new_figure(1, 2, size=(13, 5))
    e = np.array([p["energy"] for p in points])
    r = np.array([p["resolution"] for p in points])
    err = np.array([p["error"] for p in points])
    grid = np.geomspace(e.min() * 0.8, e.max() * 1.2, 100)
    ax.errorbar(
        e,
        r,
        yerr=err,
        fmt="o",
        color="black",
        label="jetpointnet simulation (clusters, with noise)",
    )
    ax.plot(grid, fit(grid), "k-", lw=1,
            label=f"fit: {fit.stochastic:.1%}/√E (+) {fit.noise:.2f} GeV/E (+) {fit.constant:.2%}")  # fmt: skip
    ax.plot(grid, fit(grid, with_noise=False), "k--", lw=1, label="fit without the noise term")
    ax.plot(
        grid,
        em_design_resolution(grid),
        "r-",
        lw=1.5,
        label="ATLAS EM design 10%/√E (+) 0.7%",
    )
    ax.fill_between(grid, 0.8 * em_design_resolution(grid), 1.2 * em_design_resolution(grid), color="red",
                    alpha=0.15, label="$\\pm$20 %")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(e.min() * 0.7, e.max() * 1.4)
    ax.set_xlabel("photon energy [GeV]")
    ax.set_ylabel(r"$\sigma_E / E$ (half 16-84 % range)")
    ax.legend(fontsize=8)
    ax2.errorbar(e, [p["response"] for p in points], fmt="o", color="black")
    ax2.axhline(1.0, color="grey", lw=1)
    ax2.set_xscale("log")
    ax2.set_xlim(e.min() * 0.7, e.max() * 1.4)
    ax2.set_ylim(0.9, 1.05)
    ax2.set_xlabel("photon energy [GeV]")
    ax2.set_ylabel("median E(clusters, $\\Delta R$<0.2) / E")
    label(ax)
    return fig


@styled()
def plot_pion_eop(points: Sequence[dict]) -> Figure:
    """<E/p> of single charged pions vs momentum against the eflowRec templates."""
    fig, ax = new_figure(size=(7, 5))
    p = np.array([q["p"] for q in points])
    ax.errorbar(p, [q["mean"] for q in points], yerr=[q["error"] for q in points], fmt="o", color="black",
                label="jetpointnet simulation, $|\\eta|$ < 0.5")  # fmt: skip
    markers = {"EMB1": "v", "EMB2": "s", "EMB3": "^", "Tile": "D"}
    seen = set()
    for energy, table in EFLOWREC_EOP.items():
        for lhed, (mean, _sigma) in table.items():
            name = f"eflowRec template, LHED {lhed}"
            ax.plot(
                [energy],
                [mean],
                markers[lhed],
                color="tab:red",
                alpha=0.7,
                label=None if name in seen else name,
            )
            seen.add(name)
    ax.set_xscale("log")
    ax.set_xlim(0.7, 70)
    ax.set_xlabel("track momentum [GeV]")
    ax.set_ylabel(r"$\langle E_{clusters}/p \rangle$ ($\Delta R$ < 0.2, EM scale)")
    ax.set_ylim(0.0, 1.1)
    ax.legend(fontsize=8)
    label(ax)
    return fig


@styled()
def plot_layer_energy(fractions: dict[str, dict[str, float]]) -> Figure:
    """Mean share of the clustered energy per layer, for each sample."""
    fig, ax = new_figure(size=(10, 5))
    layers = list(dict.fromkeys(k for f in fractions.values() for k in f))
    x = np.arange(len(layers))
    width = 0.8 / max(len(fractions), 1)
    for i, (name, f) in enumerate(fractions.items()):
        ax.bar(x + i * width, [f.get(layer, 0.0) for layer in layers], width=width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, layers, rotation=45, ha="right")
    ax.set_ylabel("share of clustered energy")
    ax.legend(fontsize=8)
    label(ax)
    return fig

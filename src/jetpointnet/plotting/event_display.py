"""Event displays of one sample: eta-phi per layer and a 3-D view, true vs predicted.

A display takes a plain dict (built by ``jetpointnet.evaluation.display``):

- ``cells``: ``eta``, ``phi``, ``deta``, ``dphi``, ``x``, ``y``, ``z`` (mm), ``layer``
  (CaloSampling number), ``energy``, ``true``, ``pred`` (GeV; true and predicted focal
  energy);
- ``tracks``: a list of dicts with ``name``, ``focused`` (bool), ``layer_eta``,
  ``layer_phi``, ``layer_x``, ``layer_y``, ``layer_z`` (NaN where missing);
- ``title``: a line of text.

Cells are drawn as their eta-phi rectangles coloured by energy (log scale, common to
both columns); tracks as lines through their layer points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from jetpointnet.io.mltree_layout import SAMPLING_NAME
from jetpointnet.plotting.style import LABEL, new_figure, styled

__all__ = ["plot_event_3d", "plot_event_layers"]


def _limits(cells: dict[str, np.ndarray]) -> tuple[float, float]:
    """(vmin, vmax) in GeV of the log colour scale of the true and predicted energies."""
    vals = np.r_[cells["true"], cells["pred"]]
    vals = vals[vals > 0]
    hi = float(vals.max()) if vals.size else 1.0
    return max(hi * 1e-3, 1e-4), hi


def _fixed_grid(height: float) -> dict[str, float]:
    """Subplot parameters of the layer display, ``height`` inches tall and 10 wide: margins
    in inches (labels, titles, suptitle, colour bar) as fractions of the figure."""
    return {"left": 0.07, "right": 0.85, "top": 1 - 0.6 / height, "bottom": 0.5 / height,
            "wspace": 0.22, "hspace": 0.95 / 3.2}  # fmt: skip


@styled(hep=False)
def plot_event_layers(display: dict[str, Any], *, max_layers: int = 8) -> Figure:
    """Rows: the layers with most energy; columns: true and predicted focal energy."""
    cells = {k: np.asarray(v) for k, v in display["cells"].items()}
    layers, _counts = np.unique(cells["layer"], return_counts=True)
    e_layer = np.array([np.abs(cells["energy"][cells["layer"] == lay]).sum() for lay in layers])
    layers = np.sort(layers[np.argsort(-e_layer)[:max_layers]])
    nrows = max(len(layers), 1)
    # a fixed layout, in inches, with room for the panel titles, axis labels and colour
    # bar: constrained layout would look the same and cost four times the drawing
    height = 3.2 * nrows
    fig, axes = new_figure(nrows, 2, size=(10, height), squeeze=False,
                           gridspec_kw=_fixed_grid(height))  # fmt: skip
    vmin, vmax = _limits(cells)
    norm = LogNorm(vmin=vmin, vmax=vmax)
    mappable = None
    for row, lay in enumerate(layers):
        sel = cells["layer"] == lay
        for col, key in enumerate(("true", "pred")):
            ax = axes[row, col]
            rects = [
                Rectangle((e - de / 2, p - dp / 2), de, dp)
                for e, p, de, dp in zip(
                    cells["eta"][sel],
                    cells["phi"][sel],
                    cells["deta"][sel],
                    cells["dphi"][sel],
                    strict=True,
                )
            ]
            vals = np.maximum(cells[key][sel], vmin * 0.5)
            pc = PatchCollection(
                rects, cmap="viridis", norm=norm, edgecolor="lightgrey", linewidth=0.3
            )
            pc.set_array(vals)
            ax.add_collection(pc)
            mappable = pc
            for trk in display.get("tracks", []):
                eta, phi = np.asarray(trk["layer_eta"]), np.asarray(trk["layer_phi"])
                ok = np.isfinite(eta) & np.isfinite(phi)
                ax.plot(
                    eta[ok],
                    phi[ok],
                    ls="--" if trk["focused"] else ":",
                    color="red" if trk["focused"] else "orange",
                    marker="x",
                    ms=4,
                    lw=1,
                )
            if sel.any():
                pad = 0.05
                ax.set_xlim(cells["eta"][sel].min() - pad, cells["eta"][sel].max() + pad)
                ax.set_ylim(cells["phi"][sel].min() - pad, cells["phi"][sel].max() + pad)
            ax.set_xlabel(r"$\eta$", fontsize="small")
            ax.set_ylabel(r"$\phi$", fontsize="small")
            what = "true" if key == "true" else "predicted"
            ax.set_title(
                f"{SAMPLING_NAME.get(int(lay), lay)}: {what} focal energy", fontsize="small"
            )
    if mappable is not None:
        grid = _fixed_grid(height)
        mid, span = (grid["top"] + grid["bottom"]) / 2, 0.6 * (grid["top"] - grid["bottom"])
        cax = fig.add_axes((grid["right"] + 0.02, mid - span / 2, 0.018, span), label="<colorbar>")
        fig.colorbar(mappable, cax=cax, label="focal energy per cell [GeV]")
    title = display.get("title", "")
    fig.suptitle(f"{LABEL}: {title}" if title else LABEL, fontsize="small",
                 fontstyle="italic", x=0.02, y=1 - 0.12 / height, ha="left", va="top")  # fmt: skip
    return fig


@styled(hep=False)
def plot_event_3d(display: dict[str, Any]) -> Figure:
    """Cells at their (x, y, z) positions (mm), true vs predicted focal energy."""
    cells = {k: np.asarray(v) for k, v in display["cells"].items()}
    fig, _ = new_figure(size=(13, 6))
    fig.clf()
    vmin, vmax = _limits(cells)
    norm = LogNorm(vmin=vmin, vmax=vmax)
    for i, key in enumerate(("true", "pred")):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        vals = np.maximum(cells[key], vmin * 0.5)
        size = 4 + 60 * np.sqrt(np.clip(cells[key], 0, None) / max(vmax, 1e-9))
        sc = ax.scatter(
            cells["z"], cells["x"], cells["y"], c=vals, cmap="viridis", norm=norm, s=size, alpha=0.8
        )
        for trk in display.get("tracks", []):
            x, y, z = (np.asarray(trk[k]) for k in ("layer_x", "layer_y", "layer_z"))
            ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
            ax.plot(z[ok], x[ok], y[ok], color="red" if trk["focused"] else "orange", lw=1.2)
        ax.set_xlabel("z [mm]", fontsize="x-small")
        ax.set_ylabel("x [mm]", fontsize="x-small")
        ax.set_zlabel("y [mm]", fontsize="x-small")
        ax.tick_params(labelsize=6)
        ax.set_title(("true" if key == "true" else "predicted") + " focal energy", fontsize="small")
    fig.colorbar(sc, ax=fig.axes, label="focal energy per cell [GeV]", shrink=0.6)
    fig.text(0.02, 0.96, "jetpointnet simulation", fontstyle="italic", fontweight="bold")
    fig.text(0.02, 0.92, display.get("title", ""), fontsize="x-small")
    return fig

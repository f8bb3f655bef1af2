"""Figure style and saving: mplhep's ATLAS-like look, labelled "jetpointnet simulation".

Importing this module selects matplotlib's non-interactive Agg backend. Figures are
written as PNG (for the report) and PDF (for slides), each atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mplhep

from jetpointnet.io.atomic import atomic_output

__all__ = ["LABEL", "label", "new_figure", "save"]

LABEL = "jetpointnet simulation"


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    size: tuple[float, float] | None = None,
    hep: bool = True,
    **kwargs,
):
    """A figure and its axes in the project style (``plt.subplots`` arguments).

    ``hep=False`` uses matplotlib's default style: much faster to draw for figures with
    many panels (event displays), where mplhep's dense minor ticks dominate the time.
    """
    plt.style.use(mplhep.style.ATLAS if hep else "default")
    plt.rcParams["figure.max_open_warning"] = 0
    w, h = size or (6.4 * ncols, 4.8 * nrows)
    return plt.subplots(nrows, ncols, figsize=(w, h), **kwargs)


def label(ax, text: str = LABEL, *, extra: str = "") -> None:
    """Write the project label (and an optional second line) in the top-left corner."""
    ax.text(
        0.03,
        0.96,
        text,
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize="small",
        fontstyle="italic",
        fontweight="bold",
    )
    if extra:
        ax.text(0.03, 0.88, extra, transform=ax.transAxes, ha="left", va="top", fontsize="x-small")


def save(
    fig, stem: str | os.PathLike[str], *, pdf: bool = True, overwrite: bool = True
) -> list[Path]:
    """Write ``stem.png`` (and ``stem.pdf``); close the figure; return the paths."""
    stem = Path(stem)
    out = []
    for ext in (".png", ".pdf") if pdf else (".png",):
        final = stem.with_suffix(ext)
        with atomic_output(final, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=110 if ext == ".png" else None, bbox_inches="tight")
        out.append(final)
    plt.close(fig)
    return out

"""Figure style and saving: mplhep's ATLAS-like look, labelled "jetpointnet simulation".

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so nothing
here touches matplotlib's global state: no backend is selected (a PNG or PDF is written
by its own canvas, headless) and the style applies only inside :func:`figure_style`.
A drawing function is wrapped in :func:`styled`, which draws it inside the style and
remembers the style for :func:`save_figure`, the one place figures become files (PNG for
the reports, PDF for slides, each atomically).
"""

from __future__ import annotations

import contextlib
import functools
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import matplotlib.style
import mplhep
from matplotlib.figure import Figure

from jetpointnet.io.atomic import atomic_output

__all__ = ["LABEL", "figure_style", "label", "new_figure", "save_figure", "styled"]

LABEL = "jetpointnet simulation"

_F = TypeVar("_F", bound=Callable[..., Figure])
#: the style each figure of :func:`styled` was drawn in (``hep``), for saving it alike
_STYLE_OF: weakref.WeakKeyDictionary[Figure, bool] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def figure_style(*, hep: bool = True) -> Iterator[None]:
    """matplotlib's defaults, with mplhep's ATLAS style on top when ``hep``, inside only.

    ``hep=False`` keeps matplotlib's default style: much faster to draw for figures with
    many panels (event displays), where mplhep's dense minor ticks dominate the time.
    """
    with matplotlib.style.context(["default", mplhep.style.ATLAS] if hep else "default"):
        yield


def styled(*, hep: bool = True) -> Callable[[_F], _F]:
    """Decorate a function that returns a :class:`Figure`: draw it in :func:`figure_style`."""

    def wrap(draw: _F) -> _F:
        @functools.wraps(draw)
        def drawn(*args: Any, **kwargs: Any) -> Figure:
            with figure_style(hep=hep):
                fig = draw(*args, **kwargs)
            _STYLE_OF[fig] = hep
            return fig

        return drawn  # type: ignore[return-value]

    return wrap


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    size: tuple[float, float] | None = None,
    **kwargs: Any,
) -> tuple[Figure, Any]:
    """A figure (inches ``size``, default 6.4 x 4.8 per panel) and its axes.

    ``kwargs`` go to :meth:`Figure.subplots` (``squeeze``, ``sharey``) except ``layout``,
    which goes to the figure. Call it inside :func:`styled` or :func:`figure_style`.
    """
    w, h = size or (6.4 * ncols, 4.8 * nrows)
    fig = Figure(figsize=(w, h), layout=kwargs.pop("layout", None))
    return fig, fig.subplots(nrows, ncols, **kwargs)


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


def save_figure(
    fig: Figure,
    stem: str | os.PathLike[str],
    *,
    pdf: bool = True,
    overwrite: bool = True,
    tight: bool = True,
) -> list[Path]:
    """Write ``stem.png`` (110 dpi) and, with ``pdf``, ``stem.pdf``, each atomically, in the
    style the figure was drawn in; return the paths.

    ``tight`` crops to the drawn artists (``bbox_inches="tight"``); a figure laid out in
    fixed inches needs no cropping. The figure is laid out and measured once for both
    files (matplotlib alone would do it per file), then its artists are released
    (``fig.clear()``): a saved figure is done with.
    """
    stem = Path(stem)
    out = []
    with figure_style(hep=_STYLE_OF.get(fig, True)):
        bbox = None
        if tight or fig.get_layout_engine() is not None:
            fig.draw_without_rendering()  # runs the layout engine, places ticks and titles
        if tight:
            bbox = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        fig.set_layout_engine("none")  # laid out above: each file keeps those positions
        for ext in (".png", ".pdf") if pdf else (".png",):
            final = stem.with_suffix(ext)
            with atomic_output(final, overwrite=overwrite) as tmp:
                fig.savefig(tmp, dpi=110 if ext == ".png" else None, bbox_inches=bbox)
            out.append(final)
    fig.clear()
    return out

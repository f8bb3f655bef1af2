"""Interactive event display of one sample: one offline HTML file drawn with Plotly.

The page shows the true focal energy of each cell (left) next to the predicted one (right)
on one logarithmic colour scale with one colour bar:

- top: the eta-phi view of one calorimeter layer (chosen in the menu, or all layers
  overlaid), every cell drawn as its eta x phi rectangle;
- bottom: a 3-D view (x, y, z in mm) that rotates with the mouse, marker size growing
  with the energy.

Hovering a cell (near its centre in the eta-phi view) reads out its id, layer, energy, true
focal and predicted energy. Tracks are drawn through their per-layer extrapolation points
(focused: red, others: orange).
Cells below 1/1000 of the largest value are grey. plotly.js (about 4.6 MB) is embedded in
the file by default, so it opens offline in any browser; ``plotlyjs="directory"`` writes
one ``plotly.min.js`` beside the pages instead. Input: the display dict of
:mod:`jetpointnet.evaluation.display` (energies in GeV, positions in mm).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jetpointnet.errors import require_extra
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.mltree_layout import SAMPLING_NAME

__all__ = ["display_figure", "html_display", "write_html_display"]

_SCALE = "Viridis"
_GREY = "rgb(225,225,225)"
_TRACK_COLOUR = {True: "red", False: "darkorange"}
_PANELS = (("true", "true focal energy"), ("pred", "predicted focal energy"))


def _plotly():
    what = "the interactive display needs Plotly"  # the extra is optional
    go = require_extra("plotly.graph_objects", "display", what=what)
    subplots = require_extra("plotly.subplots", "display", what=what)
    return go, subplots.make_subplots


def _n(col: int) -> str:
    """Plotly's axis suffix of subplot column ``col`` ('' for the first)."""
    return "" if col == 1 else str(col)


def _layer_name(layer: int) -> str:
    return SAMPLING_NAME.get(int(layer), str(int(layer)))


def _hover(cells: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    n = len(cells["energy"])
    ids = cells.get("id")
    ids = np.asarray(ids, dtype=np.int64) if ids is not None else np.full(n, -1)
    names = np.array([_layer_name(x) for x in cells["layer"]], dtype=object)
    custom = np.stack([ids, names, cells["energy"], cells["true"], cells["pred"]], axis=1).astype(
        object
    )
    template = (
        "cell %{customdata[0]}<br>layer %{customdata[1]}<br>E = %{customdata[2]:.3f} GeV"
        "<br>true focal = %{customdata[3]:.3f} GeV<br>predicted = %{customdata[4]:.3f} GeV"
        "<extra></extra>"
    )
    return custom, template


def _scale(cells: dict[str, np.ndarray]) -> tuple[float, float]:
    """log10 of the colour-scale ends: the largest true or predicted value and 1/1000 of it."""
    vmax = max(float(np.nanmax(cells["true"], initial=0.0)),
               float(np.nanmax(cells["pred"], initial=0.0)), 1e-6)  # fmt: skip
    return np.log10(vmax) - 3.0, np.log10(vmax)


def _rect_shapes(cells, sel: np.ndarray, key: str, axis: str, lo: float, hi: float) -> list:
    """One filled rectangle per selected cell, coloured like its marker."""
    from plotly.colors import sample_colorscale

    v = np.asarray(cells[key], dtype=np.float64)[sel]
    shown = v > 10.0**lo
    t = np.clip((np.log10(np.where(shown, v, 10.0**lo)) - lo) / (hi - lo), 0.0, 1.0)
    colours = sample_colorscale(_SCALE, list(t))
    e, p = cells["eta"][sel], cells["phi"][sel]
    de, dp = cells["deta"][sel] / 2, cells["dphi"][sel] / 2
    return [
        {"type": "rect", "xref": f"x{axis}", "yref": f"y{axis}", "layer": "below",
         "x0": float(e[i] - de[i]), "x1": float(e[i] + de[i]),
         "y0": float(p[i] - dp[i]), "y1": float(p[i] + dp[i]),
         "fillcolor": colours[i] if shown[i] else _GREY, "line": {"width": 0.5, "color": "#999"}}
        for i in range(len(v))
    ]  # fmt: skip


def _colour_values(v: np.ndarray, lo: float) -> tuple[np.ndarray, np.ndarray]:
    shown = v > 10.0**lo
    return shown, np.log10(np.where(shown, v, 10.0**lo))


def _eta_phi_traces(go, cells, sel, key, col, lo, hover):
    custom, template = hover
    v = np.asarray(cells[key], dtype=np.float64)[sel]
    shown, c = _colour_values(v, lo)
    out = []
    for part, colour in ((shown, None), (~shown, _GREY)):
        # transparent: the rectangles show the colour, the marker only catches the hover
        marker = {"size": 10, "symbol": "square", "opacity": 0.0}
        if colour is None:
            marker |= {"color": c[part], "coloraxis": "coloraxis"}
        else:
            marker |= {"color": colour}
        out.append(go.Scatter(
            x=cells["eta"][sel][part], y=cells["phi"][sel][part], mode="markers", marker=marker,
            customdata=custom[sel][part], hovertemplate=template, showlegend=False,
            xaxis=f"x{_n(col)}", yaxis=f"y{_n(col)}",
        ))  # fmt: skip
    return out


def _track_traces(go, tracks, *, three_d: bool, col: int, legend: bool) -> list:
    out = []
    for t in tracks:
        style = {"color": _TRACK_COLOUR[bool(t.get("focused"))], "width": 3 if three_d else 2}
        name = f"{t.get('name', 'track')} ({'focused' if t.get('focused') else 'other'})"
        common = {"mode": "lines+markers", "name": name, "legendgroup": name,
                  "showlegend": legend, "hoverinfo": "name"}  # fmt: skip
        if three_d:
            ok = np.isfinite(t["layer_x"]) & np.isfinite(t["layer_y"]) & np.isfinite(t["layer_z"])
            out.append(go.Scatter3d(x=t["layer_x"][ok], y=t["layer_y"][ok], z=t["layer_z"][ok],
                                    line=style, marker={"size": 2}, scene=f"scene{_n(col)}",
                                    **common))  # fmt: skip
        else:
            ok = np.isfinite(t["layer_eta"]) & np.isfinite(t["layer_phi"])
            out.append(go.Scatter(x=t["layer_eta"][ok], y=t["layer_phi"][ok], xaxis=f"x{_n(col)}",
                                  yaxis=f"y{_n(col)}", line=style | {"dash": "dash"},
                                  marker={"size": 4}, **common))  # fmt: skip
    return out


def _three_d_traces(go, cells, key, col, lo, hover):
    custom, template = hover
    v = np.asarray(cells[key], dtype=np.float64)
    shown, c = _colour_values(v, lo)
    size = 3.0 + 12.0 * np.sqrt(np.clip(v, 0.0, None) / max(10.0 ** (lo + 3.0), 1e-12))
    out = []
    for part, colour in ((shown, None), (~shown, _GREY)):
        marker = {"size": size[part] if colour is None else 2.5, "opacity": 0.9}
        marker |= (
            {"color": c[part], "coloraxis": "coloraxis"} if colour is None else {"color": colour}
        )
        out.append(go.Scatter3d(
            x=cells["x"][part], y=cells["y"][part], z=cells["z"][part], mode="markers",
            marker=marker, customdata=custom[part], hovertemplate=template, showlegend=False,
            scene=f"scene{_n(col)}",
        ))  # fmt: skip
    return out


def display_figure(display: dict[str, Any]):
    """The :class:`plotly.graph_objects.Figure` of a display dict."""
    go, make_subplots = _plotly()
    cells = {k: np.asarray(v) for k, v in display["cells"].items()}
    tracks = [{k: (np.asarray(v, dtype=np.float64) if k.startswith("layer_") else v)
               for k, v in t.items()} for t in display.get("tracks", [])]  # fmt: skip
    lo, hi = _scale(cells)
    hover = _hover(cells)
    fig = make_subplots(
        rows=2, cols=2, specs=[[{"type": "xy"}, {"type": "xy"}], [{"type": "scene"}] * 2],
        subplot_titles=[f"{t}: eta-phi" for _, t in _PANELS] + [f"{t}: 3-D" for _, t in _PANELS],
        row_heights=[0.5, 0.5], vertical_spacing=0.1, horizontal_spacing=0.08,
    )  # fmt: skip
    layers = sorted({int(x) for x in cells["layer"]})
    groups: list[tuple[str, np.ndarray]] = [("all layers", np.ones(len(cells["layer"]), bool))]
    groups += [(_layer_name(la), cells["layer"] == la) for la in layers]
    start = (
        1 + int(np.argmax([np.nansum(cells["true"][m]) for _, m in groups[1:]])) if layers else 0
    )
    owner: list[int] = []  # which layer group each 2-D cell trace belongs to
    for g, (_, sel) in enumerate(groups):
        for col, (key, _) in enumerate(_PANELS, start=1):
            for tr in _eta_phi_traces(go, cells, sel, key, col, lo, hover):
                tr.visible = g == start
                fig.add_trace(tr)
                owner.append(g)
    n_cells_traces = len(owner)
    for col, (key, _) in enumerate(_PANELS, start=1):
        for tr in _track_traces(go, tracks, three_d=False, col=col, legend=col == 1):
            fig.add_trace(tr)
        for tr in _three_d_traces(go, cells, key, col, lo, hover):
            fig.add_trace(tr)
        for tr in _track_traces(go, tracks, three_d=True, col=col, legend=False):
            fig.add_trace(tr)
    n_rest = len(fig.data) - n_cells_traces
    shapes = {g: [s for col, (key, _) in enumerate(_PANELS, start=1)
                  for s in _rect_shapes(cells, sel, key, _n(col), lo, hi)]
              for g, (_, sel) in enumerate(groups)}  # fmt: skip
    buttons = [
        {"label": name, "method": "update",
         "args": [{"visible": [o == g for o in owner] + [True] * n_rest}, {"shapes": shapes[g]}]}
        for g, (name, _) in enumerate(groups)
    ]  # fmt: skip
    ticks = np.arange(np.ceil(lo), np.floor(hi) + 1)
    fig.update_layout(
        title={"text": display.get("title", "event display"), "x": 0.01},
        height=1050, width=1250, shapes=shapes[start], template="plotly_white",
        coloraxis={"colorscale": _SCALE, "cmin": lo, "cmax": hi,
                   "colorbar": {"title": {"text": "energy [GeV]"}, "tickvals": list(ticks),
                                "ticktext": [f"{10.0**t:g}" for t in ticks], "len": 0.9}},
        updatemenus=[{"buttons": buttons, "active": start, "x": 1.0, "xanchor": "right",
                      "y": 1.06, "yanchor": "bottom", "direction": "down"}],
        legend={"orientation": "h", "y": -0.04, "x": 0.0},
        margin={"l": 60, "r": 40, "t": 110, "b": 70},
    )  # fmt: skip
    fig.update_xaxes(title_text="eta", showgrid=False, row=1)
    fig.update_yaxes(title_text="phi", showgrid=False, row=1)
    fig.update_xaxes(matches="x", row=1, col=2)
    fig.update_yaxes(matches="y", row=1, col=2)
    axes = {"xaxis_title": "x [mm]", "yaxis_title": "y [mm]", "zaxis_title": "z [mm]",
            "aspectmode": "cube"}  # fmt: skip
    fig.update_layout(scene=axes, scene2=axes)
    return fig


def html_display(
    display: dict[str, Any], *, plotlyjs: Literal["inline", "directory"] = "inline"
) -> str:
    """The page as a string; plotly.js embedded (``inline``) or in ``plotly.min.js`` beside
    the page (``directory``). The page loads nothing from the network."""
    fig = display_figure(display)
    include: bool | str = True if plotlyjs == "inline" else "directory"
    page = fig.to_html(
        include_plotlyjs=include, full_html=True, div_id="event-display",
        config={"displaylogo": False, "responsive": True},
    )  # fmt: skip
    title = html.escape(display.get("title") or "event display")
    return page.replace("<head>", f"<head>\n    <title>{title}</title>", 1)


def write_html_display(
    display: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    plotlyjs: Literal["inline", "directory"] = "inline",
) -> Path:
    """Write the interactive display to ``path`` (atomically); with ``plotlyjs="directory"``
    also ``plotly.min.js`` beside it (once)."""
    path = Path(path)
    page = html_display(display, plotlyjs=plotlyjs)
    if plotlyjs == "directory" and not (path.parent / "plotly.min.js").is_file():
        from plotly.offline import get_plotlyjs

        with atomic_output(path.parent / "plotly.min.js", overwrite=True) as tmp:
            tmp.write_text(get_plotlyjs(), encoding="utf-8")
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path

"""The interactive Plotly event display: figure content, one offline file, and a render in
headless Chromium (skipped where Chromium is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from browser import CHROMIUM, probe_page
from test_plotting import _display

pytest.importorskip("plotly")

from jetpointnet.plotting.html_display import display_figure, write_html_display


def _with_ids():
    d = _display()
    d["cells"]["id"] = np.array([101, 102, 203, 204])
    return d


def test_one_colour_scale_hover_and_layer_menu():
    fig = display_figure(_with_ids())
    axis = fig.layout.coloraxis
    assert axis.cmax == pytest.approx(np.log10(3.0)) and axis.cmin == pytest.approx(axis.cmax - 3)
    assert axis.colorbar.title.text == "energy [GeV]"
    coloured = [t for t in fig.data if getattr(t.marker, "coloraxis", None) == "coloraxis"]
    assert {t.type for t in coloured} == {"scatter", "scatter3d"}
    assert {t.xaxis for t in coloured if t.type == "scatter"} == {"x", "x2"}  # both panels
    hover = coloured[0].hovertemplate
    for word in ("cell", "layer", "E =", "true focal", "predicted"):
        assert word in hover
    # every cell's read-out: id, layer name, E, true, predicted
    rows = {tuple(r) for t in fig.data if t.customdata is not None for r in t.customdata}
    assert (203, "TileBar0", 3.0, 3.0, 2.5) in rows and (101, "EMB2", 2.0, 2.0, 1.8) in rows
    # menu: all layers + one entry per layer; the layer with the most true energy first
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["all layers", "EMB2", "TileBar0"]
    assert menu.active == 2
    shapes = menu.buttons[1].args[1]["shapes"]
    assert len(shapes) == 2 * 2  # two EMB2 cells, drawn in both panels
    assert shapes[0]["x0"] == pytest.approx(0.1 - 0.0125)
    # the zero-energy true cell is grey; the predicted one is coloured
    tile = menu.buttons[2].args[1]["shapes"]
    assert [s["fillcolor"] == "rgb(225,225,225)" for s in tile] == [False, True, False, False]


def test_tracks_drawn_and_nan_points_skipped():
    fig = display_figure(_display())
    tracks = [t for t in fig.data if t.name and "focused" in t.name]
    assert len(tracks) == 4  # eta-phi and 3-D, in both panels
    flat = next(t for t in tracks if t.type == "scatter")
    assert len(flat.x) == 20 and flat.line.color == "red"  # the NaN layer point is left out
    assert next(t for t in tracks if t.type == "scatter3d").x.size == 21


def test_page_is_offline(tmp_path):
    page = write_html_display(_display(), tmp_path / "d.html").read_text()
    assert "<script src" not in page and "Plotly.newPlot" in page
    assert "<title>unit display</title>" in page
    assert len(page) > 1_000_000  # plotly.js is inside
    small = write_html_display(_display(), tmp_path / "e.html", plotlyjs="directory")
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert 'src="plotly.min.js"' in small.read_text() and small.stat().st_size < 200_000


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium")
def test_display_renders_in_chromium(tmp_path):
    page = write_html_display(_with_ids(), tmp_path / "display.html")
    js = (
        "const g = document.getElementById('event-display');"
        "document.title = [document.querySelectorAll('.js-plotly-plot').length,"
        " g && g.data ? g.data.length : 0, document.querySelectorAll('.colorbar').length,"
        " document.querySelectorAll('.gl-container canvas, canvas').length > 0].join(',')"
    )
    title = probe_page(page, js, tmp_path)
    n_plots, n_traces, n_colourbars, has_gl = title.split(",")
    assert int(n_plots) == 1 and int(n_traces) > 10
    assert int(n_colourbars) == 1 and has_gl == "true"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium")
def test_hover_reads_out_the_cell(tmp_path):
    """A mouse move onto a cell's centre in the true eta-phi panel shows its read-out."""
    page = write_html_display(_with_ids(), tmp_path / "display.html")
    js = """try {
const gd = document.getElementById('event-display');
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
let pt = null;  // the TileBar0 cell at eta 0.2 (layer shown first), off the track
gd.calcdata.forEach((cd, i) => { const t = gd._fullData[i];
  if (t.visible === true && t.type === 'scatter' && t.xaxis === 'x' && t.customdata)
    for (const p of cd) if (Math.abs(p.x - 0.2) < 1e-6) pt = p; });
const r = gd.getBoundingClientRect();
document.querySelector('.nsewdrag').dispatchEvent(new MouseEvent('mousemove', {bubbles: true,
  clientX: r.left + xa._offset + xa.c2p(pt.x), clientY: r.top + ya._offset + ya.c2p(pt.y)}));
setTimeout(() => { const h = document.querySelector('.hoverlayer');
  document.title = 'HOVER:' + (h ? h.textContent : ''); }, 500);
} catch (e) { document.title = 'ERROR ' + e; }"""
    text = probe_page(page, js, tmp_path)
    for part in ("cell 204", "layer TileBar0", "E = 0.500 GeV", "true focal = 0.000 GeV",
                 "predicted = 0.100 GeV"):  # fmt: skip
        assert part in text, text

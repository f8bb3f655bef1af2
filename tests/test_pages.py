"""The page writer: templates ship with the package, values are escaped, tables format
their cells, figures are embedded, pages are written whole."""

from __future__ import annotations

import base64

import jinja2
import pytest

from jetpointnet.evaluation.report import render_report
from jetpointnet.pages import cell_text, png_data_uri, render_page, write_page

_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def test_cells_are_formatted():
    assert [cell_text(v) for v in (None, True, False, 0.12345, 3, "a")] == [
        "n/a", "yes", "no", "0.123", "3", "a"
    ]  # fmt: skip
    assert cell_text(0.5, 2) == "0.50"


def test_values_are_escaped(tmp_path):
    metrics = {"notes": ["<script>alert(1)</script> & more"], "data_dir": "/d/<x>",
               "models": {"<b>net</b>": {"kind": "network", "cell": {"f1": 0.5},
                                         "track": {s: {} for s in ("inclusive", "isolated", "dense")}}}}  # fmt: skip
    page = render_report(metrics, tmp_path)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "<td>&lt;b&gt;net&lt;/b&gt;</td>" in page and "/d/&lt;x&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</body></html>")


def test_figures_are_embedded_and_pages_written_atomically(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(_PNG)
    assert png_data_uri(png) == "data:image/png;base64," + base64.b64encode(_PNG).decode()
    out = write_page(tmp_path / "p.html", "jets.html.j2", title="t", heading="h",
                     definitions="d", response_rows=[], status_rows=[], info_rows=[["x", 1.0]],
                     figures=[(png, "cap <1>")])  # fmt: skip
    page = out.read_text()
    assert 'alt="cap &lt;1&gt;" src="data:image/png;base64,' in page
    assert "<td>x</td><td>1.000</td>" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "p.html"]
    with pytest.raises(jinja2.UndefinedError, match="definitions"):  # a missing value: our bug
        render_page("jets.html.j2", title="t", heading="h")

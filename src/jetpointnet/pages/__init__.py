"""HTML pages: one writer, the pages' Jinja2 templates next to it (``*.html.j2``).

Every page extends ``base.html.j2`` (title, style, heading) and fills its sections;
``_macros.html.j2`` holds the pieces pages share: a table (floats with three decimals,
None as n/a, booleans as yes/no) and a figure (a PNG embedded as base64 or linked).
Autoescape is on: every value is text unless a template marks it otherwise.
:func:`write_page` renders a template and writes it atomically.
"""

from __future__ import annotations

import base64
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from jetpointnet.io.atomic import atomic_output

__all__ = ["cell_text", "png_data_uri", "render_page", "write_page"]

_HERE = Path(__file__).parent


def cell_text(v: Any, digits: int = 3) -> str:
    """A table cell's text: n/a for None, yes/no for booleans, floats with ``digits``."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def png_data_uri(path: str | os.PathLike[str]) -> str:
    """``data:image/png;base64,...`` of the PNG at ``path`` (to embed it in a page)."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell_text
    env.filters["png"] = png_data_uri
    return env


def render_page(template: str, **context: Any) -> str:
    """The page of ``template`` (a file name in this package) with ``context``."""
    return _environment().get_template(template).render(**context)


def write_page(
    path: str | os.PathLike[str], template: str, *, overwrite: bool = True, **context: Any
) -> Path:
    """Render ``template`` with ``context`` into ``path`` (UTF-8, atomically); its path."""
    path = Path(path)
    page = render_page(template, **context)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path

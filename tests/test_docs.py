"""The documentation site: the docstring hook's reStructuredText -> Markdown conversion, and
``mkdocs build --strict`` (skipped where mkdocs is not installed; CI builds it in .ci/run too)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _hook():
    spec = importlib.util.spec_from_file_location(
        "docs_hook", ROOT / "docs" / "hooks" / "docstrings.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_simple_tables_titles_and_literals_become_markdown():
    hook = _hook()
    rst = """Intro with ``code`` and :func:`jetpointnet.x.f`.

Section
=======

=========  =====  =================
name       type   meaning
=========  =====  =================
``a``      int    first line
                  continued
``b|c``    float  second
=========  =====  =================

Headerless:

=========  =====  =================
``d``      bool   only row
=========  =====  =================

Layout::

    OUT/a.json   what
    OUT/b/       more
"""
    md = hook.rst_to_markdown(rst)
    assert "Intro with `code` and `jetpointnet.x.f`." in md
    assert "### Section" in md
    assert "| name | type | meaning |" in md
    assert "| `a` | int | first line continued |" in md
    assert "| `b\\|c` | float | second |" in md  # a pipe inside a cell is escaped
    assert "| `d` | bool | only row |" in md
    assert "```text\nOUT/a.json   what\nOUT/b/       more\n```" in md
    assert "=====" not in md and "::" not in md


def test_markers_expand_from_the_source_and_a_wrong_one_fails():
    hook = _hook()
    page = hook.on_page_markdown("# P\n\n<!-- docstring: jetpointnet.data.schema -->\n")
    assert "| `y_binary` | int8 |" in page
    tables = hook.on_page_markdown("<!-- mltree-branch-tables -->")
    assert "| `trackEta_EMB2` | float32 | per track |" in tables
    assert "| `cell_geo_ID` | uint64 |" in tables
    with pytest.raises(FileNotFoundError, match=r"no module jetpointnet\.nope"):
        hook.on_page_markdown("<!-- docstring: jetpointnet.nope -->")


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
@pytest.mark.skipif(importlib.util.find_spec("mkdocstrings") is None, reason="no mkdocstrings")
def test_site_builds_strict(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    samples = (tmp_path / "site" / "contracts" / "samples" / "index.html").read_text()
    assert "<table>" in samples and "truth_focal" in samples
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "predict_files" in api and "run_jets" in api
    assert "fonts.googleapis" not in samples  # nothing loaded from the network when viewed

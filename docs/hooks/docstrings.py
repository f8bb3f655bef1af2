"""MkDocs hook: ``<!-- docstring: jetpointnet.data.samples -->`` in a page becomes that
module's docstring, converted from the reStructuredText the code uses to Markdown.

The data-contract pages are thereby the very text the writers and readers of each file
document, so the site cannot drift from the code. The module is not imported: its source
file under ``src/`` is parsed (no torch or ROOT needed to build the site). Converted: simple
tables (``===  ===`` borders, continuation lines), section titles underlined with ``=`` or
``-``, ``::`` literal blocks, double backquotes and ``:role:`name``` references. A marker
naming a module that does not exist fails the build. ``<!-- mltree-branch-tables -->``
becomes the branch tables of :mod:`jetpointnet.io.mltree_layout`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MARKER = re.compile(r"^<!-- docstring: ([\w.]+) -->$", re.MULTILINE)
BORDER = re.compile(r"^ *=+( +=+)+ *$")
UNDERLINE = re.compile(r"^(=+|-+)$")
ROLE = re.compile(r":(?:mod|func|class|data|meth|attr|obj):`~?([^`]+)`")


def module_docstring(module: str) -> str:
    path = SRC.joinpath(*module.split(".")).with_suffix(".py")
    if not path.is_file():
        path = SRC.joinpath(*module.split("."), "__init__.py")
    if not path.is_file():
        raise FileNotFoundError(f"docstring marker: no module {module} under {SRC}")
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _spans(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    out = []
    for k, (a, _) in enumerate(spans):
        b = spans[k + 1][0] if k + 1 < len(spans) else len(line)
        out.append(line[a:b].strip())
    return out


def _md_inline(text: str) -> str:
    text = ROLE.sub(r"``\1``", text)
    return re.sub(r"``(.+?)``", r"`\1`", text).replace("|", "\\|")


def _table(lines: list[str]) -> list[str]:
    """An RST simple table (its lines, borders included) as a Markdown table."""
    spans = _spans(lines[0])
    borders = [i for i, line in enumerate(lines) if BORDER.match(line)]
    body_from = borders[1] + 1 if len(borders) >= 3 else 1
    header = _cells(lines[1], spans) if len(borders) >= 3 else [""] * len(spans)
    rows: list[list[str]] = []
    for line in lines[body_from:]:
        if BORDER.match(line) or not line.strip():
            continue
        cells = _cells(line, spans)
        if rows and not cells[0]:  # continuation of the previous row
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    out = ["| " + " | ".join(_md_inline(h) for h in header) + " |",
           "|" + "|".join("---" for _ in spans) + "|"]  # fmt: skip
    out += ["| " + " | ".join(_md_inline(c) for c in r) + " |" for r in rows]
    return ["", *out, ""]


def rst_to_markdown(text: str, *, level: int = 3) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if BORDER.match(line):
            j, n_borders = i + 1, 1
            while j < len(lines) and n_borders < 3:
                n_borders += bool(BORDER.match(lines[j]))
                j += 1
                if n_borders == 2 and (j >= len(lines) or not lines[j].strip()):
                    break  # a table without a header row ends at its second border
            out += _table(lines[i:j])
            i = j
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and UNDERLINE.match(nxt) and len(nxt) >= len(line.strip()):
            out.append(f"{'#' * (level if nxt[0] == '=' else level + 1)} {_md_inline(line)}")
            i += 2
            continue
        if line.rstrip().endswith("::"):
            out.append(_md_inline(line.rstrip()[:-1]))
            block, i = [], i + 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
            out += ["", "```text", *(b[indent:] for b in block), "```", ""]
            continue
        out.append(_md_inline(line))
        i += 1
    return "\n".join(out)


def mltree_branch_tables() -> str:
    """The branch tables of ``jetpointnet.io.mltree_layout`` (imported: it needs numpy only)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_mltree_layout", SRC / "jetpointnet" / "io" / "mltree_layout.py"
    )
    layout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layout)

    def shape(name: str, depth: int) -> str:
        if depth == 0:
            return "per event"
        obj = next(
            (
                o
                for p, o in (
                    ("truth", "truth particle"),
                    ("track", "track"),
                    ("cluster", "cluster"),
                )
                if name.startswith(p)
            ),
            "object",
        )
        return {
            1: f"per {obj}",
            2: "per cell of each cluster",
            3: "per truth contributor of each cell of each cluster",
        }.get(depth, str(depth))

    rows = ["| branch | type | shape |", "|---|---|---|"]
    for name, (dtype, depth) in layout.EVENT_BRANCHES.items():
        rows.append(f"| `{name}` | {dtype.__name__} | {shape(name, depth)} |")
    geo = ["| branch | type |", "|---|---|"]
    geo += [f"| `{k}` | {v.__name__} |" for k, v in layout.CELL_GEO_BRANCHES.items()]
    return (
        f"### `{layout.EVENT_TREE}`: one entry per event\n\n" + "\n".join(rows)
        + f"\n\n### `{layout.CELL_GEO_TREE}`: one entry, per-cell vectors\n\n" + "\n".join(geo)
    )  # fmt: skip


def on_page_markdown(markdown: str, **_: object) -> str:
    if "<!-- mltree-branch-tables -->" in markdown:
        markdown = markdown.replace("<!-- mltree-branch-tables -->", mltree_branch_tables())
    return MARKER.sub(lambda m: rst_to_markdown(module_docstring(m.group(1))), markdown)

"""``compare``: one table (Markdown and CSV) of several evaluations on the same split.

Each input is an evaluation folder (holding ``metrics.json``), a run folder (its
``eval/metrics.json``) or a ``metrics.json`` file. Every network of every input gets a
row; the baselines and the classical algorithm of the first input that has them follow.
Inputs evaluated on different splits or data are refused (one line). The track columns
of the classical algorithm are over the tracks it subtracts; ``left to calorimeter``
counts those it leaves alone (vetoed, not selected, no match).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from jetpointnet.errors import UserError

__all__ = ["COLUMNS", "compare", "compare_rows", "find_metrics"]

#: (column title, path into a model's metrics or "run.<key>").
COLUMNS: tuple[tuple[str, str], ...] = (
    ("accuracy", "cell.accuracy"),
    ("precision", "cell.precision"),
    ("recall", "cell.recall"),
    ("F1", "cell.f1"),
    ("E-weighted acc.", "cell.energy_weighted_accuracy"),
    ("AUC", "cell.auc"),
    ("response", "track.inclusive.response"),
    ("resolution68", "track.inclusive.resolution_68"),
    ("resolutionIQR", "track.inclusive.resolution_iqr"),
    ("MAPE %", "track.inclusive.mape"),
    ("tracks scored", "track.inclusive.n_tracks"),
    ("resolution68 isolated", "track.isolated.resolution_68"),
    ("resolution68 dense", "track.dense.resolution_68"),
    ("response dense", "track.dense.response"),
    ("parameters", "run.parameters"),
    ("training s", "run.training_seconds"),
    ("inference samples/s", "run.inference_samples_per_s"),
)


#: The column of the tracks an answer leaves to the calorimeter (not in its track figures).
LEFT = "left to calorimeter"


def find_metrics(path: str | os.PathLike[str]) -> Path:
    """The ``metrics.json`` behind a run folder, an evaluation folder or the file itself."""
    p = Path(path)
    for cand in (p, p / "metrics.json", p / "eval" / "metrics.json"):
        if cand.is_file():
            return cand
    raise UserError(
        f"{path}: no metrics.json (give a run folder, an evaluation folder or the file)"
    )


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def compare_rows(paths: list[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """One row per network of each input, then the baselines and classical algorithm."""
    if not paths:
        raise UserError("nothing to compare: give at least one run or evaluation")
    loaded = []
    for p in paths:
        f = find_metrics(p)
        try:
            loaded.append((f, json.loads(f.read_text())))
        except json.JSONDecodeError:
            raise UserError(f"{f}: not valid JSON") from None
    ref_split = (loaded[0][1].get("split"), loaded[0][1].get("n_samples"))
    for f, m in loaded[1:]:
        if (m.get("split"), m.get("n_samples")) != ref_split:
            raise UserError(
                f"{f}: split {m.get('split')!r} with {m.get('n_samples')} samples "
                f"differs from {loaded[0][0]} ({ref_split[0]!r}, {ref_split[1]})"
            )
    rows: list[dict[str, Any]] = []
    others: dict[str, dict[str, Any]] = {}
    for f, m in loaded:
        for name, model in m.get("models", {}).items():
            src = {**model, "run": m.get("run", {}) if model.get("kind") == "network" else {}}
            row = {"model": name, "kind": model.get("kind"), "source": str(f.parent)}
            row.update({title: _get(src, key) for title, key in COLUMNS})
            left = _get(src, "track.left_to_calorimeter")
            row[LEFT] = sum(r["n_tracks"] for r in left.values()) if left else None
            if model.get("kind") == "network":
                rows.append(row)
            else:
                others.setdefault(name, row)
    return rows + list(others.values())


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def compare(
    paths: list[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> tuple[str, str]:
    """The comparison as (Markdown, CSV) text; written to ``out`` (.md) and ``out`` (.csv)."""
    rows = compare_rows(paths)
    header = ["model", "kind", *[t for t, _ in COLUMNS], LEFT]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(_fmt(r.get(h)) for h in header) + " |" for r in rows]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*header, "source"])
    for r in rows:
        w.writerow([("" if r.get(h) is None else r.get(h)) for h in [*header, "source"]])
    markdown, text = "\n".join(md) + "\n", buf.getvalue()
    if out is not None:
        from jetpointnet.io.atomic import atomic_output

        base = Path(out)
        for suffix, content in ((".md", markdown), (".csv", text)):
            with atomic_output(base.with_suffix(suffix), overwrite=overwrite) as tmp:
                tmp.write_text(content)
    return markdown, text

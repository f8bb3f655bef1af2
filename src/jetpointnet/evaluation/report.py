"""``report.html``: one self-contained page (images embedded as base64) of an evaluation.

Sections: run summary, headline comparison, cell-metric table, track-metric table
(inclusive, isolated, dense), the classical algorithm's notes (templates, what it did
with the tracks, the rows of the tracks it left to the calorimeter, where it is
simplified), every plot, and the event displays (best, typical, worst; the interactive
HTML displays are linked, next to the report).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jetpointnet.pages import render_page, write_page

__all__ = ["render_report", "report_context", "write_report"]

CELL_COLUMNS = ("accuracy", "precision", "recall", "f1", "energy_weighted_accuracy", "auc")
TRACK_COLUMNS = ("n_used", "response", "resolution_68", "resolution_iqr", "mape")
RUN_KEYS = ("name", "model", "task", "run_dir", "inference_samples_per_s")
_PFLOW_DEFAULTS: dict[str, Any] = {
    "run": False,
    "templates": None,
    "templates_warning": None,
    "max_pt": None,
    "track_status": {},
    "split_recovery": 0,
    "unaligned_cell_points": None,
    "simplifications": [],
}


def _flat(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(d, dict):
        out = []
        for k, v in d.items():
            out += _flat(v, f"{prefix}{k}.")
        return out
    return [(prefix.rstrip("."), json.dumps(d) if isinstance(d, list) else d)]


_CAPTIONS = {
    "track_performance": "Track response median(pred/true) and resolution (q84-q16)/2/median "
    "vs track pT and |eta|",
    "cell_metrics_table": "Cell-level metrics",
    "confusion": "Binary confusion matrices (rows: truth; normalised per true class)",
    "confusion_multiclass": "Multi-class confusion matrices",
    "roc": "ROC curves of the focal score",
    "pred_vs_true": "Predicted vs true focal deposit per track (GeV)",
    "training_curves": "Training curves from the run's log.csv",
    "pflow_templates_eop": "Measured <E/p> templates against eflowRec values (|eta| < 0.5)",
}


def _left_rows(models: dict[str, Any]) -> list[list[Any]]:
    """Rows of the tracks each answer left to the calorimeter (not in its track figures)."""
    rows = []
    for n, m in models.items():
        for reason, r in (m["track"].get("left_to_calorimeter") or {}).items():
            rows.append([f"{n} ({reason.replace('_', ' ')})", r["n_tracks"],
                         r["n_true_above_min"], r["true_deposit_gev"], r["true_fraction"]])  # fmt: skip
    return rows


def _metric_rows(models: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """The cell-metric rows (one per answer) and track-metric rows (three per answer)."""
    cells = [[n, m["kind"], *[m["cell"].get(c) for c in CELL_COLUMNS]] for n, m in models.items()]
    tracks = []
    for n, m in models.items():
        scope = ", subtracted tracks" if "left_to_calorimeter" in m["track"] else ""
        for sub in ("inclusive", "isolated", "dense"):
            tracks.append([f"{n} ({sub}{scope})", *[m["track"][sub].get(c) for c in TRACK_COLUMNS]])
    return {"cell_rows": cells, "track_rows": tracks}


def _images(metrics: dict[str, Any], out: Path) -> dict[str, list]:
    """The plots (path, caption) and event displays (path, caption, interactive link)."""
    files = metrics.get("files", {})
    plots = [out / "plots" / name for name in files.get("plots", [])]
    displays = []
    for name in (n for n in files.get("displays", []) if n.endswith(".png")):
        path = out / "displays" / name
        what = path.stem.split("_")[0]
        page = out / "displays" / f"{what}.html"
        link = path.stem.endswith("_layers") and page.is_file()
        displays.append({"path": path, "what": what, "link": f"displays/{what}.html" if link else "",
                         "caption": f"{what} track: {path.stem.split('_', 1)[-1]} view"})  # fmt: skip
    return {
        "plots": [(p, _CAPTIONS.get(p.stem, p.stem)) for p in plots if p.is_file()],
        "displays": displays,
    }


def report_context(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``report.html.j2`` shows of ``metrics.json``; images from ``out_dir``."""
    run = metrics.get("run") or {}
    cfgm = metrics.get("config", {}).get("metrics", {})
    summ = metrics.get("summary") or {}
    keys = sorted({k for row in summ.values() for k in row})
    models = metrics.get("models", {})
    return {
        "title": "jetpointnet evaluation",
        "heading": "jetpointnet evaluation",
        "split": metrics.get("split"),
        "data_dir": metrics.get("data_dir"),
        "n_samples": metrics.get("n_samples"),
        "n_cells": metrics.get("n_cells"),
        "threshold": cfgm.get("threshold"),
        "min_true": cfgm.get("min_true"),
        "dense_dr": cfgm.get("dense_dr"),
        "headline": {
            "header": ["network", *keys],
            "rows": [[n, *[row.get(k) for k in keys]] for n, row in summ.items()],
        },
        "run_rows": [[k, run.get(k)] for k in RUN_KEYS if k in run],
        "config_rows": [[k, v] for k, v in _flat(run.get("config", {}))],
        "cell_columns": list(CELL_COLUMNS),
        **_metric_rows(models),
        "pflow": {**_PFLOW_DEFAULTS, **(metrics.get("pflow") or {})},
        "left_rows": _left_rows(models),
        "notes": metrics.get("notes", []),
        **_images(metrics, Path(out_dir)),
    }


def render_report(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> str:
    """The report page as a string; images are read from ``out_dir/plots`` and
    ``out_dir/displays``."""
    return render_page("report.html.j2", **report_context(metrics, out_dir))


def write_report(
    metrics: dict[str, Any], out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path."""
    path = Path(out_dir) / "report.html"
    return write_page(
        path, "report.html.j2", overwrite=overwrite, **report_context(metrics, out_dir)
    )

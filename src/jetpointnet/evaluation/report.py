"""``report.html``: one self-contained page (images embedded as base64) of an evaluation.

Sections: run summary, headline comparison, cell-metric table, track-metric table
(inclusive, isolated, dense), the classical algorithm's notes (templates, what it did
with the tracks, the rows of the tracks it left to the calorimeter, where it is
simplified), every plot, and the event displays (best, typical, worst; the interactive
HTML displays are linked, next to the report).
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

from jetpointnet.io.atomic import atomic_output

__all__ = ["CSS", "html_figure", "html_table", "render_report", "write_report"]

CSS = """body{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;
padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}.note{color:#555;font-size:small}
figure{margin:0 0 1.5em}"""


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def html_table(header: list[str], rows: list[list[Any]], *, cls: str) -> str:
    """An HTML table; floats with three decimals, None as n/a."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def html_figure(path: Path, caption: str) -> str:
    """A PNG embedded as base64 in a <figure> with its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f'<figcaption class="note">{html.escape(caption)}</figcaption></figure>'
    )


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


def _left_table(models: dict[str, Any]) -> str:
    """Rows of the tracks each answer left to the calorimeter (not in its track figures)."""
    rows = []
    for n, m in models.items():
        for reason, r in (m["track"].get("left_to_calorimeter") or {}).items():
            rows.append(
                [
                    f"{n} ({reason.replace('_', ' ')})",
                    r["n_tracks"],
                    r["n_true_above_min"],
                    r["true_deposit_gev"],
                    r["true_fraction"],
                ]
            )
    if not rows:
        return ""
    return (
        "<p>Tracks left to the calorimeter: not subtracted by design, so not scored as a "
        "prediction of zero; they are out of the track-level figures above.</p>"
        + html_table(
            [
                "answer (reason)",
                "tracks",
                "with true deposit > min",
                "true focal deposit (GeV)",
                "fraction of all true focal energy",
            ],
            rows,
            cls="left-to-calorimeter",
        )
    )


def _classical_section(pfl: dict[str, Any], models: dict[str, Any]) -> list[str]:
    """The classical algorithm's notes: templates, outcomes, left tracks, simplifications."""
    parts: list[str] = []
    parts.append("<h2>Classical particle flow</h2>")
    if pfl.get("run"):
        warn = pfl.get("templates_warning")
        parts.append(
            f"<p>Templates: {_fmt(pfl.get('templates'))}"
            + (f" (<b>warning</b>: {html.escape(warn)})" if warn else "")
            + f". Upper track-pT cut {_fmt(pfl.get('max_pt'), 0)} GeV. Track outcomes: "
            + ", ".join(f"{k} {v}" for k, v in pfl.get("track_status", {}).items())
            + f" ({pfl.get('split_recovery', 0)} through split-shower recovery)"
            + f". Cell points without a stage-1 cell: {pfl.get('unaligned_cell_points')}.</p>"
        )
        parts.append(_left_table(models))
        parts.append(
            "<p>Simplified against eflowRec:</p><ul>"
            + "".join(f"<li>{html.escape(s)}</li>" for s in pfl.get("simplifications", []))
            + "</ul>"
        )
    else:
        parts.append('<p class="note">not run</p>')
    return parts


def render_report(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> str:
    """The report page as a string; images are read from ``out_dir/plots`` and
    ``out_dir/displays``."""
    out = Path(out_dir)
    run = metrics.get("run") or {}
    cfgm = metrics.get("config", {}).get("metrics", {})
    parts = [
        (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>jetpointnet evaluation</title><style>{CSS}</style></head><body>"
        ),
        "<h1>jetpointnet evaluation</h1>",
        (
            f'<p class="note">jetpointnet simulation. Split <b>{_fmt(metrics.get("split"))}'
            f"</b> of {_fmt(metrics.get('data_dir'))}: {metrics.get('n_samples')} tracks, "
            f"{metrics.get('n_cells')} labelled cells.</p>"
        ),
    ]
    parts.append(
        f'<p class="note">A cell counts as focal when the predicted energy exceeds '
        f"{_fmt(cfgm.get('threshold'), 2)} of the cell energy (regression, classical algorithm) "
        f"or the focal probability exceeds {_fmt(cfgm.get('threshold'), 2)} (binary); argmax for "
        f"multi-class. Track figures use tracks with a true focal deposit above "
        f"{_fmt(cfgm.get('min_true'), 2)} GeV; dense: another track within Delta-R "
        f"{_fmt(cfgm.get('dense_dr'), 2)}.</p>"
    )
    summ = metrics.get("summary") or {}
    if summ:
        parts.append("<h2>Headline</h2>")
        keys = sorted({k for row in summ.values() for k in row})
        parts.append(
            html_table(
                ["network", *keys],
                [[n, *[row.get(k) for k in keys]] for n, row in summ.items()],
                cls="summary",
            )
        )
    models = metrics.get("models", {})
    parts.append("<h2>Run</h2>")
    summary_rows = [
        [k, run.get(k)]
        for k in ("name", "model", "task", "run_dir", "inference_samples_per_s")
        if k in run
    ]
    parts.append(
        html_table(["item", "value"], summary_rows, cls="run")
        if summary_rows
        else '<p class="note">no run information</p>'
    )
    cfg_rows = [[k, v] for k, v in _flat(run.get("config", {}))]
    if cfg_rows:
        parts.append(
            "<details><summary>resolved training configuration</summary>"
            + html_table(["item", "value"], cfg_rows, cls="run")
            + "</details>"
        )
    parts.append("<h2>Cell-level metrics</h2>")
    cols = ["accuracy", "precision", "recall", "f1", "energy_weighted_accuracy", "auc"]
    parts.append(
        html_table(
            ["model", "kind", *cols],
            [[n, m["kind"], *[m["cell"].get(c) for c in cols]] for n, m in models.items()],
            cls="cell-metrics",
        )
    )
    parts.append("<h2>Track-level metrics</h2>")
    tcols = ["n_used", "response", "resolution_68", "resolution_iqr", "mape"]
    rows = []
    for n, m in models.items():
        scope = ", subtracted tracks" if "left_to_calorimeter" in m["track"] else ""
        for sub in ("inclusive", "isolated", "dense"):
            rows.append([f"{n} ({sub}{scope})", *[m["track"][sub].get(c) for c in tcols]])
    parts.append(
        html_table(
            [
                "model (tracks)",
                "tracks used",
                "response",
                "resolution (q84-q16)/2/med",
                "resolution IQR/med",
                "MAPE %",
            ],
            rows,
            cls="track-metrics",
        )
    )
    parts += _classical_section(metrics.get("pflow") or {}, models)
    for note in metrics.get("notes", []):
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append("<h2>Plots</h2>")
    for name in metrics.get("files", {}).get("plots", []):
        path = out / "plots" / name
        if path.is_file():
            parts.append(html_figure(path, _CAPTIONS.get(path.stem, path.stem)))
    disp = [n for n in metrics.get("files", {}).get("displays", []) if n.endswith(".png")]
    if disp:
        parts.append("<h2>Event displays</h2>")
        for name in disp:
            path = out / "displays" / name
            what = path.stem.split("_")[0]
            parts.append(html_figure(path, f"{what} track: {path.stem.split('_', 1)[-1]} view"))
            if path.stem.endswith("_layers") and (out / "displays" / f"{what}.html").is_file():
                parts.append(
                    f'<p><a href="displays/{what}.html">interactive display ({what})</a></p>'
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    metrics: dict[str, Any], out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path."""
    path = Path(out_dir) / "report.html"
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(render_report(metrics, out_dir), encoding="utf-8")
    return path

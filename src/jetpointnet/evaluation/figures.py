"""Which figures an evaluation makes, from its metrics and per-track arrays.

Thin glue between the metric dicts of :mod:`jetpointnet.evaluation.evaluate` and the
drawing functions of :mod:`jetpointnet.plotting`; file names are fixed here (the report
refers to them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CELL_COLUMNS", "cell_table_rows", "make_displays", "make_plots"]

CELL_COLUMNS = ("model", "accuracy", "precision", "recall", "f1", "energy_weighted_accuracy", "auc")


def cell_table_rows(models: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model with the cell metrics of ``CELL_COLUMNS``."""
    return [
        {"model": name, **{c: m["cell"].get(c) for c in CELL_COLUMNS[1:]}}
        for name, m in models.items()
    ]


def make_plots(
    models: dict[str, Any],
    extras: dict[str, dict[str, np.ndarray]],
    plot_dir: Path,
    *,
    training_log: dict[str, np.ndarray] | None = None,
    templates: Any = None,
    pdf: bool = True,
) -> list[Path]:
    """Write every evaluation figure into ``plot_dir``; return the files written."""
    from jetpointnet.plotting import performance as perf
    from jetpointnet.plotting.style import save_figure

    plot_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    scored = {n: m["track"] for n, m in models.items() if m["kind"] != "baseline"}
    scored.update({n: m["track"] for n, m in models.items() if n == "smart_random"})
    files += save_figure(
        perf.plot_track_performance(scored), plot_dir / "track_performance", pdf=pdf
    )
    files += save_figure(
        perf.plot_metric_table(cell_table_rows(models), CELL_COLUMNS),
        plot_dir / "cell_metrics_table",
        pdf=pdf,
    )
    confusions = {n: m["cell"]["confusion"] for n, m in models.items()}
    files += save_figure(perf.plot_confusions(confusions), plot_dir / "confusion", pdf=pdf)
    multi = {
        n: m["cell_multiclass"]["confusion"] for n, m in models.items() if "cell_multiclass" in m
    }
    if multi:
        names = ("focal", "other charged", "neutral", "noise")
        fig = perf.plot_confusions(multi, class_names=names)
        files += save_figure(fig, plot_dir / "confusion_multiclass")
    curves = {
        n: (extras[n]["fpr"], extras[n]["tpr"], m["cell"]["auc"])
        for n, m in models.items()
        if "fpr" in extras[n]
    }
    if curves:
        files += save_figure(perf.plot_roc(curves), plot_dir / "roc", pdf=pdf)
    pairs = {
        n: (extras[n]["pred_total"], extras[n]["true_total"])
        for n, m in models.items()
        if m["kind"] != "baseline"
    }
    if pairs:
        files += save_figure(perf.plot_pred_vs_true(pairs), plot_dir / "pred_vs_true", pdf=pdf)
    if training_log:
        fig = perf.plot_training_curves(training_log)
        files += save_figure(fig, plot_dir / "training_curves", pdf=pdf)
    if templates is not None and models.get("classical pflow"):
        from jetpointnet.evaluation.pflow.adapter import resolve_templates
        from jetpointnet.evaluation.pflow.templates import EFLOWREC_REFERENCE
        from jetpointnet.plotting.templates import eop_templates_figure

        fig = eop_templates_figure(resolve_templates(templates), EFLOWREC_REFERENCE)
        files += save_figure(fig, plot_dir / "pflow_templates_eop", pdf=pdf)
    return files


def make_displays(
    examples: dict[str, dict[str, Any]], out_dir: Path, *, pdf: bool = True
) -> list[Path]:
    """For each example (best / typical / worst): eta-phi per layer, 3-D, and the interactive
    HTML (only where Plotly, the ``display`` extra, is installed)."""
    from importlib.util import find_spec

    from jetpointnet.plotting.event_display import plot_event_3d, plot_event_layers
    from jetpointnet.plotting.html_display import write_html_display
    from jetpointnet.plotting.style import save_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for what, disp in examples.items():
        layers = plot_event_layers(disp)  # laid out in fixed inches: no cropping
        files += save_figure(layers, out_dir / f"{what}_layers", pdf=pdf, tight=False)
        files += save_figure(plot_event_3d(disp), out_dir / f"{what}_3d", pdf=pdf)
        if find_spec("plotly") is not None:
            files.append(write_html_display(disp, out_dir / f"{what}.html"))
    return files

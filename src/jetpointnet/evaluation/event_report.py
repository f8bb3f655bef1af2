"""Evaluate an event-level prediction: its ``particles.parquet`` against the targets.

:func:`evaluate_event_particles` matches a predicted particles table to the target
particles of the same events (:mod:`jetpointnet.evaluation.particles`), writes
``particles_metrics.json``, the figures (:mod:`jetpointnet.plotting.particles`) and
``particles_section.html`` (the fragment for report.html) into ``out``, and returns the
metrics. The targets come from an event folder's split
(:func:`~jetpointnet.data.event_particles.folder_target_particles`) or from a table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.data.event_particles import folder_target_particles
from jetpointnet.evaluation.particles import (
    MATCH_THRESHOLD,
    particle_metrics,
    particles_section,
)
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.particles import read_particles
from jetpointnet.io.sample_files import write_json

__all__ = ["evaluate_event_particles"]


def evaluate_event_particles(
    predicted: str | os.PathLike[str] | dict[str, np.ndarray],
    out: str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str] | None = None,
    targets: dict[str, np.ndarray] | None = None,
    split: str = "test",
    threshold: float = MATCH_THRESHOLD,
    cell_accuracy: float | None = None,
    figures: bool = True,
) -> dict[str, Any]:
    """Particle-level metrics of ``predicted`` (a path or a table) on ``folder``'s ``split``
    targets (or ``targets``); only the events present in the prediction are compared.
    ``cell_accuracy``: the cell-level figure, when the caller computed it from incidences."""
    pred = read_particles(predicted) if not isinstance(predicted, dict) else predicted
    if targets is None:
        if folder is None:
            raise ValueError("evaluate_event_particles: give folder or targets")
        targets = folder_target_particles(folder, split=split)
    key = lambda t: np.asarray(t["file_index"], np.int64) * (1 << 40) + np.asarray(t["entry"])
    keep = np.isin(key(targets), key(pred))
    targets = {k: np.asarray(v)[keep] for k, v in targets.items()}
    metrics = particle_metrics(targets, pred, threshold=threshold)
    metrics["cell_accuracy"] = cell_accuracy
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    if figures:
        from jetpointnet.plotting.particles import save_particle_figures

        names = save_particle_figures(metrics, out)
    with atomic_output(out / "particles_section.html", overwrite=True) as tmp:
        Path(tmp).write_text(particles_section(metrics, figures=names))
    write_json(out / "particles_metrics.json", metrics)
    return metrics

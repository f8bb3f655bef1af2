"""``evaluate`` on an event-level run: particles, their matching to the targets, report.

:func:`evaluate_event_run` predicts the run's particles on a split of an event folder
(:func:`jetpointnet.predict.event.predict_event_folder` -> ``OUT/particles.parquet``),
scores the split with the run's own task (:func:`jetpointnet.training.split_scores.
score_split`: the cell-level figure after matching the neutral slots, the loss terms),
matches predicted and target particles (:mod:`jetpointnet.evaluation.event_report`:
efficiency and fake rate per class and pT, neutral residuals) and writes
``particles_metrics.json``, the figures and ``report.html`` into ``OUT``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jetpointnet.evaluation.event_report import evaluate_event_particles
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.sample_files import write_json

__all__ = ["evaluate_event_run"]


def evaluate_event_run(
    run_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str],
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Particle- and cell-level metrics of an event run on ``data_dir``'s ``split``."""
    from jetpointnet.pages import cell_text, write_page
    from jetpointnet.predict.event import EventPredictConfig, predict_event_folder
    from jetpointnet.training.split_scores import score_split

    out = Path(out_dir)
    refuse_overlap([*folder_files(run_dir), *folder_files(data_dir)], out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = EventPredictConfig(overwrite=overwrite)
    pred = predict_event_folder(run_dir, data_dir, out / "particles.parquet", split=split,
                                config=cfg, progress=progress)  # fmt: skip
    scores = score_split(run_dir, data_dir, split=split)
    metrics = evaluate_event_particles(pred.out, out, folder=data_dir, split=split,
                                       cell_accuracy=scores.get("cell_energy_correct"))  # fmt: skip
    metrics["scores"] = scores
    metrics["counts"] = {"samples": pred.samples, "events": pred.events,
                         "particles": pred.particles}  # fmt: skip
    write_json(out / "particles_metrics.json", metrics)  # now with the scores and counts
    section = (out / "particles_section.html").read_text(encoding="utf-8")
    write_page(out / "report.html", "event.html.j2", title="jetpointnet: event-level evaluation",
               heading="Event-level particle flow", run=str(run_dir), data=str(data_dir),
               split=split, samples=pred.samples, events=pred.events, particles=pred.particles,
               scores=scores, section=section, cell_text=cell_text)  # fmt: skip
    return metrics

"""``evaluate``: network predictions and labels -> metrics.json, plots, displays, report.html.

Every answer (the network, seed 001's baselines, the classical particle-flow algorithm)
is scored by :func:`jetpointnet.evaluation.scoring.score_answer` on the same cells and
tracks of one split. Output folder layout::

    OUT/metrics.json            every number (see ``models.<name>``), no NaN
    OUT/plots/*.png, *.pdf      track performance, confusion, ROC, pred vs true, table, ...
    OUT/displays/*.png, *.html  best / typical / worst track of the network
    OUT/report.html             one self-contained page with all of it

The classical algorithm needs the stage-1 samples of the split (``DIR/samples/SPLIT``);
without them it is skipped and the report says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jetpointnet.config import check_choices, to_dict
from jetpointnet.errors import UserError
from jetpointnet.evaluation.baselines import BASELINES, Baseline, baseline_predictions
from jetpointnet.evaluation.display import display_dict, pick_examples, scatter_to_stage1
from jetpointnet.evaluation.inputs import Stage1Link, load_labels, stage1_link
from jetpointnet.evaluation.metrics import track_metrics
from jetpointnet.evaluation.pflow.event import LEFT_TO_CALORIMETER, PflowParams, TrackStatus
from jetpointnet.evaluation.scoring import MetricsConfig, interpret, score_answer
from jetpointnet.io.atomic import atomic_output, remove_stale_partials
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.paths import folder_files, refuse_overlap

__all__ = ["CLASSICAL", "EvaluateConfig", "evaluate_predictions", "evaluate_run"]

CLASSICAL = "classical pflow"

#: the example tracks of the network drawn as event displays
Display = Literal["best", "typical", "worst"]


def _baselines() -> list[Baseline]:
    return list(BASELINES)  # type: ignore[arg-type]


def _displays() -> list[Display]:
    return ["best", "typical", "worst"]


@dataclass
class EvaluateConfig:
    """Options of ``evaluate`` (``metrics``: see :class:`MetricsConfig`; ``pflow_params``:
    the classical algorithm's :class:`PflowParams`, e.g. ``pflow_params.max_pt=40``)."""

    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    baselines: list[Baseline] = field(default_factory=_baselines)
    seed: int = 0
    pflow: bool = True
    pflow_params: PflowParams = field(default_factory=PflowParams)
    displays: list[Display] = field(default_factory=_displays)
    pdf: bool = True  # the plots also as PDF (the displays are PNG and HTML)

    def __post_init__(self) -> None:
        check_choices(self)  # baselines and displays: a typo fails before any prediction


def _write_json(obj: Any, path: Path, *, overwrite: bool) -> None:
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(strict_dumps(obj, indent=1))


def evaluate_predictions(
    predictions: dict[str, tuple[str, np.ndarray]],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str],
    templates: Any = None,
    run_info: dict[str, Any] | None = None,
    training_log: dict[str, np.ndarray] | None = None,
    cfg: EvaluateConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
    labels: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Score ``predictions`` (name -> (task, per-point pred)) with baselines and pflow.

    ``pred`` arrays follow the ragged point order of :func:`load_labels`. ``labels``: the
    split's labels when already read (``training.inference.predict`` returns them), else
    they are read here. ``templates``: a :class:`Templates`, a JSON path or None
    (eflowRec reference values). Returns the metrics dict also written to
    ``out_dir/metrics.json``.
    """
    cfg = cfg or EvaluateConfig()
    out = _check_out(Path(out_dir), overwrite=overwrite)
    if labels is None:
        labels = load_labels(data_dir, split=split)
    answers = _network_answers(predictions, labels, cfg, where=f"split '{split}' in {data_dir}")
    notes: list[str] = []
    link = stage1_link(data_dir, split, labels, notes) if (cfg.pflow or cfg.displays) else None
    pflow_info: dict[str, Any] = {"run": False}
    left_out: dict[str, dict[str, np.ndarray]] = {}
    if cfg.pflow and link is not None:
        answer, left_out[CLASSICAL], pflow_info = _classical(
            labels, link, templates, cfg=cfg, progress=progress
        )
        answers[CLASSICAL] = ("classical", answer)
    cell = (labels["point_type"] == 0) & labels["label_mask"].astype(bool)
    for i, baseline in enumerate(cfg.baselines):
        dec = np.zeros(len(labels["point_type"]), dtype=np.int8)
        dec[cell] = baseline_predictions(baseline, labels["y_binary"][cell] == 1, seed=cfg.seed + i)
        answers[baseline] = ("baseline", interpret(dec, "decision", labels["energy"]))
    models: dict[str, Any] = {}
    extras: dict[str, dict[str, np.ndarray]] = {}
    for name, (kind, ans) in answers.items():
        m, x = score_answer(ans, labels, cfg=cfg.metrics, left_out=left_out.get(name))
        models[name] = {"kind": kind, **m}
        extras[name] = x
    metrics: dict[str, Any] = {
        "split": split,
        "data_dir": str(data_dir),
        "n_samples": len(labels["offsets"]) - 1,
        "n_cells": int(cell.sum()),
        "config": to_dict(cfg),
        "run": run_info or {},
        "pflow": pflow_info,
        "notes": notes,
        "models": models,
        "summary": _summary(models, extras, min_true=cfg.metrics.min_true),
    }
    _write_outputs(
        metrics, out, answers, extras, labels, link, predictions, cfg, training_log, templates
    )
    return metrics


def _check_out(out: Path, *, overwrite: bool) -> Path:
    """The output folder, its stale temporaries removed; refuses to replace metrics.json
    unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    remove_stale_partials(out, recursive=True)
    if (out / "metrics.json").exists() and not overwrite:
        raise UserError(f"{out / 'metrics.json'}: exists (pass --overwrite to replace it)")
    return out


def _network_answers(
    predictions: dict[str, tuple[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    cfg: EvaluateConfig,
    *,
    where: str,
) -> dict[str, tuple[str, Any]]:
    """Each network's predictions as an answer, after checking it has one per point."""
    n_points = len(labels["point_type"])
    answers: dict[str, tuple[str, Any]] = {}
    for name, (task, pred) in predictions.items():
        if len(pred) != n_points:
            raise UserError(
                f"{name}: {len(pred)} predictions for {n_points} points of {where} "
                "(different data?)"
            )
        answers[name] = (
            "network",
            interpret(pred, task, labels["energy"], threshold=cfg.metrics.threshold),
        )
    return answers


def _write_outputs(
    metrics: dict[str, Any],
    out: Path,
    answers: dict[str, tuple[str, Any]],
    extras: dict[str, dict[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    link: Stage1Link | None,
    predictions: dict[str, tuple[str, np.ndarray]],
    cfg: EvaluateConfig,
    training_log: dict[str, np.ndarray] | None,
    templates: Any,
) -> None:
    """Plots, displays of the first network, metrics.json and report.html under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    from jetpointnet.evaluation.figures import make_displays, make_plots

    models = metrics["models"]
    plots = make_plots(
        models, extras, out / "plots", training_log=training_log, pdf=cfg.pdf, templates=templates
    )
    displays = []
    if cfg.displays and link is not None and predictions:
        name = next(iter(predictions))
        examples = _display_examples(name, answers[name][1], extras[name], labels, link, cfg)
        # PNG and the interactive HTML only: a PDF of the layer display doubles its ~5 s of
        # drawing per example (``jetpointnet display`` writes one for a talk)
        displays = make_displays(examples, out / "displays", pdf=False)
    metrics["files"] = {
        "plots": [p.name for p in plots if p.suffix == ".png"],
        "displays": [p.name for p in displays],
    }
    _write_json(metrics, out / "metrics.json", overwrite=True)
    from jetpointnet.evaluation.report import write_report

    write_report(metrics, out, overwrite=True)


def _display_examples(
    name: str,
    answer: Any,
    extra: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    link: Stage1Link,
    cfg: EvaluateConfig,
) -> dict[str, dict[str, Any]]:
    """The best / typical / worst tracks of network ``name`` as event-display dicts."""
    picks = pick_examples(extra["pred_total"], extra["true_total"], min_true=cfg.metrics.min_true)
    per_cell = scatter_to_stage1(
        answer.energy, link.point_to_cell, len(link.stage1.cells["energy"])
    )
    examples: dict[str, dict[str, Any]] = {}
    for what, i in picks.items():
        if what not in cfg.displays or link.rows[i] < 0:
            continue
        true, pred = extra["true_total"][i], extra["pred_total"][i]
        title = (
            f"{what} track of {name}: sample {i}, event {int(labels['event_number'][i])}"
            f", pT {float(labels['track_pt'][i]):.1f} GeV, true {true:.2f} GeV, "
            f"predicted {pred:.2f} GeV"
        )
        examples[what] = display_dict(link.stage1, int(link.rows[i]), per_cell, title=title)
    return examples


def _classical(
    labels: dict[str, np.ndarray],
    link: Stage1Link,
    templates: Any,
    *,
    cfg: EvaluateConfig,
    progress: bool,
) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    """The classical algorithm's answer per point, the masks of the tracks it leaves to the
    calorimeter (by reason) and the ``pflow`` block of metrics.json."""
    from jetpointnet.evaluation.pflow.adapter import pflow_on_stage1, resolve_templates
    from jetpointnet.evaluation.pflow.algorithm import SIMPLIFICATIONS

    tpl = resolve_templates(templates)
    cell_pred, info = pflow_on_stage1(link.stage1, tpl, params=cfg.pflow_params, progress=progress)
    point_to_cell, s1 = link.point_to_cell, link.rows
    pred = np.where(point_to_cell >= 0, cell_pred[np.maximum(point_to_cell, 0)], 0.0)
    answer = interpret(pred, "regression", labels["energy"], threshold=cfg.metrics.threshold)
    status = np.where(s1 >= 0, info["status"][np.maximum(s1, 0)], -1)
    left = {st.name.lower(): status == int(st) for st in LEFT_TO_CALORIMETER}
    is_cell = labels["point_type"] == 0
    counts = np.bincount(status[status >= 0], minlength=len(TrackStatus))
    pflow_info = {
        "run": True,
        "templates": tpl.source or "eflowRec reference",
        "templates_warning": tpl.warning,
        "max_pt": cfg.pflow_params.max_pt,
        "simplifications": list(SIMPLIFICATIONS),
        "unaligned_cell_points": int(np.sum(is_cell & (point_to_cell < 0))),
        "track_status": {st.name.lower(): int(counts[st]) for st in TrackStatus},
        "split_recovery": int(np.sum(info["split_recovery"][s1[s1 >= 0]])),
        "left_to_calorimeter": list(left),
    }
    return answer, left, pflow_info


def _summary(
    models: dict[str, Any], extras: dict[str, dict[str, np.ndarray]], *, min_true: float
) -> dict[str, Any]:
    """Headline comparisons: each network against smart_random (F1) and the classical
    algorithm (track resolution and response on the tracks it subtracts; the network's
    figures on those same tracks too, ``*_network_same_tracks``)."""
    out: dict[str, Any] = {}
    same = extras.get(CLASSICAL, {}).get("scored")
    ref = models.get("smart_random")
    cls = models.get(CLASSICAL)
    for name, m in models.items():
        if m["kind"] != "network":
            continue
        row: dict[str, Any] = {"f1": m["cell"]["f1"]}
        if ref:
            row["f1_minus_smart_random"] = m["cell"]["f1"] - ref["cell"]["f1"]
            row["beats_smart_random"] = bool(m["cell"]["f1"] > ref["cell"]["f1"])
        if cls:
            for key in ("resolution_68", "response", "mape"):
                a, b = m["track"]["inclusive"][key], cls["track"]["inclusive"][key]
                row[f"{key}_network"], row[f"{key}_classical"] = a, b
            row["f1_classical"] = cls["cell"]["f1"]
            x = extras[name]
            if same is not None and same.size == x["pred_total"].size:
                tm = track_metrics(x["pred_total"][same], x["true_total"][same], min_true=min_true)
                row["resolution_68_network_same_tracks"] = tm["resolution_68"]
                row["response_network_same_tracks"] = tm["response"]
        out[name] = row
    return out


def evaluate_run(
    run_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str] | None = None,
    templates: Any = None,
    progress: bool = True,
    cfg: EvaluateConfig | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Predict with a trained run on ``split`` and evaluate (default output ``RUN/eval``).

    A tagging run (data kind ``jet``) goes to :func:`jetpointnet.evaluation.tagging.evaluate_tagging`,
    a photon run to :func:`jetpointnet.evaluation.photons.evaluate_photons`,
    an event-level run to :func:`jetpointnet.evaluation.event_eval.evaluate_event_run`.
    """
    from jetpointnet.evaluation.tagging import evaluate_tagging, is_tagging_run
    from jetpointnet.predict.event_run import is_event_run
    from jetpointnet.training.tagging_inference import run_kind

    if is_tagging_run(run_dir):
        return evaluate_tagging([run_dir], data_dir, split=split, out_dir=out_dir,
                                progress=progress, overwrite=overwrite)  # fmt: skip
    if run_kind(run_dir) == "photon":
        from jetpointnet.evaluation.photons import evaluate_photons

        return evaluate_photons([run_dir], data_dir, split=split, out_dir=out_dir,
                                progress=progress, overwrite=overwrite)  # fmt: skip
    if is_event_run(run_dir):
        from jetpointnet.evaluation.event_eval import evaluate_event_run

        return evaluate_event_run(run_dir, data_dir, split=split, progress=progress,
                                  out_dir=out_dir or Path(run_dir) / "eval",
                                  overwrite=overwrite)  # fmt: skip
    tpl_file = templates if isinstance(templates, str | os.PathLike) else None
    out = out_dir if out_dir is not None else Path(run_dir) / "eval"
    refuse_overlap([data_dir, *folder_files(run_dir), tpl_file], out)
    from jetpointnet.training.inference import predict
    from jetpointnet.training.logging import log_columns
    from jetpointnet.training.run_folder import read_run

    folder = read_run(run_dir)
    run, task = folder.path, folder.config.task.name
    import time

    t0 = time.perf_counter()
    pred = predict(folder, data_dir, split=split, progress=progress)
    seconds = time.perf_counter() - t0
    n = len(pred["offsets"]) - 1
    log = log_columns(run / "log.csv")
    epoch_times = log.get("epoch_time_s", np.zeros(0))
    run_info = {
        "parameters": folder.info.parameters,
        "training_seconds": float(np.nansum(epoch_times)) if epoch_times.size else None,
        "epochs": int(epoch_times.size),
        "run_dir": str(run),
        "name": run.name,
        "task": task,
        "model": folder.config.model.name,
        "config": to_dict(folder.config),
        "metadata": folder.metadata,
        "inference_seconds": seconds,
        "inference_samples_per_s": n / seconds if seconds > 0 else None,
    }
    return evaluate_predictions(
        {run.name: (task, pred["pred"])},
        data_dir,
        split=split,
        out_dir=out_dir if out_dir is not None else run / "eval",
        templates=templates,
        run_info=run_info,
        training_log=log,
        cfg=cfg,
        progress=progress,
        overwrite=overwrite,
        labels=pred,
    )

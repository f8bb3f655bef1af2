"""Turn any per-point answer (network, baseline, classical algorithm) into the same metrics.

An answer is read per task:

- ``regression`` (networks' energy head, the classical algorithm): ``pred`` is the focal
  energy in GeV; the cell is called focal when ``pred > threshold * |E_cell|`` (default
  threshold 0.5: more than half the cell); the ROC score is ``pred / |E_cell|``;
- ``binary``: ``pred`` is the focal probability; focal when ``pred > threshold``; the
  cell's energy counts as focal energy when the cell is called focal;
- ``multiclass``: ``pred`` is ``(P, 4)`` probabilities; the class is the argmax, focal
  when it is ``CellClass.FOCAL``; score ``P(FOCAL)``;
- ``decision`` (baselines): ``pred`` is 0/1.

Cell metrics use real cells with a label only (``point_type == CELL`` and ``label_mask``).
A track's predicted focal deposit is the sum of the focal energy over its sample's cell
points; its true deposit is ``truth_focal_total`` (or the sum of ``y_energy``).

Tracks an answer deliberately leaves to the calorimeter (the classical algorithm's vetoed,
not-selected and unmatched tracks: ``left_out``) are not scored as a prediction of zero:
they are left out of every track figure and reported as their own rows
(``track.left_to_calorimeter``: counts and the true focal energy they carry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from jetpointnet.data.schema import CellClass, PointType
from jetpointnet.evaluation.metrics import (
    binary_metrics,
    multiclass_metrics,
    roc_curve,
    segment_sum,
    track_report,
)

__all__ = ["Answer", "MetricsConfig", "Task", "interpret", "left_rows", "score_answer"]

Task = Literal["regression", "binary", "multiclass", "decision"]


def _pt_edges() -> list[float]:
    return [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 200.0]


def _eta_edges() -> list[float]:
    return [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


@dataclass
class MetricsConfig:
    """Options of the metrics (energies and pT in GeV).

    ``threshold``: focal decision for regression (fraction of the cell energy) and
    binary (probability) answers. ``min_true``: tracks with a smaller true focal deposit
    are left out of response, resolution and MAPE. ``dense_dr``: a track with another
    track within this Delta-R is *dense*. ``roc_points``: ROC curves are thinned to about
    this many points in ``metrics.json``.
    """

    threshold: float = 0.5
    min_true: float = 0.5
    dense_dr: float = 0.2
    pt_edges: list[float] = field(default_factory=_pt_edges)
    eta_edges: list[float] = field(default_factory=_eta_edges)
    roc_points: int = 200


@dataclass
class Answer:
    """One model's answer on every point: focal decision, focal energy (GeV), score, class."""

    focal: np.ndarray
    energy: np.ndarray
    score: np.ndarray | None = None
    cls: np.ndarray | None = None


def interpret(pred: np.ndarray, task: str, energy: np.ndarray, *, threshold: float = 0.5) -> Answer:
    """Read ``pred`` (per point) as described in the module docstring.

    ``task``: one of :data:`Task` (a run's task name; another is a ValueError)."""
    e = np.asarray(energy, dtype=np.float64)
    pred = np.asarray(pred)
    if task == "regression":
        val = pred.astype(np.float64).reshape(-1)
        absd = np.abs(e)
        score = np.divide(val, absd, out=np.zeros_like(val), where=absd > 0)
        return Answer(focal=val > threshold * absd, energy=val, score=score)
    if task == "binary":
        prob = pred.astype(np.float64).reshape(-1)
        focal = prob > threshold
        return Answer(focal=focal, energy=np.where(focal, e, 0.0), score=prob)
    if task == "multiclass":
        probs = pred.astype(np.float64).reshape(len(e), -1)
        cls = probs.argmax(axis=1)
        focal = cls == int(CellClass.FOCAL)
        return Answer(
            focal=focal,
            energy=np.where(focal, e, 0.0),
            score=probs[:, int(CellClass.FOCAL)],
            cls=cls,
        )
    if task == "decision":
        focal = pred.reshape(-1).astype(bool)
        return Answer(focal=focal, energy=np.where(focal, e, 0.0))
    raise ValueError(f"unknown task {task!r}")


def _thin(x: np.ndarray, y: np.ndarray, n: int) -> tuple[list[float], list[float]]:
    if x.size > n:
        keep = np.unique(np.r_[np.linspace(0, x.size - 1, n).astype(int), x.size - 1])
        x, y = x[keep], y[keep]
    return [float(v) for v in x], [float(v) for v in y]


def left_rows(
    left_out: dict[str, np.ndarray], true_total: np.ndarray, *, min_true: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Per reason, the tracks left to the calorimeter: ``n_tracks``, ``n_true_above_min``
    (those with a true focal deposit above ``min_true`` GeV), ``true_deposit_gev`` and
    ``true_fraction`` (of the true focal energy of all tracks)."""
    true = np.nan_to_num(np.asarray(true_total, dtype=np.float64))
    total = float(true.sum())
    out = {}
    for name, mask in left_out.items():
        m = np.asarray(mask, dtype=bool)
        dep = float(true[m].sum())
        out[name] = {
            "n_tracks": int(m.sum()),
            "n_true_above_min": int(np.sum(m & (true > min_true))),
            "true_deposit_gev": dep,
            "true_fraction": dep / total if total > 0 else 0.0,
        }
    return out


def score_answer(
    answer: Answer,
    labels: dict[str, np.ndarray],
    *,
    cfg: MetricsConfig | None = None,
    left_out: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metrics of one answer against the labels of a split.

    Returns ``(metrics, extras)``: ``metrics`` is JSON-ready (``cell``, ``cell_multiclass``
    for multi-class answers, ``track``, ``roc``); ``extras`` holds per-track
    ``pred_total`` / ``true_total`` (GeV) of the scored tracks and per-cell ``score`` for
    the plots. ``left_out``: reason -> per-track mask of tracks left to the calorimeter
    (module docstring); their cells still count in the cell metrics.
    """
    cfg = cfg or MetricsConfig()
    cell = (labels["point_type"] == int(PointType.CELL)) & labels["label_mask"].astype(bool)
    y = labels["y_binary"][cell] == 1
    e_cell = labels["energy"][cell]
    score = answer.score[cell] if answer.score is not None else None
    metrics: dict[str, Any] = {
        "cell": binary_metrics(y, answer.focal[cell], energy=e_cell, score=score)
    }
    if answer.cls is not None:
        metrics["cell_multiclass"] = multiclass_metrics(
            labels["y_class"][cell], answer.cls[cell], n_classes=len(CellClass), energy=e_cell
        )
    is_cell = labels["point_type"] == int(PointType.CELL)
    offsets = labels["offsets"]
    pred_total = segment_sum(np.where(is_cell, answer.energy, 0.0), offsets)
    if "truth_focal_total" in labels:
        true_total = np.asarray(labels["truth_focal_total"], dtype=np.float64)
    else:
        true_total = segment_sum(np.where(is_cell, labels["y_energy"], 0.0), offsets)
    n = len(offsets) - 1
    keep = np.ones(n, dtype=bool)
    for mask in (left_out or {}).values():
        keep &= ~np.asarray(mask, dtype=bool)
    metrics["track"] = track_report(
        pred_total[keep],
        true_total[keep],
        track_pt=np.asarray(labels.get("track_pt", np.zeros(n)))[keep],
        track_eta=np.asarray(labels.get("track_eta", np.zeros(n)))[keep],
        min_dr_other=np.asarray(labels.get("min_dr_other", np.full(n, np.inf)))[keep],
        pt_edges=cfg.pt_edges,
        eta_edges=cfg.eta_edges,
        dense_dr=cfg.dense_dr,
        min_true=cfg.min_true,
    )
    if left_out is not None:
        metrics["track"]["left_to_calorimeter"] = left_rows(
            left_out, true_total, min_true=cfg.min_true
        )
    extras: dict[str, np.ndarray] = {
        "pred_total": pred_total[keep],
        "true_total": true_total[keep],
        "scored": keep,
    }
    metrics["roc"] = None
    if score is not None and metrics["cell"]["auc"] is not None:
        fpr, tpr, _ = roc_curve(y, score)
        fx, ty = _thin(fpr, tpr, cfg.roc_points)
        metrics["roc"] = {"fpr": fx, "tpr": ty}
        extras["fpr"], extras["tpr"] = fpr, tpr
    return metrics, extras

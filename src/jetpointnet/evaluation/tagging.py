"""``evaluate`` on tagging runs: the same metrics for every tagger and the cut-based baselines.

On one split of a preprocessed ``jet`` folder (default ``test``), for each run and for
the cut-based taggers of :mod:`jetpointnet.evaluation.tagging_baseline` (fitted on the
``train`` split): accuracy (argmax), AUC and the background rejection ``1/eps_B`` at
signal efficiencies 30 %, 50 % and 80 % with bootstrap errors
(:mod:`jetpointnet.evaluation.tagging_metrics`), the confusion matrix normalised per
true class, the AUC in bins of reco jet pT. The signal is the last class of the data's
``classes`` (``wz`` in ["qcd", "wz"]); every other class is background. ROC quantities
use the per-jet ``weight`` when ``weighted`` (default: background pT reweighted to the
signal's, so the rejection does not follow the pT spectrum); accuracy and confusion
matrices count jets.

Outputs in ``out_dir``: ``metrics.json``, ``roc.png`` (every tagger and baseline on one
plot), ``auc_vs_pt.png``, ``scores.png``, ``confusion_<run>.png``, ``tagging.html`` (the
report section, an HTML fragment) and ``report.html`` (that section as a page).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.config import to_dict
from jetpointnet.errors import UserError
from jetpointnet.evaluation.tagging_baseline import BASELINES, baseline_scores, fit_mass_window
from jetpointnet.evaluation.tagging_metrics import (
    WORKING_POINTS,
    auc_in_bins,
    binary_summary,
    normalised_confusion,
    tagging_roc,
)
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.pages import render_page, write_page
from jetpointnet.training.tagging_inference import is_tagging_run

__all__ = [
    "ScoreTables",
    "TaggingEvalConfig",
    "evaluate_tagging",
    "is_tagging_run",
    "open_evaluation",
    "plus_minus",
    "tagging_context",
    "tagging_section",
    "write_evaluation",
]


@dataclass
class TaggingEvalConfig:
    """Options of :func:`evaluate_tagging` (pT edges in GeV)."""

    n_boot: int = 100
    seed: int = 0
    weighted: bool = True
    containment: float = 0.8
    pt_edges: list[float] = field(default_factory=lambda: [200, 300, 400, 600, 800, 1200, 3000])
    train_split: str = "train"
    baselines: list[str] = field(default_factory=lambda: list(BASELINES))


class ScoreTables:
    """Per-tagger results filled tagger by tagger: summary rows, ROC curves, scores.

    ``test``: the split's per-object table (``y_cloud``, ``weight``, observers); the
    signal is class ``sig``; ROC quantities use ``weight`` when ``weighted``.
    """

    def __init__(
        self, test: dict[str, np.ndarray], sig: int, *, n_boot: int, seed: int, weighted: bool
    ) -> None:
        self.test, self.n_boot, self.seed = test, n_boot, seed
        self.is_signal = test["y_cloud"] == sig
        self.w = test["weight"].astype(np.float64) if weighted else None
        self.summary: dict[str, dict[str, Any]] = {}
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.scores: dict[str, np.ndarray] = {}

    def add(self, name: str, score: np.ndarray, *, pred: np.ndarray | None = None) -> dict:
        """Score ``name``'s row (AUC, rejections, accuracy of ``pred``) and ROC curve."""
        y, w = self.is_signal, self.w
        row: dict[str, Any] = {"name": name}
        row.update(binary_summary(y, score, weights=w, n_boot=self.n_boot, seed=self.seed))
        row["accuracy"] = float((pred == self.test["y_cloud"]).mean()) if pred is not None else None
        self.summary[name] = row
        self.curves[name] = tagging_roc(y, score, weights=w)
        return row


class _Tables(ScoreTables):
    """The W/Z tables: the rows and the AUC in bins of reco jet pT."""

    def __init__(self, test: dict[str, np.ndarray], sig: int, cfg: TaggingEvalConfig) -> None:
        super().__init__(test, sig, n_boot=cfg.n_boot, seed=cfg.seed, weighted=cfg.weighted)
        self.cfg = cfg
        self.by_pt: dict[str, list[dict[str, float]]] = {}

    def add(self, name: str, score: np.ndarray, *, pred: np.ndarray | None = None) -> dict:
        row = super().add(name, score, pred=pred)
        cfg, y, w = self.cfg, self.is_signal, self.w
        self.by_pt[name] = auc_in_bins(y, score, self.test["jet_pt"], cfg.pt_edges, weights=w,
                                       n_boot=min(cfg.n_boot, 30), seed=cfg.seed)  # fmt: skip
        return row


def open_evaluation(
    runs: Sequence[str | os.PathLike[str]],
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None,
    *,
    overwrite: bool,
) -> tuple[Path, list[tuple[str, Any]]]:
    """The output folder (default ``FIRST_RUN/eval``, created) and the loaded runs by name.

    UserErrors: no run, an output inside the inputs, an earlier evaluation there (without
    ``overwrite``), two runs of the same folder name (they name the rows).
    """
    from jetpointnet.training.tagging_inference import load_tagging_run

    if not runs:
        raise UserError("evaluate: no tagging run given")
    out = Path(out_dir) if out_dir is not None else Path(runs[0]) / "eval"
    refuse_overlap([data_dir, *(f for r in runs for f in folder_files(r))], out)
    if (out / "metrics.json").exists() and not overwrite:
        raise UserError(f"{out}: holds an evaluation (pass --overwrite to replace it)")
    names = [Path(r).name for r in runs]
    if len(set(names)) != len(names):
        raise UserError(
            f"evaluate: the runs' folder names must differ (they name the rows): {names}"
        )
    loaded = [(name, load_tagging_run(r)) for name, r in zip(names, runs, strict=True)]
    out.mkdir(parents=True, exist_ok=True)
    return out, loaded


def write_evaluation(out: Path, metrics: dict[str, Any], context: dict[str, Any]) -> None:
    """``tagging.html`` (the section), ``report.html`` and ``metrics.json`` (last) in ``out``."""
    with atomic_output(out / "tagging.html", overwrite=True) as tmp:
        tmp.write_text(render_page("_tagging_section.html.j2", **context), encoding="utf-8")
    write_page(out / "report.html", "tagging.html.j2", **context)
    with atomic_output(out / "metrics.json", overwrite=True) as tmp:
        tmp.write_text(strict_dumps(metrics, indent=2, sort_keys=True) + "\n")


def _figures(tables: _Tables, out: Path, split: str) -> None:
    from jetpointnet.plotting.style import save_figure
    from jetpointnet.plotting.tagging import auc_vs_pt_figure, rejection_roc_figure, score_figure

    y = tables.is_signal
    extra = f"{split}: {y.sum()} signal, {(~y).sum()} background jets"
    roc = rejection_roc_figure(tables.curves, working_points=WORKING_POINTS, extra=extra)
    save_figure(roc, out / "roc", pdf=False)
    save_figure(auc_vs_pt_figure(tables.by_pt, extra=extra), out / "auc_vs_pt", pdf=False)
    save_figure(score_figure(tables.scores, y, weights=tables.w), out / "scores", pdf=False)


def evaluate_tagging(
    runs: Sequence[str | os.PathLike[str]],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str] | None = None,
    cfg: TaggingEvalConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Evaluate the tagging ``runs`` and the baselines on ``split`` of ``data_dir``.

    Returns the metrics (also written to ``out_dir/metrics.json``; default
    ``FIRST_RUN/eval``): ``summary`` (name -> row), ``confusion``, ``auc_vs_pt``,
    ``baseline_window``, ``classes``, ``n_test``, ``n_train`` and ``config``.
    """
    from jetpointnet.plotting.style import save_figure
    from jetpointnet.plotting.tagging import confusion_figure
    from jetpointnet.training.tagging_inference import jet_table, score_split

    cfg = cfg or TaggingEvalConfig()
    out, loaded = open_evaluation(runs, data_dir, out_dir, overwrite=overwrite)
    test, train = jet_table(data_dir, split), jet_table(data_dir, cfg.train_split)
    classes = loaded[0][1].classes
    sig = len(classes) - 1
    tables, confusion = _Tables(test, sig, cfg), {}
    for name, run in loaded:
        probs = score_split(run, data_dir, split=split, progress=progress)
        pred = probs.argmax(axis=1)
        tables.add(name, probs[:, sig], pred=pred)["model"] = run.cfg.model.name
        tables.scores[name] = probs[:, sig]
        cm = normalised_confusion(test["y_cloud"], pred, n_classes=len(classes))
        confusion[name] = cm.tolist()
        save_figure(confusion_figure(cm, classes, title=name), out / f"confusion_{name}", pdf=False)
    window = fit_mass_window(train["jet_m"][train["y_cloud"] == sig], containment=cfg.containment)
    for base in cfg.baselines:
        tables.add(f"cut:{base}", baseline_scores(base, window, mass=test["jet_m"],
                                                  tau21=test["tau21"], d2=test["d2"]))  # fmt: skip
    _figures(tables, out, split)
    metrics = {
        "kind": "jet",
        "split": split,
        "classes": classes,
        "signal": classes[sig],
        "n_test": len(tables.is_signal),
        "n_train": len(train["y_cloud"]),
        "summary": tables.summary,
        "confusion": confusion,
        "auc_vs_pt": tables.by_pt,
        "baseline_window": {"lo": window.lo, "hi": window.hi, "containment": window.containment},
        "runs": [str(Path(r)) for r in runs],
        "config": to_dict(cfg),
    }
    write_evaluation(out, metrics, tagging_context(metrics, out))
    return metrics


def plus_minus(row: dict[str, Any], key: str) -> str:
    """``row[key] ± row[key_err]`` for a table (AUC to 4 digits, rejections to 1; n/a)."""
    v, e = row.get(key), row.get(f"{key}_err")
    if v is None:
        return "n/a"
    if not np.isfinite(v):
        return "n/a"
    digits = 4 if key == "auc" else 1
    if row.get(f"{key}_lower_bound"):
        return f"> {v:.0f} (no background passes)"
    return (
        f"{v:.{digits}f} ± {e:.{digits}f}"
        if e is not None and np.isfinite(e)
        else f"{v:.{digits}f}"
    )


def tagging_context(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the tagging templates show: the note, the table and the figures (PNG paths)."""
    out = Path(out_dir)
    header = ["tagger", "accuracy", "AUC"]
    header += [f"1/eps_B at {round(100 * wp)} %" for wp in WORKING_POINTS]
    rows = []
    for name, row in metrics["summary"].items():
        rej = [plus_minus(row, f"rejection_{round(100 * wp)}") for wp in WORKING_POINTS]
        rows.append([name, row.get("accuracy"), plus_minus(row, "auc"), *rej])
    win = metrics["baseline_window"]
    note = (
        f"{metrics['split']} split: {metrics['n_test']} jets (signal: {metrics['signal']}); "
        f"{metrics['n_train']} training jets; mass window {win['lo']:.1f}-{win['hi']:.1f} GeV "
        f"({100 * win['containment']:.0f} % of training signal); errors: bootstrap standard "
        "deviations."
    )
    figures = [
        (out / "roc.png", "background rejection against signal efficiency"),
        (out / "auc_vs_pt.png", "AUC in bins of reco jet pT"),
        (out / "scores.png", "signal probability of signal and background jets"),
    ]
    figures += [
        (out / f"confusion_{n}.png", f"confusion matrix of {n}") for n in metrics["confusion"]
    ]
    return {"title": "jetpointnet tagging", "heading": "Tagging evaluation", "note": note,
            "header": header, "rows": rows, "figures": figures}  # fmt: skip


def tagging_section(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> str:
    """The report section (an HTML fragment): the table, the ROC, AUC vs pT, confusions."""
    return render_page("_tagging_section.html.j2", **tagging_context(metrics, out_dir))

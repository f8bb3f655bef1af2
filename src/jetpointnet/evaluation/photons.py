"""``evaluate`` on photon runs: displaced against prompt photons, and the pointing baseline.

On one split of a preprocessed ``photon`` folder (default ``test``), for each run and for
the cut-based pointing tagger (score ``|pointing_z0|``, mm: a shower that does not point
back to the beam line has a large z0; undefined pointing, NaN, in the barrel's EM
acceptance (abs(obj_eta) < 1.475: the object lacks EMB1 or EMB2 energy, a shower that
started past EMB1 or has no EM part) scores above every defined one, elsewhere (the
end-caps: no pointing measured) -1, below every defined one): the AUC, the prompt rejection ``1/eps_B`` at 30, 50 and 80 % displaced
(signal) efficiency with bootstrap errors (:mod:`jetpointnet.evaluation.tagging_metrics`),
and the displaced efficiency in bins of the transverse decay distance ``lxy`` (mm,
default 0-4000) at the cuts of the 50 % and 80 % working points (cuts set on all
displaced objects of the split). The signal is the last class of ``classes``
(``displaced``); ROC quantities use the per-object ``weight`` when ``weighted``.

Outputs in ``out_dir``: ``metrics.json``, ``roc.png``, ``efficiency_lxy.png``,
``scores.png``, ``tagging.html`` (the report section) and ``report.html``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.config import to_dict
from jetpointnet.errors import UserError
from jetpointnet.evaluation.tagging import (
    ScoreTables,
    open_evaluation,
    plus_minus,
    write_evaluation,
)
from jetpointnet.evaluation.tagging_metrics import WORKING_POINTS

__all__ = [
    "BARREL_EM_ETA",
    "NO_POINTING_BARREL",
    "POINTING",
    "PhotonEvalConfig",
    "cut_at_efficiency",
    "efficiency_in_bins",
    "evaluate_photons",
    "photon_context",
    "pointing_score",
]

#: The name of the pointing baseline in the tables.
POINTING = "cut:pointing_z0"


@dataclass
class PhotonEvalConfig:
    """Options of :func:`evaluate_photons` (``lxy_edges`` in mm)."""

    n_boot: int = 100
    seed: int = 0
    weighted: bool = True
    lxy_edges: list[float] = field(
        default_factory=lambda: [0, 250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000]
    )
    working_points: list[float] = field(default_factory=lambda: [0.5, 0.8])
    baseline: bool = True


#: abs(eta) of the barrel EM calorimeter's acceptance (EMB1 and EMB2 cells).
BARREL_EM_ETA = 1.475
#: The pointing score of a barrel object without an EMB1 -> EMB2 line: above any z0 (mm).
NO_POINTING_BARREL = 1.0e6


def pointing_score(z0: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """``|z0|`` (mm) of the EMB1 -> EMB2 pointing; where it is undefined (NaN), objects at
    ``abs(eta) < BARREL_EM_ETA`` score :data:`NO_POINTING_BARREL` (a barrel shower missing
    EMB1 or EMB2 does not come from the beam line), the others -1 (not measured)."""
    z0 = np.asarray(z0, dtype=np.float64)
    barrel = np.abs(np.asarray(eta, dtype=np.float64)) < BARREL_EM_ETA
    undefined = np.where(barrel, NO_POINTING_BARREL, -1.0)
    return np.where(np.isfinite(z0), np.abs(z0), undefined)


def cut_at_efficiency(score: np.ndarray, weights: np.ndarray | None, eff: float) -> float:
    """The lowest cut ``c`` such that ``score >= c`` keeps at most ``eff`` of the weight
    (at least one object): the signal objects' working point."""
    s = np.asarray(score, np.float64)
    if not s.size:
        return float("nan")
    w = np.ones_like(s) if weights is None else np.asarray(weights, np.float64)
    order = np.argsort(-s, kind="stable")
    kept = np.cumsum(w[order]) / max(w.sum(), 1e-300)
    k = max(0, int(np.searchsorted(kept, eff, side="right")) - 1)
    return float(s[order][k])


def efficiency_in_bins(
    passed: np.ndarray,
    values: np.ndarray,
    edges: Sequence[float],
    *,
    weights: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Weighted fraction of ``passed`` in bins of ``values``: rows ``{lo, hi, eff, err, n}``.

    ``err`` is the binomial ``sqrt(eff (1 - eff) / n_eff)`` (``n_eff`` = effective count);
    a bin without objects has ``eff`` NaN.
    """
    w = np.ones(len(values)) if weights is None else np.asarray(weights, np.float64)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        sel = (values >= lo) & (values < hi)
        n, ws = int(sel.sum()), w[sel]
        row = {"lo": float(lo), "hi": float(hi), "n": n, "eff": float("nan"), "err": float("nan")}
        if n and ws.sum() > 0:
            eff = float((ws * passed[sel]).sum() / ws.sum())
            n_eff = ws.sum() ** 2 / (ws**2).sum()
            row.update(eff=eff, err=float(np.sqrt(max(eff * (1 - eff), 0.0) / n_eff)))
        rows.append(row)
    return rows


class _Tables(ScoreTables):
    """The photon tables: the rows and the displaced efficiency against lxy."""

    def __init__(self, test: dict[str, np.ndarray], sig: int, cfg: PhotonEvalConfig) -> None:
        super().__init__(test, sig, n_boot=cfg.n_boot, seed=cfg.seed, weighted=cfg.weighted)
        self.cfg = cfg
        self.by_lxy: dict[str, dict[str, Any]] = {}

    def add(self, name: str, score: np.ndarray, *, pred: np.ndarray | None = None) -> dict:
        row = super().add(name, score, pred=pred)
        cfg, y, w = self.cfg, self.is_signal, self.w
        w_sig = None if w is None else w[y]
        lxy = np.asarray(self.test["lxy"], np.float64)[y]
        self.by_lxy[name] = {}
        for wp in cfg.working_points:
            cut = cut_at_efficiency(score[y], w_sig, wp)
            rows = efficiency_in_bins(score[y] >= cut, lxy, cfg.lxy_edges, weights=w_sig)
            passed_bkg = score[~y] >= cut
            self.by_lxy[name][f"{round(100 * wp)}"] = {
                "cut": cut,
                "prompt_efficiency": float(passed_bkg.mean()) if passed_bkg.size else None,
                "bins": rows,
            }
        return row


def _figures(tables: _Tables, out: Path, split: str) -> None:
    from jetpointnet.plotting.photons import efficiency_lxy_figure
    from jetpointnet.plotting.style import save_figure
    from jetpointnet.plotting.tagging import rejection_roc_figure, score_figure

    y = tables.is_signal
    extra = f"{split}: {y.sum()} displaced, {(~y).sum()} prompt"
    roc = rejection_roc_figure(tables.curves, working_points=WORKING_POINTS, extra=extra)
    save_figure(roc, out / "roc", pdf=False)
    save_figure(
        efficiency_lxy_figure(tables.by_lxy, extra=extra), out / "efficiency_lxy", pdf=False
    )
    save_figure(score_figure(tables.scores, y, weights=tables.w), out / "scores", pdf=False)


def evaluate_photons(
    runs: Sequence[str | os.PathLike[str]],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str] | None = None,
    cfg: PhotonEvalConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Evaluate the photon ``runs`` and the pointing baseline on ``split`` of ``data_dir``.

    Returns the metrics (also ``out_dir/metrics.json``; default ``FIRST_RUN/eval``):
    ``summary`` (name -> AUC, ``rejection_30/50/80`` with errors, accuracy),
    ``efficiency_vs_lxy`` (name -> working point -> cut and bins), ``classes``, ``n_test``.
    """
    from jetpointnet.io.prep_folder import read_metadata
    from jetpointnet.training.photon_kind import photon_observers
    from jetpointnet.training.tagging_inference import jet_table, score_split

    cfg = cfg or PhotonEvalConfig()
    metadata = read_metadata(data_dir)
    observers = photon_observers(metadata, where=str(Path(data_dir) / "metadata.json"))
    for need in ("lxy", "pointing_z0", "obj_eta"):
        if need not in observers:
            raise UserError(f"{data_dir}/metadata.json: 'observers' lacks '{need}'")
    out, loaded = open_evaluation(runs, data_dir, out_dir, overwrite=overwrite)
    test = jet_table(data_dir, split, observers=observers)
    classes = loaded[0][1].classes
    sig = len(classes) - 1
    tables = _Tables(test, sig, cfg)
    for name, run in loaded:
        probs = score_split(run, data_dir, split=split, progress=progress)
        tables.add(name, probs[:, sig], pred=probs.argmax(axis=1))["model"] = run.cfg.model.name
        tables.scores[name] = probs[:, sig]
    if cfg.baseline:
        tables.add(POINTING, pointing_score(test["pointing_z0"], test["obj_eta"]))
    _figures(tables, out, split)
    metrics = {
        "kind": "photon",
        "split": split,
        "classes": classes,
        "signal": classes[sig],
        "n_test": len(tables.is_signal),
        "summary": tables.summary,
        "efficiency_vs_lxy": tables.by_lxy,
        "runs": [str(Path(r)) for r in runs],
        "config": to_dict(cfg),
    }
    write_evaluation(out, metrics, photon_context(metrics, out))
    return metrics


def photon_context(metrics: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the tagging templates show for a photon evaluation: note, table, figures."""
    out = Path(out_dir)
    wps = list(next(iter(metrics["efficiency_vs_lxy"].values()), {}))
    header = ["tagger", "accuracy", "AUC"]
    header += [f"prompt 1/eps_B at {round(100 * wp)} %" for wp in WORKING_POINTS]
    header += [f"cut at {wp} % (prompt kept)" for wp in wps]
    rows = []
    for name, row in metrics["summary"].items():
        rej = [plus_minus(row, f"rejection_{round(100 * wp)}") for wp in WORKING_POINTS]
        cuts = []
        for wp in wps:
            point = metrics["efficiency_vs_lxy"][name][wp]
            kept = point["prompt_efficiency"]
            cuts.append(f"{point['cut']:.4g} ({'n/a' if kept is None else f'{kept:.3f}'})")
        rows.append([name, row.get("accuracy"), plus_minus(row, "auc"), *rej, *cuts])
    note = (
        f"{metrics['split']} split: {metrics['n_test']} objects (signal: {metrics['signal']}); "
        f"{POINTING}: |z0| of the EMB1 -> EMB2 pointing (mm); errors: bootstrap standard "
        "deviations; efficiencies against lxy at the cuts of the working points."
    )
    figures = [
        (out / "roc.png", "prompt rejection against displaced efficiency"),
        (out / "efficiency_lxy.png", "displaced efficiency against the decay's lxy"),
        (out / "scores.png", "displaced probability of displaced and prompt objects"),
    ]
    return {"title": "jetpointnet photon tagging", "heading": "Photon tagging", "note": note,
            "header": header, "rows": rows, "figures": figures}  # fmt: skip

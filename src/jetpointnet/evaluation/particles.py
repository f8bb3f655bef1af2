"""Particle-level and cell-level evaluation of event-level particle flow.

Predicted and target particles are two ``particles.parquet`` tables
(:mod:`jetpointnet.io.particles`). Per event (``file_index``, ``entry``; the regions of
an event count as one event), charged particles (``track_index >= 0``) and neutral
particles are matched separately with HGPflow's cost
``sqrt((delta pT / pT_target)^2 + delta R^2)`` (``scipy.optimize.linear_sum_assignment``);
an assigned pair with a cost above ``threshold`` (:data:`MATCH_THRESHOLD`, 0.5) is no
match. Predictions with ``existence < min_existence`` (0.5) are not particles.

* efficiency per target class and bin of target pT: matched targets / targets;
* fake rate per predicted class and bin of predicted pT: unmatched predictions / predictions;
* residuals of matched photons and neutral hadrons (by target class): median and IQR of
  ``E_pred / E_target - 1``, ``eta_pred - eta_target`` and ``phi_pred - phi_target``
  (wrapped);
* cell level (:func:`cell_accuracy`, when the prediction carries an incidence):
  the energy-weighted fraction of cell energy given to the right particle,
  ``sum_c E_c sum_k min(q_ck, q^_ck) / sum_c E_c`` over real cells with E_c > 0, the
  prediction's neutral slots permuted onto the targets by the matching.

Units: GeV, radians. :func:`particles_section` renders the numbers as an HTML fragment.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from jetpointnet.io.particles import PARTICLE_CLASSES

__all__ = [
    "MATCH_THRESHOLD",
    "PT_BINS",
    "cell_accuracy",
    "match_particles",
    "particle_metrics",
    "particles_section",
]

MATCH_THRESHOLD = 0.5
PT_BINS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, np.inf)
_NEUTRAL_CLASSES = ("photon", "neutral_hadron")


def _cost(t: dict, ti: np.ndarray, p: dict, pi: np.ndarray) -> np.ndarray:
    tpt = np.maximum(np.asarray(t["pt"], np.float64)[ti], 1e-6)
    dpt = (np.asarray(p["pt"], np.float64)[pi][None, :] - tpt[:, None]) / tpt[:, None]
    deta = (
        np.asarray(p["eta"], np.float64)[pi][None, :]
        - np.asarray(t["eta"], np.float64)[ti][:, None]
    )
    dphi = np.angle(np.exp(1j * (np.asarray(p["phi"], np.float64)[pi][None, :]
                                 - np.asarray(t["phi"], np.float64)[ti][:, None])))  # fmt: skip
    return np.sqrt(dpt**2 + deta**2 + dphi**2)


def _events(table: dict) -> np.ndarray:
    return np.asarray(table["file_index"], np.int64) * (1 << 40) + np.asarray(
        table["entry"], np.int64
    )


def match_particles(
    target: dict, pred: dict, *, threshold: float = MATCH_THRESHOLD, min_existence: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Per target row the matched prediction row (-1: none), and per prediction row the
    matched target row (-1: none; also for predictions below ``min_existence``)."""
    nt, npred = len(target["pt"]), len(pred["pt"])
    t_match = np.full(nt, -1, np.int64)
    p_match = np.full(npred, -1, np.int64)
    t_ev, p_ev = _events(target), _events(pred)
    alive = np.asarray(pred["existence"], np.float64) >= min_existence
    t_ch = np.asarray(target["track_index"]) >= 0
    p_ch = np.asarray(pred["track_index"]) >= 0
    t_order, p_order = np.argsort(t_ev, kind="stable"), np.argsort(p_ev, kind="stable")
    evs = np.unique(np.concatenate([t_ev, p_ev]))
    t_lo, t_hi = np.searchsorted(t_ev[t_order], evs), np.searchsorted(t_ev[t_order], evs, "right")
    p_lo, p_hi = np.searchsorted(p_ev[p_order], evs), np.searchsorted(p_ev[p_order], evs, "right")
    for k in range(len(evs)):
        ti_all, pi_all = t_order[t_lo[k] : t_hi[k]], p_order[p_lo[k] : p_hi[k]]
        pi_all = pi_all[alive[pi_all]]
        for charged in (True, False):
            ti = ti_all[t_ch[ti_all] == charged]
            pi = pi_all[p_ch[pi_all] == charged]
            if not len(ti) or not len(pi):
                continue
            cost = _cost(target, ti, pred, pi)
            r, c = linear_sum_assignment(cost)
            ok = cost[r, c] <= threshold
            t_match[ti[r[ok]]] = pi[c[ok]]
            p_match[pi[c[ok]]] = ti[r[ok]]
    return t_match, p_match


def _binned(pt: np.ndarray, good: np.ndarray, edges) -> list[dict[str, Any]]:
    out = []
    for lo, hi in itertools.pairwise(edges):
        m = (pt >= lo) & (pt < hi)
        n = int(m.sum())
        out.append({"lo": float(lo), "hi": float(hi), "n": n,
                    "value": float(good[m].mean()) if n else None})  # fmt: skip
    return out


def _spread(x: np.ndarray) -> dict[str, Any]:
    if len(x) == 0:
        return {"n": 0, "median": None, "iqr": None}
    q25, q50, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    return {"n": len(x), "median": float(q50), "iqr": float(q75 - q25)}


def particle_metrics(
    target: dict, pred: dict, *, threshold: float = MATCH_THRESHOLD,
    min_existence: float = 0.5, pt_bins=PT_BINS,
) -> dict[str, Any]:  # fmt: skip
    """Efficiency, fake rate (per class, in pT bins) and neutral residuals (module docs)."""
    t_match, p_match = match_particles(target, pred, threshold=threshold,
                                       min_existence=min_existence)  # fmt: skip
    t_cls, p_cls = np.asarray(target["class"]).astype(str), np.asarray(pred["class"]).astype(str)
    t_pt, p_pt = np.asarray(target["pt"], np.float64), np.asarray(pred["pt"], np.float64)
    alive = np.asarray(pred["existence"], np.float64) >= min_existence
    eff, fake, resid = {}, {}, {}
    for c in PARTICLE_CLASSES:
        m = t_cls == c
        eff[c] = {"n": int(m.sum()), "overall": float((t_match[m] >= 0).mean()) if m.any() else None,
                  "bins": _binned(t_pt[m], t_match[m] >= 0, pt_bins)}  # fmt: skip
        mp = (p_cls == c) & alive
        fake[c] = {"n": int(mp.sum()),
                   "overall": float((p_match[mp] < 0).mean()) if mp.any() else None,
                   "bins": _binned(p_pt[mp], p_match[mp] < 0, pt_bins)}  # fmt: skip
    for c in _NEUTRAL_CLASSES:
        ti = np.flatnonzero((t_cls == c) & (t_match >= 0))
        pi = t_match[ti]
        te = np.asarray(target["E"], np.float64)[ti]
        pe = np.asarray(pred["E"], np.float64)[pi]
        deta = np.asarray(pred["eta"], np.float64)[pi] - np.asarray(target["eta"], np.float64)[ti]
        dphi = np.angle(np.exp(1j * (np.asarray(pred["phi"], np.float64)[pi]
                                     - np.asarray(target["phi"], np.float64)[ti])))  # fmt: skip
        resid[c] = {"E": _spread(pe / np.maximum(te, 1e-9) - 1.0), "eta": _spread(deta),
                    "phi": _spread(dphi)}  # fmt: skip
    return {
        "threshold": threshold,
        "min_existence": min_existence,
        "pt_bins": [float(x) for x in pt_bins],
        "n_target": len(t_pt),
        "n_pred": int(alive.sum()),
        "efficiency": eff,
        "fake_rate": fake,
        "residuals": resid,
    }


def cell_accuracy(
    q_true: np.ndarray, q_pred: np.ndarray, cell_energy: np.ndarray, cell_mask: np.ndarray,
    *, neutral_perm: np.ndarray | None = None, n_tracks: int | None = None,
) -> float:  # fmt: skip
    """Energy-weighted fraction of cell energy given to the right particle.

    ``q_true``, ``q_pred``: (n, Lc, S) incidences in the same slot layout (charged slots
    first, then neutrals, noise last). ``neutral_perm`` (n, Kt): per target neutral slot
    the prediction's neutral slot it was matched to (-1: none; its share counts as wrong);
    None when the slots are already aligned. ``n_tracks`` (Lt) is needed with a permutation.
    """
    q_true = np.asarray(q_true, np.float64)
    q_pred = np.asarray(q_pred, np.float64)
    if neutral_perm is not None:
        if n_tracks is None:
            raise ValueError("cell_accuracy: neutral_perm needs n_tracks")
        aligned = q_pred.copy()
        kt = neutral_perm.shape[1]
        for s in range(len(q_pred)):
            for j in range(kt):
                src = neutral_perm[s, j]
                col = n_tracks + j
                aligned[s, :, col] = q_pred[s, :, n_tracks + src] if src >= 0 else 0.0
        q_pred = aligned
    w = np.where(cell_mask, np.maximum(np.asarray(cell_energy, np.float64), 0.0), 0.0)
    right = np.minimum(q_true, q_pred).sum(axis=-1)
    total = w.sum()
    return float((w * right).sum() / total) if total > 0 else float("nan")


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def particles_section(metrics: dict[str, Any], *, figures: Sequence[str] = ()) -> str:
    """An HTML fragment (a ``<section>``) with the particle-level numbers and figures."""
    rows = "".join(
        f"<tr><td>{html.escape(c)}</td><td>{metrics['efficiency'][c]['n']}</td>"
        f"<td>{_fmt(metrics['efficiency'][c]['overall'])}</td>"
        f"<td>{metrics['fake_rate'][c]['n']}</td><td>{_fmt(metrics['fake_rate'][c]['overall'])}</td></tr>"
        for c in PARTICLE_CLASSES
    )
    res = "".join(
        f"<tr><td>{c}</td>" + "".join(
            f"<td>{_fmt(metrics['residuals'][c][v]['median'])} / "
            f"{_fmt(metrics['residuals'][c][v]['iqr'])}</td>" for v in ("E", "eta", "phi"))
        + "</tr>" for c in _NEUTRAL_CLASSES
    )  # fmt: skip
    figs = "".join(f'<img src="{html.escape(f)}" alt="{html.escape(f)}">' for f in figures)
    cell = metrics.get("cell_accuracy")
    cell_line = f"<p>Cell level: {_fmt(cell)} of the cell energy given to the right particle.</p>"
    return (
        "<section><h2>Event-level particles</h2>"
        f"<p>Matching: cost sqrt((dpT/pT)^2 + dR^2) &le; {metrics['threshold']}, charged and "
        f"neutral separately; {metrics['n_target']} targets, {metrics['n_pred']} predictions.</p>"
        "<table><tr><th>class</th><th>targets</th><th>efficiency</th><th>predicted</th>"
        f"<th>fake rate</th></tr>{rows}</table>"
        "<table><tr><th>matched</th><th>E/E_t - 1 (median / IQR)</th><th>d eta</th>"
        f"<th>d phi</th></tr>{res}</table>"
        f"{cell_line if cell is not None else ''}{figs}</section>"
    )

"""The tables ``jetpointnet jets`` writes: per-jet and per-truth-jet columns, and summary.json.

Columns per chunk (:func:`jet_columns`, :func:`matched_columns`) are stacked over chunks
and algorithms (:func:`stack`); :func:`summary` holds the response tables and counts
(GeV, radians; milliseconds per event for the timings).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from jetpointnet.evaluation.pflow.algorithm import TrackStatus
from jetpointnet.jets.clustering import Jets
from jetpointnet.jets.response import response_table

__all__ = ["jet_columns", "matched_columns", "stack", "summary"]


def jet_columns(j: Jets, ev, file_index: int) -> dict[str, np.ndarray]:
    return {
        "file_index": np.full(len(j), file_index, np.int32),
        "entry": ev.entry[j.event],
        "event_number": ev.event_number[j.event],
        "mu": ev.mu[j.event].astype(np.float32),
        "pt": j.pt, "eta": j.eta, "phi": j.phi, "mass": j.mass, "energy": j.energy,
        "n_constituents": j.n_constituents,
    }  # fmt: skip


def matched_columns(tj: Jets, rj: Jets, idx, dr, ev, file_index: int) -> dict[str, np.ndarray]:
    ok = idx >= 0
    safe = np.maximum(idx, 0)

    def reco(x: np.ndarray) -> np.ndarray:
        return np.where(ok, x[safe], np.nan) if len(x) else np.full(len(tj), np.nan)

    return {
        "file_index": np.full(len(tj), file_index, np.int32),
        "entry": ev.entry[tj.event],
        "mu": ev.mu[tj.event].astype(np.float32),
        "truth_pt": tj.pt, "truth_eta": tj.eta, "truth_phi": tj.phi, "truth_energy": tj.energy,
        "reco_pt": reco(rj.pt), "reco_eta": reco(rj.eta), "reco_energy": reco(rj.energy),
        "dr": dr,
    }  # fmt: skip


def stack(rows: dict[str, list]) -> dict[str, np.ndarray]:
    """Concatenate per-chunk columns of every algorithm, with an ``algorithm`` column."""
    cols: dict[str, list] = defaultdict(list)
    names: list[np.ndarray] = []
    for algo, parts in rows.items():
        for part in parts:
            n = len(next(iter(part.values())))
            names.append(np.full(n, algo, dtype=object))
            for k, v in part.items():
                cols[k].append(v)
    out = {"algorithm": np.concatenate(names).astype(str) if names else np.zeros(0, str)}
    out.update({k: np.concatenate(v) for k, v in cols.items()})
    return out


def summary(cfg, paths, algos, matched, counts, seconds, status_counts, with_truth) -> dict:
    from jetpointnet.config import to_dict

    n_ev = max(int(counts["events"]), 1)
    table = {}
    for algo in algos:
        m = matched["algorithm"] == algo if len(matched.get("algorithm", [])) else np.zeros(0, bool)
        if not m.any():
            continue
        table[algo] = response_table(
            matched["truth_pt"][m], matched["truth_energy"][m], matched["reco_pt"][m],
            matched["reco_energy"][m], edges=cfg.pt_bins, n_boot=cfg.n_boot, seed=cfg.seed,
        )  # fmt: skip
    mu = None
    if "mu" in matched and len(matched["mu"]):
        mu = float(np.nanmean(matched["mu"])) if np.isfinite(matched["mu"]).any() else None
    return {
        "null": "not computable: too few matched jets in the bin (or no event at all)",
        "config": to_dict(cfg),
        "inputs": [str(p) for p in paths],
        "truth": all(with_truth),
        "events": int(counts["events"]),
        "mean_mu": mu,
        "algorithms": algos,
        "response": table,
        "objects_per_event": {
            k[:-8]: v / n_ev for k, v in counts.items() if k.endswith("_objects")
        },
        "ms_per_event": {k: 1e3 * v / n_ev for k, v in seconds.items()},
        "tracks_per_event": counts["tracks"] / n_ev,
        "oracle_tracks_per_event": counts["oracle_tracks"] / n_ev,
        "pileup_tracks_per_event": counts["tracks_pileup"] / n_ev,
        "classical_status": {s.name.lower(): int(status_counts[s]) for s in TrackStatus},
        "ml_rows_not_in_event": {k: int(v) for k, v in counts.items() if k.endswith("_event")},
    }

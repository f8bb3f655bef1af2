"""``jetpointnet jets``: particle-flow objects, anti-kt jets and their response vs truth.

For every chunk of events of the inputs:

1. read the whole events (:mod:`.events`);
2. per algorithm, the constituents (:mod:`.objects`): ``calo`` = topo-clusters;
   ``classical`` and each ML run = charged tracks + neutral remnants after the event-level
   subtraction of the tracks' claims (:mod:`.algorithms`, reconciled by :mod:`.reconcile`),
   with charged-hadron subtraction of pile-up tracks (``chs``: by default only in
   events with pile-up, since without it the tracks it removes are the hard scatter's
   displaced secondaries, K0S and Lambda decay products); ``truth`` = stable
   hard-scatter particles without neutrinos;
   ``oracle:RUN`` (``oracle``) = the same with each cell claimed by its true focal energy on
   the run's samples: what a perfect network would reach with that run's cones, point
   limit and track selection; the ceilings ``oracle`` and ``oracle-calibrated``
   (:mod:`.ceilings`) = perfect attribution on the whole event, the second with every
   neutral remnant at its true deposited energy (by default run when the inputs have truth);
3. anti-kt jets (:mod:`.clustering`); reco jets above ``reco_min_pt`` are matched to the
   truth jets with ``pT > min_pt`` and ``|eta| < max_abs_eta``.

Reco jets are kept down to ``reco_min_pt`` (default 5 GeV, below the truth threshold) so
that the response of a low-response algorithm (EM-scale calorimeter jets) is not biased
by a reco-level cut. Outputs in ``out``: ``jets.parquet`` (every jet of every algorithm),
``matched.parquet`` (one row per truth jet and algorithm, reco columns NaN when
unmatched), ``summary.json`` (response tables and counts), ``figures/`` and
``report.html`` (:mod:`.report`).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from jetpointnet.data.geometry import CellTable
from jetpointnet.data.pipeline import plan_chunks
from jetpointnet.data.preprocess import expand_inputs
from jetpointnet.data.samples import has_truth, missing_truth
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.evaluation.pflow.adapter import resolve_templates
from jetpointnet.evaluation.pflow.algorithm import TrackStatus
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_reader import close_cached, inspect_mltree, read_events, read_geometry
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.sample_files import write_json, write_parquet
from jetpointnet.jets.algorithms import classical_claims, ml_charged, ml_claims, ml_pt_cap
from jetpointnet.jets.ceilings import CEILINGS, calibrated_remnant, oracle_claims, oracle_tracks
from jetpointnet.jets.clustering import Jets, cluster_jets, match_jets
from jetpointnet.jets.event import EVENT_ALGORITHMS, EVENT_BRANCHES, target_objects
from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events
from jetpointnet.jets.objects import (
    Objects,
    calo_objects,
    charged_objects,
    hard_scatter_tracks,
    neutral_objects,
    truth_objects,
)
from jetpointnet.jets.reconcile import Claims, reconcile
from jetpointnet.jets.response import PT_BINS, response_table

__all__ = [
    "ALGORITHMS",
    "JetsConfig",
    "JetsResult",
    "ObjectContext",
    "chunk_objects",
    "run_jets",
]

ALGORITHMS = ("calo", "classical", "ml", *CEILINGS)


@dataclass
class JetsConfig:
    """Options of :func:`run_jets` (GeV, radians)."""

    #: names of ALGORITHMS; all of them (the default) skips ml without runs, ceilings without truth
    algorithms: list[str] = field(default_factory=lambda: list(ALGORITHMS))
    radius: float = 0.4
    min_pt: float = 20.0  # truth jets
    max_abs_eta: float = 2.5  # truth jets
    reco_min_pt: float = 5.0  # reco jets kept for matching
    match_dr: float = 0.2
    pt_bins: list[float] = field(default_factory=lambda: list(PT_BINS))
    chs: Literal["auto", "on", "off"] = "auto"  # auto: on in events with pile-up (mu > 0)
    claim: Literal["expected", "threshold"] = "expected"
    ml_max_pt: float | None = None  # tracks above (GeV): no subtraction, calorimeter only
    oracle: bool = False  # per run also "oracle:RUN": its samples with the true focal energies
    min_neutral_energy: float = 0.0
    events_per_chunk: int = 200
    checkpoint: str = "best"
    batch_size: int = 256
    n_boot: int = 200
    seed: int = 0


@dataclass
class JetsResult:
    out: Path
    summary: dict[str, Any]


def _check_inputs(paths: Sequence[Path], geometry: Path | None) -> list:
    infos = [inspect_mltree(p) for p in paths]
    for info in infos:
        for name in JET_BRANCHES_REQUIRED:
            if name not in info.branches:
                raise UserError(f"{info.path}: tree 'EventTree' has no branch '{name}'"
                                + did_you_mean(name, info.branches))  # fmt: skip
        if geometry is None and not info.has_geometry:
            raise UserError(f"{info.path}: no tree 'CellGeo' (pass --geometry GEO.root)")
    return infos


def _names(runs: Sequence[Path]) -> list[str]:
    names = [f"ml:{Path(r).resolve().name}" for r in runs]
    for n in names:
        if names.count(n) > 1:
            raise UserError(f"two runs share the folder name '{n[3:]}': rename one")
    return names


def _pflow(ev, claims: Claims, charged: np.ndarray, chs: np.ndarray, cfg: JetsConfig,
           remnant: np.ndarray | None = None):  # fmt: skip
    """Charged objects (``charged & chs``) + neutral objects of the reconciled remnant
    (or of ``remnant`` when given: the calibrated ceiling's true neutral energies)."""
    granted, left = reconcile(ev.cells.energy, claims)
    rows = np.flatnonzero(charged & chs)
    neutral = neutral_objects(ev, left if remnant is None else remnant,
                              min_energy=cfg.min_neutral_energy, unwritten=remnant is None)  # fmt: skip
    return Objects.concat([charged_objects(ev, rows), neutral]), granted


def _check_config(cfg: JetsConfig, runs: Sequence) -> None:
    """Reject unknown names and impossible combinations before reading any input."""
    for a in cfg.algorithms:
        if a not in (*ALGORITHMS, *EVENT_ALGORITHMS):
            names = (*ALGORITHMS, *EVENT_ALGORITHMS)
            raise UserError(f"unknown algorithm {a!r}" + did_you_mean(a, names))
    if "ml" in cfg.algorithms and not runs and list(cfg.algorithms) != list(ALGORITHMS):
        raise UserError("--algorithm ml needs at least one --run RUN")
    if runs and "ml" not in cfg.algorithms:
        raise UserError("--run given but --algorithm does not include ml")
    if cfg.oracle and not runs:
        raise UserError("--oracle needs at least one --run RUN (its samples)")
    if cfg.chs not in ("auto", "on", "off"):
        raise UserError(f"chs must be auto, on or off, got {cfg.chs!r}")
    if list(cfg.pt_bins) != sorted(cfg.pt_bins) or len(cfg.pt_bins) < 2:
        raise UserError(f"pt_bins must be at least two increasing edges, got {cfg.pt_bins}")


def _algorithms(cfg: JetsConfig, runs: Sequence, infos: list, with_truth: list[bool]) -> list[str]:
    """The algorithms to run (without the per-run names), after :func:`_check_config`.

    The default (every name of :data:`ALGORITHMS`) leaves out ``ml`` without a run and the
    ceilings on inputs without truth; a ceiling asked for on such an input is a UserError.
    """
    default = list(cfg.algorithms) == list(ALGORITHMS)
    algos = [a for a in dict.fromkeys(cfg.algorithms) if a != "ml" or runs]
    for info, truth in zip(infos, with_truth, strict=True):
        if truth:
            continue
        why = f"{info.path}: no truth (no branch '{missing_truth(info.branches)[0]}')"
        if cfg.oracle:
            raise UserError(f"{why}; --oracle needs truth")
        ceilings = [a for a in algos if a in (*CEILINGS, *EVENT_ALGORITHMS)]
        if ceilings and not default:
            raise UserError(f"{why}; --algorithm {ceilings[0]} needs truth")
        algos = [a for a in algos if a not in (*CEILINGS, *EVENT_ALGORITHMS)]
    return algos


def run_jets(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    runs: Sequence[str | os.PathLike[str]] = (),
    config: JetsConfig | None = None,
    templates=None,
    geometry: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> JetsResult:
    """Build jets for every algorithm of ``config`` on ``inputs`` (globs); write ``out``."""
    cfg = config or JetsConfig()
    _check_config(cfg, runs)
    out = Path(out)
    final = [out / n for n in ("jets.parquet", "matched.parquet", "summary.json", "report.html")]
    if not overwrite and any(p.exists() for p in final):
        raise FileExistsError(f"{out}: holds jets results (pass --overwrite to replace them)")
    paths = expand_inputs([str(p) for p in inputs])
    files = [f for r in runs for f in folder_files(r)]
    tpl_file = templates if isinstance(templates, str | os.PathLike) else None
    refuse_overlap([*paths, *files, geometry, tpl_file], out)
    with output_lock(out, "jets"):
        remove_stale_partials(out, recursive=True, locked=True)
        return _run_jets(cfg, paths, out, runs, templates, geometry, progress)


def _run_jets(cfg: JetsConfig, paths: list[Path], out: Path, runs, templates, geometry,
              progress: bool) -> JetsResult:  # fmt: skip
    geo = Path(geometry) if geometry is not None else None
    infos = _check_inputs(paths, geo)
    with_truth = [has_truth(i.branches) for i in infos]
    chosen = _algorithms(cfg, runs, infos, with_truth)
    tpl = resolve_templates(templates) if "classical" in chosen else None
    ml_names = _names([Path(r) for r in runs])
    preds = {}
    if runs:
        from jetpointnet.jets.predictions import load_run_predictions

        for name, run in zip(ml_names, runs, strict=True):
            preds[name] = load_run_predictions(
                run, paths, out / "predictions", name=name[3:], checkpoint=cfg.checkpoint,
                geometry=geo, batch_size=cfg.batch_size, truth=cfg.oracle, progress=progress,
            )  # fmt: skip
    oracles = [f"oracle:{n[3:]}" for n in ml_names] if cfg.oracle else []
    algos = ([a for a in chosen if a not in ("ml", *CEILINGS)] + ml_names + oracles
             + [a for a in chosen if a in CEILINGS])  # fmt: skip

    chunks = plan_chunks(paths, [i.num_entries for i in infos], [geo or p for p in paths],
                         events_per_chunk=cfg.events_per_chunk)  # fmt: skip
    jets_rows: dict[str, list] = defaultdict(list)
    matched_rows: dict[str, list] = defaultdict(list)
    ctx = ObjectContext(cfg=cfg, templates=tpl, preds=preds, with_truth=with_truth,
                        event_algos=any(a in EVENT_ALGORITHMS for a in algos))  # fmt: skip
    counts, seconds = ctx.counts, ctx.seconds
    table, table_key = None, None
    for chunk in tqdm(chunks, desc="jets", unit="chunk", disable=not progress):
        if table_key != chunk.geometry:
            table, table_key = (
                CellTable.from_geometry(read_geometry(chunk.geometry)),
                chunk.geometry,
            )
        optional = JET_BRANCHES_OPTIONAL + (EVENT_BRANCHES if ctx.event_algos else ())
        events = read_events(chunk.path, JET_BRANCHES_REQUIRED, optional=optional,
                             entry_start=chunk.start, entry_stop=chunk.stop)  # fmt: skip
        ctx.events = events
        ev = jet_events(events, table, entry_start=chunk.start, source=chunk.path)
        counts["events"] += ev.n_events
        counts["tracks"] += len(ev.tracks)
        use_chs = cfg.chs == "on" or (cfg.chs == "auto" and bool(np.nanmax(ev.mu, initial=0) > 0))
        chs = hard_scatter_tracks(ev) if use_chs else np.ones(len(ev.tracks), bool)
        counts["tracks_pileup"] += int((~chs).sum())
        objects: dict[str, Objects] = {}
        if ev.truth is not None:
            objects["truth"] = truth_objects(ev.truth)
        objects.update(chunk_objects(ctx, algos, ev, chunk, table, chs))
        jets = {}
        for algo, obj in objects.items():
            t0 = time.perf_counter()
            jets[algo] = cluster_jets(obj, ev.n_events, radius=cfg.radius, min_pt=cfg.reco_min_pt)
            seconds["fastjet"] += time.perf_counter() - t0
            counts[f"{algo}_objects"] += len(obj)
            jets_rows[algo].append(_jet_columns(jets[algo], ev, chunk.file_index))
        if "truth" not in jets:
            continue
        tj = jets["truth"]
        tj = tj.select((tj.pt > cfg.min_pt) & (np.abs(tj.eta) < cfg.max_abs_eta))
        for algo in algos:
            idx, dr = match_jets(tj, jets[algo], max_dr=cfg.match_dr)
            matched_rows[algo].append(
                _matched_columns(tj, jets[algo], idx, dr, ev, chunk.file_index)
            )
    close_cached()
    matched_tab = _stack(matched_rows)
    summary = _summary(cfg, paths, algos, matched_tab, counts, seconds, ctx.status, with_truth)
    _write_outputs(out, _stack(jets_rows), matched_tab, summary)
    return JetsResult(out=out, summary=summary)


def _write_outputs(out: Path, jets_tab: dict, matched_tab: dict, summary: dict) -> None:
    """jets.parquet, matched.parquet, the figures and report.html, then summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(ak.Array(jets_tab), out / "jets.parquet", overwrite=True)
    write_parquet(ak.Array(matched_tab), out / "matched.parquet", overwrite=True)
    from jetpointnet.jets.report import write_jets_report

    summary["figures"] = write_jets_report(summary, matched_tab, out)
    write_json(out / "summary.json", summary)


@dataclass
class ObjectContext:
    """What every chunk's algorithms share: options, templates, runs, and the counters."""

    cfg: JetsConfig
    templates: Any
    preds: dict
    with_truth: list[bool]
    counts: dict[str, Any] = field(default_factory=lambda: defaultdict(float))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    status: np.ndarray = field(default_factory=lambda: np.zeros(len(TrackStatus), np.int64))
    event_algos: bool = False  # an event-level algorithm runs: read its extra branches
    events: Any = None  # the current chunk's branches (for the event-level algorithms)


def chunk_objects(
    ctx: ObjectContext, algos, ev, chunk, table, chs: np.ndarray
) -> dict[str, Objects]:
    """Every algorithm's jet constituents for one chunk (timed and counted in ``ctx``)."""
    cfg, counts, objects = ctx.cfg, ctx.counts, {}
    ceiling: tuple | None = None  # oracle tracks and claims, shared by both ceilings
    for algo in algos:
        t0 = time.perf_counter()
        if algo == "calo":
            objects[algo] = calo_objects(ev)
        elif algo == "classical":
            claims, charged, status = classical_claims(ev, ctx.templates)
            ctx.status += np.bincount(status, minlength=len(TrackStatus))
            objects[algo], _ = _pflow(ev, claims, charged, chs, cfg)
        elif algo in EVENT_ALGORITHMS:
            objects[algo], _ = target_objects(ctx.events, ev, table, chs,
                                              file_index=chunk.file_index,
                                              entry_start=chunk.start, source=chunk.path,
                                              algorithm=algo)  # fmt: skip
        elif algo in CEILINGS:
            if ceiling is None:
                mask = oracle_tracks(ev)
                ceiling = (mask, oracle_claims(ev, mask))
                counts["oracle_tracks"] += int(mask.sum())
            mask, claims = ceiling
            remnant = calibrated_remnant(ev, mask) if algo == "oracle-calibrated" else None
            objects[algo], _ = _pflow(ev, claims, mask, chs, cfg, remnant=remnant)
        else:
            p = ctx.preds["ml:" + algo.split(":", 1)[1]]
            rows = p.chunk(chunk.file_index, chunk.start, chunk.stop)
            rule = "truth" if algo.startswith("oracle:") else cfg.claim
            claims, lost = ml_claims(ev, table, rows, claim=rule)
            counts[f"{algo}_rows_not_in_event"] += lost
            truth = ctx.with_truth[chunk.file_index]
            charged = ml_charged(ev, p.selection, file_has_truth=truth)
            if cfg.ml_max_pt is not None:
                claims, charged = ml_pt_cap(ev, claims, charged, cfg.ml_max_pt)
            objects[algo], _ = _pflow(ev, claims, charged, chs, cfg)
        ctx.seconds[algo] += time.perf_counter() - t0
    return objects


def _jet_columns(j: Jets, ev, file_index: int) -> dict[str, np.ndarray]:
    return {
        "file_index": np.full(len(j), file_index, np.int32),
        "entry": ev.entry[j.event],
        "event_number": ev.event_number[j.event],
        "mu": ev.mu[j.event].astype(np.float32),
        "pt": j.pt, "eta": j.eta, "phi": j.phi, "mass": j.mass, "energy": j.energy,
        "n_constituents": j.n_constituents,
    }  # fmt: skip


def _matched_columns(tj: Jets, rj: Jets, idx, dr, ev, file_index: int) -> dict[str, np.ndarray]:
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


def _stack(rows: dict[str, list]) -> dict[str, np.ndarray]:
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


def _summary(cfg, paths, algos, matched, counts, seconds, status_counts, with_truth) -> dict:
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

"""``jetpointnet jets``: particle-flow objects, anti-kt jets and their response vs truth.

For every chunk of events of the inputs:

1. read the whole events once (:mod:`jetpointnet.io.mltree_inputs`, :mod:`.events`; tree
   names ``event_tree`` / ``geometry_tree``); each ML run predicts on that same read
   (:class:`~jetpointnet.jets.predictions.LivePredictions`) unless an earlier call's
   predictions can be reused;
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

import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from jetpointnet.data.extras import NeighbourTable
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import has_truth, missing_truth
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.evaluation.pflow.adapter import resolve_templates
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_inputs import Chunk, MLTreeInputs, check_files, expand_inputs
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.sample_files import write_json, write_parquet
from jetpointnet.jets.ceilings import CEILINGS
from jetpointnet.jets.chunk_objects import ObjectContext, chunk_objects
from jetpointnet.jets.clustering import cluster_jets, match_jets
from jetpointnet.jets.config import ALGORITHMS, JetsConfig
from jetpointnet.jets.event import (
    EVENT_ALGORITHMS,
    EVENT_BRANCHES,
)
from jetpointnet.jets.event_runs import EVENT_PREFIX, event_algorithm_name, load_event_particles
from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED, jet_events
from jetpointnet.jets.objects import (
    Objects,
    hard_scatter_tracks,
    truth_objects,
)
from jetpointnet.jets.tables import jet_columns, matched_columns, stack
from jetpointnet.jets.tables import summary as summary_table

__all__ = [
    "ALGORITHMS",
    "JetsConfig",
    "JetsResult",
    "run_jets",
]


@dataclass
class JetsResult:
    out: Path
    summary: dict[str, Any]


def _names(runs: Sequence[Path]) -> list[str]:
    names = [f"ml:{Path(r).resolve().name}" for r in runs]
    for n in names:
        if names.count(n) > 1:
            raise UserError(f"two runs share the folder name '{n[3:]}': rename one")
    return names


def _check_config(cfg: JetsConfig, runs: Sequence) -> None:
    """Reject unknown names and impossible combinations before reading any input."""
    for a in cfg.algorithms:
        if a.startswith(EVENT_PREFIX):
            event_algorithm_name(a)  # an event-level run folder (UserError if not)
        elif a not in (*ALGORITHMS, *EVENT_ALGORITHMS):
            names = (*ALGORITHMS, *EVENT_ALGORITHMS)
            raise UserError(f"unknown algorithm {a!r}" + did_you_mean(a, names))
    if "ml" in cfg.algorithms and not runs and list(cfg.algorithms) != list(ALGORITHMS):
        raise UserError("--algorithm ml needs at least one --run RUN")
    if runs and "ml" not in cfg.algorithms:
        raise UserError("--run given but --algorithm does not include ml")
    if cfg.oracle and not runs:
        raise UserError("--oracle needs at least one --run RUN (its samples)")
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
    ml_names = _names([Path(r) for r in runs])
    preds, live = _run_predictions(cfg, paths, out, runs, ml_names)
    source = check_files(
        paths, branches=JET_BRANCHES_REQUIRED, geometry=geometry,
        event_tree=cfg.event_tree, geometry_tree=cfg.geometry_tree,
        links=any(lp.links for lp in live.values()),
    )  # fmt: skip
    for lp in live.values():
        lp.predictor.bind(source)
    with_truth = [has_truth(i.branches) for i in source.infos]
    chosen = _algorithms(cfg, runs, list(source.infos), with_truth)
    tpl = resolve_templates(templates) if "classical" in chosen else None
    oracles = [f"oracle:{n[3:]}" for n in ml_names] if cfg.oracle else []
    geo = Path(geometry) if geometry is not None else None
    particles = {event_algorithm_name(a): load_event_particles(
        a, paths, out / "predictions", checkpoint=cfg.checkpoint, geometry=geo,
        progress=progress) for a in chosen if a.startswith(EVENT_PREFIX)}  # fmt: skip
    chosen = [event_algorithm_name(a) if a.startswith(EVENT_PREFIX) else a for a in chosen]
    algos = ([a for a in chosen if a not in ("ml", *CEILINGS)] + ml_names + oracles
             + [a for a in chosen if a in CEILINGS])  # fmt: skip
    ctx = ObjectContext(cfg=cfg, templates=tpl, preds=preds, with_truth=with_truth,
                        event_algos=any(a in EVENT_ALGORITHMS for a in algos),
                        particles=particles)  # fmt: skip
    jets_rows, matched_rows = _read_and_build(ctx, algos, source, live, progress)
    matched_tab = stack(matched_rows)
    summary = summary_table(cfg, paths, algos, matched_tab, ctx.counts, ctx.seconds, ctx.status,
                       with_truth)  # fmt: skip
    _write_outputs(out, stack(jets_rows), matched_tab, summary)
    return JetsResult(out=out, summary=summary)


def _run_predictions(cfg: JetsConfig, paths: list[Path], out: Path, runs, ml_names) -> tuple:
    """Per ML run, its cached predictions (a finished earlier call) or a live predictor."""
    if not runs:
        return {}, {}
    from jetpointnet.jets.predictions import LivePredictions, cached_predictions

    preds, live = {}, {}
    for name, run in zip(ml_names, runs, strict=True):
        cached = cached_predictions(run, paths, out / "predictions", name=name[3:],
                                    checkpoint=cfg.checkpoint, truth=cfg.oracle)  # fmt: skip
        if cached is not None:
            preds[name] = cached
        else:
            live[name] = LivePredictions(
                run, paths, out / "predictions", name=name[3:], checkpoint=cfg.checkpoint,
                batch_size=cfg.batch_size, truth=cfg.oracle,
            )  # fmt: skip
    return preds, live


def _tables(geo: dict, *, links: bool) -> tuple[CellTable, NeighbourTable | None]:
    return CellTable.from_geometry(geo), NeighbourTable.from_geometry(geo) if links else None


def _read_and_build(ctx: ObjectContext, algos: list[str], source: MLTreeInputs, live: dict,
                    progress: bool) -> tuple[dict[str, list], dict[str, list]]:  # fmt: skip
    """Read every chunk once: the live runs predict on it, then every algorithm's jets."""
    jets_rows: dict[str, list] = defaultdict(list)
    matched_rows: dict[str, list] = defaultdict(list)
    links = any(lp.links for lp in live.values())
    chunks = source.chunks(ctx.cfg.events_per_chunk)
    with contextlib.ExitStack() as stack:
        for lp in live.values():
            stack.enter_context(lp)
        reader = stack.enter_context(
            source.reader(build_geometry=lambda g: _tables(g, links=links), links=links)
        )
        todo = tqdm(chunks, desc="jets", unit="chunk", disable=not progress)
        optional = JET_BRANCHES_OPTIONAL + (EVENT_BRANCHES if ctx.event_algos else ())
        for ec in reader.read(todo, JET_BRANCHES_REQUIRED, optional=optional):
            ctx.events = ec.events
            for name, lp in live.items():
                ctx.preds[name] = lp.chunk(ec.events, ec.geometry, ec.chunk)
            _chunk_jets(ctx, algos, ec.events, ec.geometry[0], ec.chunk, jets_rows, matched_rows)
    return jets_rows, matched_rows


def _chunk_jets(ctx: ObjectContext, algos: list[str], events: dict, table: CellTable, chunk: Chunk,
                jets_rows: dict[str, list], matched_rows: dict[str, list]) -> None:  # fmt: skip
    """Objects, jets and truth matching of one chunk, appended to the row lists."""
    cfg, counts, seconds = ctx.cfg, ctx.counts, ctx.seconds
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
        jets_rows[algo].append(jet_columns(jets[algo], ev, chunk.file_index))
    if "truth" not in jets:
        return
    tj = jets["truth"]
    tj = tj.select((tj.pt > cfg.min_pt) & (np.abs(tj.eta) < cfg.max_abs_eta))
    for algo in algos:
        idx, dr = match_jets(tj, jets[algo], max_dr=cfg.match_dr)
        matched_rows[algo].append(matched_columns(tj, jets[algo], idx, dr, ev, chunk.file_index))


def _write_outputs(out: Path, jets_tab: dict, matched_tab: dict, summary: dict) -> None:
    """jets.parquet, matched.parquet, the figures and report.html, then summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(ak.Array(jets_tab), out / "jets.parquet", overwrite=True)
    write_parquet(ak.Array(matched_tab), out / "matched.parquet", overwrite=True)
    from jetpointnet.jets.report import write_jets_report

    summary["figures"] = write_jets_report(summary, matched_tab, out)
    write_json(out / "summary.json", summary)

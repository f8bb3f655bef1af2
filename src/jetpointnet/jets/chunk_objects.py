"""Every algorithm's jet constituents for one chunk of events.

:func:`chunk_objects` turns one chunk (:class:`~jetpointnet.jets.events.JetEvents`) into
the particle-flow objects of each algorithm: calorimeter clusters (``calo``), the
classical algorithm, a trained per-track run (``ml:RUN``, and ``oracle:RUN`` with truth
claims), the event-level run's predicted particles (``event:RUN``), the event-level targets
(``target``, ``target-visible``) and the truth ceilings (``oracle``,
``oracle-calibrated``). :class:`ObjectContext` holds what the chunks share (options,
templates, predictions, counters). The tagging samples reuse both.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jetpointnet.evaluation.pflow.algorithm import TrackStatus
from jetpointnet.jets.algorithms import classical_claims, ml_charged, ml_claims, ml_pt_cap
from jetpointnet.jets.ceilings import CEILINGS, calibrated_remnant, oracle_claims, oracle_tracks
from jetpointnet.jets.config import JetsConfig
from jetpointnet.jets.event import (
    EVENT_ALGORITHMS,
    jets_from_particles,
    target_objects,
)
from jetpointnet.jets.objects import (
    Objects,
    calo_objects,
    charged_objects,
    neutral_objects,
)
from jetpointnet.jets.reconcile import Claims, reconcile

__all__ = ["ObjectContext", "chunk_objects"]


def _pflow(ev, claims: Claims, charged: np.ndarray, chs: np.ndarray, cfg: JetsConfig,
           remnant: np.ndarray | None = None):  # fmt: skip
    """Charged objects (``charged & chs``) + neutral objects of the reconciled remnant
    (or of ``remnant`` when given: the calibrated ceiling's true neutral energies)."""
    granted, left = reconcile(ev.cells.energy, claims)
    rows = np.flatnonzero(charged & chs)
    neutral = neutral_objects(ev, left if remnant is None else remnant,
                              min_energy=cfg.min_neutral_energy, unwritten=remnant is None)  # fmt: skip
    return Objects.concat([charged_objects(ev, rows), neutral]), granted


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
    particles: dict = field(default_factory=dict)  # event:RUN -> its predicted particles


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
        elif algo in ctx.particles:  # event:RUN, predicted particles
            objects[algo], bad = jets_from_particles(ctx.particles[algo], ev, chs,
                                                     file_index=chunk.file_index)  # fmt: skip
            ctx.counts[f"{algo}_rows_without_track"] += bad
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

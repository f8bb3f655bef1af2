"""Jet constituents from event-level particle-flow particles (``particles.parquet`` rows).

:func:`jets_from_particles` turns a particles table (:mod:`jetpointnet.io.particles`),
predicted or target, into :class:`~jetpointnet.jets.objects.Objects` for one chunk of
events: a charged row (``track_index >= 0``) becomes its track, with the track's perigee
momentum and the row's mass, and is kept only when the track passes charged-hadron
subtraction (``chs``, as every other algorithm); a neutral row is a massless four-vector
(``E``, ``eta``, ``phi``). Rows with ``existence < min_existence`` are not particles.
The region of a row does not matter: particles of every region of an event are one event.

``target`` (:data:`EVENT_ALGORITHMS`) builds the target particles of the chunk's events
(:func:`jetpointnet.data.event_particles.target_particles`: perfect event-level particle
flow, neutrals at their true energy and direction) and passes them through the same
function; ``target-visible`` the same with each neutral at its visible deposit in the
clustered cells (perfect attribution, no calibration of the neutrals); the
``event:RUN`` algorithm of a trained event-level run does the same with its predictions.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.data.event_inputs import EVENT_KIND_OPTIONAL
from jetpointnet.data.event_particles import target_particles
from jetpointnet.data.geometry import CellTable
from jetpointnet.jets.events import JetEvents
from jetpointnet.jets.objects import Objects

__all__ = ["EVENT_ALGORITHMS", "EVENT_BRANCHES", "jets_from_particles", "target_objects"]

#: Algorithms of event-level particle flow that need no run (they need truth).
EVENT_ALGORITHMS = ("target", "target-visible")
#: Extra (optional) branches ``jets`` reads for them.
EVENT_BRANCHES = EVENT_KIND_OPTIONAL


def jets_from_particles(
    table: dict[str, np.ndarray],
    ev: JetEvents,
    chs: np.ndarray,
    *,
    file_index: int,
    min_existence: float = 0.5,
) -> tuple[Objects, int]:
    """Constituents of ``ev``'s events from ``table``'s rows of ``file_index``; also the
    number of charged rows whose track is not in the event (0 for a consistent table)."""
    if ev.n_events == 0:
        return Objects.make([], [], [], [], 0.0, False), 0
    entry = np.asarray(table["entry"], np.int64)
    rows = (np.asarray(table["file_index"]) == file_index) & (entry >= ev.entry[0])
    rows &= entry <= ev.entry[-1]
    rows &= np.asarray(table["existence"], np.float64) >= min_existence
    event = np.searchsorted(ev.entry, entry[rows])
    ok_event = ev.entry[np.minimum(event, ev.n_events - 1)] == entry[rows]
    sel = np.flatnonzero(rows)[ok_event]
    event = event[ok_event]
    tidx = np.asarray(table["track_index"], np.int64)[sel]
    charged = tidx >= 0
    to = ev.track_offsets()
    n_tr = np.diff(to)[event]
    bad = charged & (tidx >= n_tr)
    good = charged & ~bad
    trow = to[event[good]] + tidx[good]
    keep = chs[trow]
    t = ev.tracks
    mass = np.asarray(table["m"], np.float64)[sel][good][keep]
    ch = Objects.make(event[good][keep], t.pt[trow[keep]], t.eta[trow[keep]],
                      t.phi[trow[keep]], mass, True)  # fmt: skip
    neu = ~charged
    e = np.asarray(table["E"], np.float64)[sel][neu]
    eta = np.asarray(table["eta"], np.float64)[sel][neu]
    phi = np.asarray(table["phi"], np.float64)[sel][neu]
    nobj = Objects.make(event[neu], e / np.cosh(eta), eta, phi, 0.0, False)
    return Objects.concat([ch, nobj]), int(bad.sum())


def target_objects(
    events: dict, ev: JetEvents, table: CellTable, chs: np.ndarray, *, file_index: int,
    entry_start: int, source: str = "", algorithm: str = "target",
) -> tuple[Objects, dict[str, np.ndarray]]:  # fmt: skip
    """``target`` / ``target-visible``: the chunk's target particles as constituents, and
    the particles table."""
    energy = "visible" if algorithm == "target-visible" else "true"
    particles = target_particles(events, table, file_index=file_index, entry_start=entry_start,
                                 source=source, neutral_energy=energy)  # fmt: skip
    objects, _ = jets_from_particles(particles, ev, chs, file_index=file_index)
    return objects, particles

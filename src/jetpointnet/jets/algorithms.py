"""What each algorithm claims of the cells, and which tracks become charged objects.

* ``classical``: the cell-level ATLAS procedure (:mod:`jetpointnet.evaluation.pflow`) on
  the whole event (every clustered cell, every track), tracks in decreasing pT. Its
  attributions are the claims. Charged objects: tracks it subtracted for (rings or whole
  clusters) or found no cluster for (the particle left nothing visible); tracks outside
  its selection (pT > 100 GeV by default, ``PflowParams.max_pt``, ...) or vetoed in a
  dense environment are not charged objects: the calorimeter measures them, as in eflowRec.
* ``ml``: a trained run's per-cell predictions (``jetpointnet predict``'s rows, one per
  event, focused track and cell of its sample). The claim of a track on a cell is the
  predicted focal energy (regression) or, for classifiers, ``p_focal x E_cell``
  (``claim="expected"``) or ``E_cell`` where ``p_focal > 0.5`` (``claim="threshold"``).
  Charged objects: the tracks that pass the run's own track selection (the tracks that
  got a sample, plus those with too few cells in their cone to make one). Optionally
  (:func:`ml_pt_cap`) tracks above a pT cap are left to the calorimeter, as eflowRec does
  above its upper pT cut: no claims, not charged objects. ``claim="truth"`` (the oracle) claims the
  true focal energy of each cell of the run's samples instead of the prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import select_tracks
from jetpointnet.evaluation.pflow.algorithm import (
    EventCells,
    EventTracks,
    PflowParams,
    TrackStatus,
    run_event,
)
from jetpointnet.evaluation.pflow.templates import Templates
from jetpointnet.jets.events import JetEvents, cell_rows
from jetpointnet.jets.reconcile import Claims

__all__ = ["CHARGED_STATUS", "classical_claims", "ml_charged", "ml_claims", "ml_pt_cap"]

#: Classical-algorithm outcomes whose track is a charged particle-flow object.
CHARGED_STATUS = (TrackStatus.RINGS, TrackStatus.WHOLE_CLUSTER, TrackStatus.NO_MATCH)


def classical_claims(
    ev: JetEvents, templates: Templates, *, params: PflowParams | None = None
) -> tuple[Claims, np.ndarray, np.ndarray]:
    """Claims, charged-track mask and per-track :class:`TrackStatus` for a chunk."""
    params = params or PflowParams()
    t, c = ev.tracks, ev.cells
    to, co = ev.track_offsets(), ev.cell_offsets()
    status = np.full(len(t), int(TrackStatus.NOT_SELECTED), dtype=np.int8)
    parts = []
    for e in range(ev.n_events):
        ta, tb, ca, cb = to[e], to[e + 1], co[e], co[e + 1]
        if tb == ta:
            continue
        cells = EventCells(
            energy=c.energy[ca:cb].astype(np.float64),
            eta=ev.cell_eta[ca:cb],
            phi=ev.cell_phi[ca:cb],
            sampling=ev.cell_sampling[ca:cb],
            cluster=c.cluster[ca:cb].astype(np.int64),
            deta=ev.cell_deta[ca:cb],
            dphi=ev.cell_dphi[ca:cb],
            volume=ev.cell_volume[ca:cb],
        )
        tracks = EventTracks(
            p=t.p[ta:tb].astype(np.float64),
            pt=t.pt[ta:tb].astype(np.float64),
            layer_eta=t.layer_eta[ta:tb].astype(np.float64),
            layer_phi=t.layer_phi[ta:tb].astype(np.float64),
        )
        res = run_event(
            cells, tracks, expect=templates.expect, profile=templates.profile, params=params
        )
        status[ta:tb] = res.status
        ti, ci = np.nonzero(res.attribution > 0)
        parts.append(Claims(track=ta + ti, cell=ca + ci, energy=res.attribution[ti, ci]))
    charged = np.isin(status, [int(s) for s in CHARGED_STATUS])
    return Claims.concat(parts), charged, status


def ml_charged(ev: JetEvents, selection: SelectionConfig, *, file_has_truth: bool) -> np.ndarray:
    """Mask of the tracks that pass the run's selection (``require_truth`` only with truth)."""
    if not file_has_truth:
        selection = dataclasses.replace(selection, require_truth=False)
    rows, _ = select_tracks(ev.tracks, selection)
    out = np.zeros(len(ev.tracks), dtype=bool)
    out[rows] = True
    return out


def ml_claims(
    ev: JetEvents,
    table: CellTable,
    rows: dict[str, np.ndarray],
    *,
    claim: Literal["expected", "threshold", "truth"] = "expected",
) -> tuple[Claims, int]:
    """Claims from the prediction rows of this chunk's entries; also the number of rows
    whose track or cell is not in the event (0 for predictions made on the same file)."""
    event = rows["entry"].astype(np.int64) - int(ev.entry[0]) if ev.n_events else rows["entry"]
    to = ev.track_offsets()
    tidx = rows["track_index"].astype(np.int64)
    n_tr = np.diff(to)[event] if len(event) else np.zeros(0, np.int64)
    track = np.where(tidx < n_tr, to[event] + tidx, -1)
    cell = cell_rows(ev, table, event, rows["cell_id"])
    if claim == "truth":  # the oracle: the focal particle's true energy in each cell
        energy = np.nan_to_num(rows["truth_focal_energy"].astype(np.float64))
    elif "pred_focal_energy" in rows:
        energy = rows["pred_focal_energy"].astype(np.float64)
    elif claim == "expected":
        energy = rows["pred_focal_prob"].astype(np.float64) * ev.cells.energy[cell]
    elif claim == "threshold":
        energy = np.where(rows["pred_focal_prob"] > 0.5, ev.cells.energy[cell], 0.0)
    else:
        raise ValueError(f"unknown claim rule {claim!r}")
    ok = (track >= 0) & (cell >= 0)
    return Claims(track=track[ok], cell=cell[ok], energy=energy[ok]), int((~ok).sum())


def ml_pt_cap(
    ev: JetEvents, claims: Claims, charged: np.ndarray, max_pt: float
) -> tuple[Claims, np.ndarray]:
    """Drop the claims of tracks with pT > ``max_pt`` (GeV) and un-charge those tracks."""
    high = ev.tracks.pt > max_pt
    keep = ~high[claims.track]
    kept = Claims(track=claims.track[keep], cell=claims.cell[keep], energy=claims.energy[keep])
    return kept, charged & ~high

"""One event of an MLTree chunk as flat arrays: clustered cells, tracks, truth contributors.

:func:`event_view` turns entry ``i`` of :func:`jetpointnet.io.mltree_reader.read_events`'s
branches into an :class:`EventView`: distinct clustered cells (a cell shared by two
clusters appears once, with the sum of its shares as energy), their geometry, the tracks,
and an :class:`~jetpointnet.data.event_targets.EventInput` for the target rules.

Each track also gets its *calorimeter impact*: the direction of its extrapolation to the
middle EM layer (``trackEta_EMB2``/``trackPhi_EMB2``, else ``..._EME2``), or its perigee
direction when it reaches neither (or the file has no extrapolations). A 1 GeV track
bends by ~0.3 rad in phi before the calorimeter, so where its shower lies is the impact,
not the perigee.

The optional event-level truth branches (:data:`jetpointnet.io.mltree_layout.
EVENT_TRUTH_BRANCHES`) are used when present: ``cluster_cell_hitsTruthEVis`` for the
deposits (else the true ``hitsTruthE``), ``truthPartParentBarcode``/``PdgId`` for pi0
merging (else no parent merging). Without any truth (real data) the contributions are
empty: every cell goes to the noise slot and no neutral target exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.event_targets import EventInput
from jetpointnet.data.geometry import CellTable
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_layout import MISSING_THRESHOLD

__all__ = [
    "EVENT_KIND_OPTIONAL",
    "EVENT_KIND_REQUIRED",
    "IMPACT_LAYERS",
    "EventView",
    "event_truth_available",
    "event_view",
]

EVENT_KIND_REQUIRED = (
    "eventNumber", "trackPt", "trackEta", "trackPhi", "cluster_cell_ID", "cluster_cell_E",
)  # fmt: skip
EVENT_KIND_OPTIONAL = (
    "trackZ0", "trackD0", "trackTruthParticleIndex", "truthPartPdgId", "truthPartE",
    "truthPartPt", "truthPartEta", "truthPartPhi", "truthPartBarcode",
    "cluster_cell_hitsTruthIndex", "cluster_cell_hitsTruthE", "cluster_cell_hitsTruthEVis",
    "truthPartParentBarcode", "truthPartParentPdgId", "averageInteractionsPerCrossing",
    "trackEta_EMB2", "trackPhi_EMB2", "trackEta_EME2", "trackPhi_EME2",
)  # fmt: skip
#: Layers whose extrapolation is the track's calorimeter impact, in order of preference.
IMPACT_LAYERS = ("EMB2", "EME2")
_TRUTH = ("trackTruthParticleIndex", "truthPartPdgId", "truthPartE", "truthPartPt",
          "truthPartEta", "truthPartPhi", "cluster_cell_hitsTruthIndex",
          "cluster_cell_hitsTruthE")  # fmt: skip


def event_truth_available(events: dict) -> dict[str, bool]:
    """Which truth the branches carry: ``truth`` (the MLTree minimum for targets),
    ``visible`` (per-contributor visible energy) and ``parents``."""
    return {
        "truth": all(b in events for b in _TRUTH),
        "visible": "cluster_cell_hitsTruthEVis" in events,
        "parents": "truthPartParentBarcode" in events and "truthPartParentPdgId" in events,
    }


@dataclass(frozen=True)
class EventView:
    """One event: cells (GeV, radians, mm), tracks, and the target input."""

    cell_id: np.ndarray  # uint64
    cell_geo: np.ndarray  # int64 CellTable row
    cell_e: np.ndarray  # float64, EM scale as in the file
    track_pt: np.ndarray
    track_eta: np.ndarray
    track_phi: np.ndarray
    track_z0: np.ndarray
    track_d0: np.ndarray
    target_input: EventInput
    track_calo_eta: np.ndarray  # calorimeter impact (perigee where there is none)
    track_calo_phi: np.ndarray


def _np(x, dtype) -> np.ndarray:
    return np.asarray(ak.to_numpy(ak.flatten(x, axis=None)), dtype=dtype)


def _track(events: dict, name: str, i: int, n: int) -> np.ndarray:
    if name not in events:
        return np.zeros(n)
    return np.asarray(ak.to_numpy(events[name][i]), np.float64)


def _impact(events: dict, i: int, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    """The calorimeter impact (eta, phi) of each track (see the module docstring)."""
    out_eta, out_phi = eta.copy(), phi.copy()
    done = np.zeros(len(eta), bool)
    for layer in IMPACT_LAYERS:
        be, bp = f"trackEta_{layer}", f"trackPhi_{layer}"
        if be not in events or bp not in events or not len(eta):
            continue
        e, p = _track(events, be, i, len(eta)), _track(events, bp, i, len(eta))
        ok = ~done & np.isfinite(e) & np.isfinite(p) & (e > MISSING_THRESHOLD)
        ok &= p > MISSING_THRESHOLD
        out_eta[ok], out_phi[ok] = e[ok], p[ok]
        done |= ok
    return out_eta, out_phi


def event_view(events: dict, i: int, table: CellTable, *, source: str = "") -> EventView:
    """Entry ``i`` (chunk-local) of ``events``; cells missing from the geometry are an error."""
    have = event_truth_available(events)
    ids = _np(events["cluster_cell_ID"][i], np.uint64)
    e = np.nan_to_num(_np(events["cluster_cell_E"][i], np.float64), nan=0.0, posinf=0.0)
    uniq, inv = np.unique(ids, return_inverse=True)
    cell_e = np.bincount(inv, weights=e, minlength=len(uniq))
    geo, found = table.lookup(uniq)
    if not found.all():
        raise UserError(f"{source}: cell ID {int(uniq[~found][0])} is not in the geometry")
    pt = _track(events, "trackPt", i, 0)
    n_tr = len(pt)
    eta, phi = _track(events, "trackEta", i, n_tr), _track(events, "trackPhi", i, n_tr)
    calo_eta, calo_phi = _impact(events, i, eta, phi)
    if have["truth"]:
        ti = events["cluster_cell_hitsTruthIndex"][i]
        counts = np.asarray(ak.to_numpy(ak.flatten(ak.num(ti, axis=2), axis=None)), np.int64)
        if len(counts) != len(ids):
            raise UserError(
                f"{source}: entry {i}: cluster_cell_hitsTruthIndex lists {len(counts)} cells, "
                f"cluster_cell_ID {len(ids)}"
            )
        c_cell = np.repeat(inv, counts)
        c_part = _np(ti, np.int64)
        c_true = np.nan_to_num(_np(events["cluster_cell_hitsTruthE"][i], np.float64))
        vis_name = "cluster_cell_hitsTruthEVis" if have["visible"] else "cluster_cell_hitsTruthE"
        c_dep = np.nan_to_num(_np(events[vis_name][i], np.float64))
        # a shared cell lists its contributors once per cluster: keep its first listing
        first_entry = np.zeros(len(ids), bool)
        first_entry[np.unique(inv, return_index=True)[1]] = True
        keep = np.repeat(first_entry, counts)
        n_part = len(events["truthPartE"][i])
        keep &= (c_part >= 0) & (c_part < n_part)
        c_cell, c_part, c_true, c_dep = c_cell[keep], c_part[keep], c_true[keep], c_dep[keep]
        part = {k: np.asarray(ak.to_numpy(events[f"truthPart{k}"][i]), np.float64)
                for k in ("E", "Pt", "Eta", "Phi")}  # fmt: skip
        pdg = np.asarray(ak.to_numpy(events["truthPartPdgId"][i]), np.int64)
        tpart = np.asarray(ak.to_numpy(events["trackTruthParticleIndex"][i]), np.int64)
        tpart = np.where((tpart >= 0) & (tpart < n_part), tpart, -1)
        parent = parent_pdg = None
        if have["parents"]:
            parent = np.asarray(ak.to_numpy(events["truthPartParentBarcode"][i]), np.int64)
            parent_pdg = np.asarray(ak.to_numpy(events["truthPartParentPdgId"][i]), np.int64)
    else:
        c_cell = c_part = np.zeros(0, np.int64)
        c_true = c_dep = np.zeros(0)
        part = {k: np.zeros(0) for k in ("E", "Pt", "Eta", "Phi")}
        pdg = np.zeros(0, np.int64)
        tpart = np.full(n_tr, -1, np.int64)
        parent = parent_pdg = None
    ti_ = EventInput(
        cell_e=cell_e, contrib_cell=c_cell, contrib_part=c_part, contrib_dep=c_dep,
        contrib_true=c_true, part_pdg=pdg, part_e=part["E"], part_pt=part["Pt"],
        part_eta=part["Eta"], part_phi=part["Phi"], part_parent=parent,
        part_parent_pdg=parent_pdg, track_part=tpart, track_pt=pt, track_eta=eta,
    )  # fmt: skip
    return EventView(
        cell_id=uniq, cell_geo=geo, cell_e=cell_e, track_pt=pt, track_eta=eta, track_phi=phi,
        track_z0=_track(events, "trackZ0", i, n_tr), track_d0=_track(events, "trackD0", i, n_tr),
        target_input=ti_, track_calo_eta=calo_eta, track_calo_phi=calo_phi,
    )  # fmt: skip

"""One chunk of events -> its selected, labelled large-R jets as padded point clouds.

The constituents come from the ``jets`` stage's object builders
(:func:`jetpointnet.jets.run.chunk_objects`: ``classical``, ``calo``, ``ml:RUN``; ``truth``
= the stable hard-scatter particles), clustered into trimmed anti-kt R = 1.0 jets
(:mod:`.large_r`). The truth jets (same definition on the truth particles) give the truth
pT, the ungroomed truth mass and sqrt(d12) of the label; the decayed W / Z (status 2)
the boson match (:mod:`.labels`). Status-2 entries are never constituents: the truth
objects are built from status 1 only (:mod:`jetpointnet.jets.events`).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.errors import UserError
from jetpointnet.jets.chunk_objects import ObjectContext, chunk_objects
from jetpointnet.jets.clustering import match_jets
from jetpointnet.jets.events import jet_events
from jetpointnet.jets.objects import Objects, hard_scatter_tracks, truth_objects
from jetpointnet.tagging.config import JetPrepConfig
from jetpointnet.tagging.features import constituent_arrays
from jetpointnet.tagging.labels import (
    LABEL_CUTS,
    SELECTION_CUTS,
    boson_match,
    decayed_bosons,
    label_flow,
    selection_flow,
)
from jetpointnet.tagging.large_r import LargeRJets, cluster_large_r, four_momenta
from jetpointnet.tagging.substructure import d2, sqrt_d12, tau21

__all__ = ["CUTFLOW", "ChunkJets", "build_chunk_jets"]

#: Names of the cut-flow counters, in order (jets passing each step).
CUTFLOW = ("all", *SELECTION_CUTS, *LABEL_CUTS)


@dataclass
class ChunkJets:
    """Per-jet arrays of the kept jets of one chunk (the contract's names, no weight yet,
    plus ``boson_pdg``: the matched boson's PDG ID, 0 for none) and the cut flow."""

    arrays: dict[str, np.ndarray]
    cutflow: dict[str, int]


def _objects(ctx: ObjectContext, cfg: JetPrepConfig, ev, chunk, table) -> Objects:
    if cfg.algorithm == "truth":
        return truth_objects(ev.truth)
    use_chs = bool(np.nanmax(ev.mu, initial=0) > 0)  # the jets stage's "auto" rule
    chs = hard_scatter_tracks(ev) if use_chs else np.ones(len(ev.tracks), bool)
    return chunk_objects(ctx, [cfg.algorithm], ev, chunk, table, chs)[cfg.algorithm]


def _cluster(cfg: JetPrepConfig, objects: Objects, n_events: int) -> LargeRJets:
    return cluster_large_r(objects, n_events, radius=cfg.radius, min_pt=cfg.min_pt,
                           trim_radius=cfg.trim.radius, f_cut=cfg.trim.f_cut)  # fmt: skip


def _rank_in_event(event: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of equal ``event`` (rows sorted by event)."""
    if len(event) == 0:
        return np.zeros(0, np.int32)
    start = np.flatnonzero(np.r_[True, event[1:] != event[:-1]])
    first = np.repeat(start, np.diff(np.r_[start, len(event)]))
    return (np.arange(len(event)) - first).astype(np.int32)


def build_chunk_jets(
    events: dict[str, ak.Array], table, chunk, *, config: JetPrepConfig, ctx: ObjectContext,
    class_index: int, background: bool,
) -> ChunkJets:  # fmt: skip
    """Selected jets of a chunk; a signal chunk keeps only the jets labelled W/Z."""
    cfg = config
    ev = jet_events(events, table, entry_start=chunk.start, source=chunk.path)
    if ev.truth is None:
        raise UserError(f"{chunk.path}: no truth particles (truthPart*): jets cannot be labelled")
    objects = _objects(ctx, cfg, ev, chunk, table)
    reco = _cluster(cfg, objects, ev.n_events)
    t_obj = truth_objects(ev.truth)
    truth = _cluster(cfg, t_obj, ev.n_events)
    t_idx, _ = match_jets(truth.trimmed_jets(), reco.trimmed_jets(), max_dr=cfg.selection.match_dr)
    t_of_r = np.full(len(reco), -1, np.int64)
    t_of_r[t_idx[t_idx >= 0]] = np.flatnonzero(t_idx >= 0)
    m = t_of_r >= 0
    safe = np.maximum(t_of_r, 0)
    pick = lambda a: np.where(m, a[safe], np.nan) if len(a) else np.full(len(reco), np.nan)
    t_pt = pick(truth.pt)
    flow = selection_flow(eta=reco.eta, matched=m, truth_pt=t_pt,
                          n_constituents=reco.n_constituents, mass=reco.mass,
                          cuts=cfg.selection)  # fmt: skip
    selected = flow[SELECTION_CUTS[-1]]
    object_index = np.full(len(reco), -1, np.int32)
    object_index[selected] = _rank_in_event(reco.event[selected])
    t_p4 = four_momenta(t_obj)
    t_d12 = sqrt_d12(t_p4[truth.all_index], truth.all_offsets)
    bosons = decayed_bosons(events)
    b_row, b_dr = boson_match(truth.event, truth.eta, truth.phi, bosons)
    labels = label_flow(boson_dr=pick(b_dr), ungroomed_mass=pick(truth.ungroomed_mass),
                        sqrt_d12=pick(t_d12), truth_pt=t_pt, cuts=cfg.label)  # fmt: skip
    labels = {k: v & selected for k, v in labels.items()}
    keep = selected if background else labels[LABEL_CUTS[-1]]
    cutflow = {"all": len(reco), **{k: int(v.sum()) for k, v in {**flow, **labels}.items()}}
    rows = np.flatnonzero(keep)
    arrays = _jet_arrays(cfg, ev, reco, objects, rows, chunk)
    arrays.update(
        y_cloud=np.full(len(rows), class_index, np.int64),
        object_index=object_index[rows],
        truth_jet_pt=t_pt[rows].astype(np.float32),
        truth_jet_m=pick(truth.mass)[rows].astype(np.float32),
        boson_pdg=_boson_pdg(bosons, b_row, pick(b_dr) < cfg.label.max_boson_dr, safe)[rows],
    )  # fmt: skip
    return ChunkJets(arrays=arrays, cutflow=cutflow)


def _boson_pdg(bosons, b_row: np.ndarray, near: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """Per reco jet: PDG ID of its truth jet's boson within the label's dR, else 0."""
    per_truth = np.zeros(len(b_row), np.int64)
    if len(bosons.pdg):
        per_truth = np.where(b_row >= 0, bosons.pdg[np.maximum(b_row, 0)], 0)
    per_reco = per_truth[safe] if len(per_truth) else np.zeros(len(safe), np.int64)
    return np.where(near, per_reco, 0).astype(np.int32)


def _jet_arrays(cfg, ev, reco: LargeRJets, objects: Objects, rows: np.ndarray, chunk) -> dict:
    """Point clouds, observers and links of reco jets ``rows``."""
    p4 = four_momenta(objects)
    counts = np.diff(reco.offsets)[rows]
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.concatenate([reco.constituents(int(i)) for i in rows]) if len(rows) else \
        np.zeros(0, np.int64)  # fmt: skip
    out = constituent_arrays(
        p4, objects.charged, offsets, flat, jet_pt=reco.pt[rows], jet_eta=reco.eta[rows],
        jet_phi=reco.phi[rows], jet_e=reco.energy[rows], length=cfg.length,
    )  # fmt: skip
    sub4 = p4[flat]
    f32 = lambda a: np.asarray(a, np.float32)
    out.update(
        jet_pt=f32(reco.pt[rows]), jet_eta=f32(reco.eta[rows]), jet_phi=f32(reco.phi[rows]),
        jet_m=f32(reco.mass[rows]), jet_m_ungroomed=f32(reco.ungroomed_mass[rows]),
        tau21=f32(tau21(sub4, offsets)), d2=f32(d2(sub4, offsets)),
        file_index=np.full(len(rows), chunk.file_index, np.int32),
        entry=ev.entry[reco.event[rows]].astype(np.int64),
        event_number=ev.event_number[reco.event[rows]].astype(np.int64),
    )  # fmt: skip
    return out

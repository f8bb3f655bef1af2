"""From stage-1 samples to particle-flow events, and back to the points of stage 2.

Samples are grouped into events by ``(file_index, entry)``. An event's cells are the
union (by cell ``id``) of its samples' cells, so clusters are known only through the
cells within the cones around the tracks (a simplification against eflowRec, which sees
whole clusters). Its tracks are the focused tracks of its samples plus every other track
listed in them (unique by track ``index``): tracks dropped by ``preprocess`` still take
their share of energy, as in the real algorithm.

The answer for a sample is, per stage-1 cell, the energy its focused track subtracted
(GeV); :func:`run_pflow` maps it onto the stage-2 points with
:func:`jetpointnet.evaluation.inputs.point_cells`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from jetpointnet.data.schema import PER_SAMPLE
from jetpointnet.evaluation.inputs import Stage1, load_labels, load_stage1, point_cells
from jetpointnet.evaluation.pflow.algorithm import EventCells, EventTracks, PflowParams, run_event
from jetpointnet.evaluation.pflow.layers import (
    GROUP_OF_SAMPLING,
    GROUPS,
    RING_WIDTH,
    delta_r,
)
from jetpointnet.evaluation.pflow.matching import (
    cluster_geometry,
    groups_present,
    match_cluster,
    track_lhed,
    track_positions,
)
from jetpointnet.evaluation.pflow.templates import (
    N_RINGS,
    TemplateAccumulator,
    Templates,
    eflowrec_reference,
    load_templates,
)
from jetpointnet.io.prep_folder import stage1_rows

__all__ = [
    "EventGroup",
    "iter_events",
    "measure_templates",
    "pflow_on_stage1",
    "resolve_templates",
    "run_pflow",
]


@dataclass
class EventGroup:
    """One event built from its samples (indices into the :class:`Stage1` arrays)."""

    samples: np.ndarray  # (S,) stage-1 sample indices
    cell_rows: np.ndarray  # flat stage-1 cell rows of these samples, sample by sample
    cell_of_row: np.ndarray  # index into ``cells`` for each of cell_rows
    cells: EventCells
    tracks: EventTracks
    track_of_sample: np.ndarray  # (S,) index into ``tracks``


def iter_events(stage1: Stage1) -> Iterator[EventGroup]:
    """The events of ``stage1`` in ``(file_index, entry)`` order."""
    s = stage1.sample
    key = (s["file_index"].astype(np.int64) << 40) + s["entry"].astype(np.int64)
    order = np.argsort(key, kind="mergesort")
    bounds = np.flatnonzero(np.r_[True, np.diff(key[order]) != 0, True])
    c_off, o_off = stage1.cell_offsets, stage1.other_offsets
    c, t, o = stage1.cells, stage1.track, stage1.others
    for a, b in itertools.pairwise(bounds):
        samples = order[a:b]
        rows = np.concatenate([np.arange(c_off[i], c_off[i + 1]) for i in samples])
        _, first, inv = np.unique(c["id"][rows], return_index=True, return_inverse=True)
        sel = rows[first]
        cells = EventCells(
            energy=c["energy"][sel].astype(np.float64),
            eta=c["eta"][sel].astype(np.float64),
            phi=c["phi"][sel].astype(np.float64),
            sampling=c["layer"][sel].astype(np.int64),
            cluster=c["cluster"][sel].astype(np.int64),
            deta=c["deta"][sel].astype(np.float64),
            dphi=c["dphi"][sel].astype(np.float64),
            volume=c["volume"][sel].astype(np.float64),
        )
        orows = np.concatenate([np.arange(o_off[i], o_off[i + 1]) for i in samples])
        index = np.r_[t["index"][samples], o["index"][orows]].astype(np.int64)
        uniq, tfirst = np.unique(index, return_index=True)

        both = {
            k: np.concatenate([t[k][samples], o[k][orows]])[tfirst].astype(np.float64)
            for k in ("p", "pt", "layer_eta", "layer_phi")
        }
        tracks = EventTracks(**both)
        yield EventGroup(
            samples=samples,
            cell_rows=rows,
            cell_of_row=inv.ravel(),
            cells=cells,
            tracks=tracks,
            track_of_sample=np.searchsorted(uniq, t["index"][samples].astype(np.int64)),
        )


def resolve_templates(templates: Templates | str | os.PathLike[str] | None) -> Templates:
    """Templates from an object, a JSON path, or None (the eflowRec reference values)."""
    if templates is None:
        return eflowrec_reference()
    if isinstance(templates, Templates):
        return templates
    return load_templates(templates)


def pflow_on_stage1(
    stage1: Stage1,
    templates: Templates,
    *,
    params: PflowParams | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per stage-1 cell, the GeV its sample's focused track subtracts; per-sample details.

    Details: ``status`` (:class:`TrackStatus`), ``e_exp`` and ``sigma`` (GeV), ``lhed``,
    ``split_recovery`` (the track went through the recovery pass).
    """
    params = params or PflowParams()
    out = np.zeros(len(stage1.cells["energy"]), dtype=np.float64)
    info: dict[str, np.ndarray] = {
        "status": np.full(stage1.n, -1, dtype=np.int8),
        "e_exp": np.zeros(stage1.n),
        "sigma": np.zeros(stage1.n),
        "lhed": np.full(stage1.n, -1, dtype=np.int8),
        "split_recovery": np.zeros(stage1.n, dtype=bool),
    }
    groups = iter_events(stage1)
    n_events = len(
        np.unique(
            (stage1.sample["file_index"].astype(np.int64) << 40)
            + stage1.sample["entry"].astype(np.int64)
        )
    )
    for ev in tqdm(groups, total=n_events, disable=not progress, desc="pflow", unit="event"):
        res = run_event(
            ev.cells, ev.tracks, expect=templates.expect, profile=templates.profile, params=params
        )
        start = 0
        for s, tr in zip(ev.samples, ev.track_of_sample, strict=True):
            n = int(stage1.cell_offsets[s + 1] - stage1.cell_offsets[s])
            rows = ev.cell_rows[start : start + n]
            out[rows] = res.attribution[tr, ev.cell_of_row[start : start + n]]
            start += n
            info["status"][s] = res.status[tr]
            info["e_exp"][s] = res.e_exp[tr]
            info["sigma"][s] = res.sigma[tr]
            info["lhed"][s] = res.lhed[tr]
            info["split_recovery"][s] = res.split_recovery[tr]
    return out, info


def run_pflow(
    data_dir: str | os.PathLike[str],
    templates: Templates | str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    params: PflowParams | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """The classical algorithm on a split, shaped like ``training.inference.predict``.

    Returns ``pred`` (per stage-2 point: GeV subtracted by the sample's focused track;
    0 on track points), ``offsets``, the per-sample arrays of the contract, and
    ``pflow_status``, ``pflow_e_exp``, ``pflow_sigma`` per sample and ``n_unaligned``
    (cell points without a stage-1 cell, answered 0).
    """
    from jetpointnet.data.schema import PointType

    tpl = resolve_templates(templates)
    labels = load_labels(data_dir, split=split)
    stage1 = load_stage1(data_dir, split=split)
    cell_pred, info = pflow_on_stage1(stage1, tpl, params=params, progress=progress)
    s1 = stage1_rows(labels, stage1.sample)
    idx = point_cells(labels, stage1, s1)
    pred = np.where(idx >= 0, cell_pred[np.maximum(idx, 0)], 0.0).astype(np.float32)
    is_cell = labels["point_type"] == int(PointType.CELL)
    out = {"pred": pred, "offsets": labels["offsets"]}
    out.update({k: labels[k] for k in PER_SAMPLE if k in labels})
    for key in ("status", "e_exp", "sigma"):
        out[f"pflow_{key}"] = np.where(s1 >= 0, info[key][np.maximum(s1, 0)], -1)
    out["n_unaligned"] = np.array(int(np.sum(is_cell & (idx < 0))))
    return out


def measure_templates(
    stage1: Stage1,
    *,
    params: PflowParams | None = None,
    min_count: int = 10,
    cone: float = 0.2,
    source: str = "",
    progress: bool = True,
) -> Templates:
    """Templates from single-pion samples: one entry per event with exactly one track.

    E is the energy of the clusters whose centre lies within ``cone`` of the track at the
    reference layer plus the matched cluster; LHED and ring energies come from the same
    cells (rings around the track's point in each cell's layer).
    """
    params = params or PflowParams()
    acc = TemplateAccumulator(fit_rmax=cone)
    width = np.array([RING_WIDTH[g] for g in GROUPS])
    n_events = len(
        np.unique(
            (stage1.sample["file_index"].astype(np.int64) << 40)
            + stage1.sample["entry"].astype(np.int64)
        )
    )
    for ev in tqdm(
        iter_events(stage1), total=n_events, disable=not progress, desc="templates", unit="event"
    ):
        if len(ev.tracks) != 1 or len(ev.cells) == 0:
            continue
        tr = ev.tracks
        ref_eta, ref_phi = tr.reference()
        e, pt = float(tr.energy()[0]), float(tr.pt[0])
        if not (
            params.min_pt < pt and np.isfinite(ref_eta[0]) and abs(ref_eta[0]) < params.max_abs_eta
        ):
            continue
        geo = cluster_geometry(ev.cells, min_width=params.min_width)
        e_cl = np.bincount(geo.cell_slot, weights=ev.cells.energy, minlength=geo.ids.size)
        best = match_cluster(geo, e_cl, ref_eta[0], ref_phi[0], e, params=params)
        if best < 0:
            acc.n_unmatched += 1
            continue
        use = delta_r(geo.eta, geo.phi, ref_eta[0], ref_phi[0]) < cone
        use[best] = True
        in_use = use[geo.cell_slot]
        pos_eta, pos_phi = track_positions(ev.cells, tr, 0)
        cat = track_lhed(
            ev.cells,
            ev.cells.energy,
            pos_eta,
            pos_phi,
            geo.cell_slot == best,
            params=params,
            abs_eta=abs(float(ref_eta[0])),
            present=groups_present(tr, 0),
        )
        grp = GROUP_OF_SAMPLING[ev.cells.sampling].astype(np.int64)
        r = delta_r(ev.cells.eta, ev.cells.phi, pos_eta, pos_phi)
        ring = np.floor(r / width[grp]).astype(np.int64)
        ok = in_use & (ring < N_RINGS)
        ring_e = np.bincount(
            grp[ok] * N_RINGS + ring[ok],
            weights=ev.cells.energy[ok],
            minlength=len(GROUPS) * N_RINGS,
        ).reshape(len(GROUPS), N_RINGS)
        acc.add(
            energy=e,
            abs_eta=abs(float(tr.em1_eta()[0])),
            category=cat,
            eop=float(e_cl[use].sum()) / e,
            ring_energy=np.maximum(ring_e, 0.0),
        )
    return acc.build(min_count=min_count, source=source)

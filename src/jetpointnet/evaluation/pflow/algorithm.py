"""The cell-level particle-flow procedure of ATLAS (PFLOW.md steps 1-9) on one event.

Input is plain numpy: the event's cells (:class:`EventCells`) and tracks
(:class:`EventTracks`); output is, for every track, the energy (GeV) it subtracts from
every cell (:class:`EventResult`). The order of work follows eflowRec's
``PFSubtractionTool`` (first pass, then the split-shower recovery pass):

1. selection: ``min_pt < pT < max_pt`` (GeV, eflowRec's 0.5 and 100), ``|eta| <
   max_abs_eta`` at the reference layer (EMB2, else EME2);
2. matching, every track against the ORIGINAL clusters: the closest cluster in Delta-R'
   with ``Delta-R' < match_dr_prime`` and ``E_cluster > min_cluster_fraction * E``;
3. expected deposit ``E_exp = E <E/p>``, ``sigma = E sigma(E/p)`` from the templates at the
   track energy E (pion mass), |eta| at EM1 and the LHED of the matched cluster (4);
9. dense-environment veto, before any subtraction: ``pull = (sum of the energies > 0 of
   the clusters with centre within veto_dr - E_exp) / sigma``; vetoed if
   ``pull > veto_scale * log10(veto_pt_ref / pT)``: nothing subtracted, and the track
   takes no part in its group's sums;
2b. groups: tracks sharing a matched cluster form one group; with the group's summed
   E_exp and variance: if ``E_clusters < E_exp - consistency_sigma * sigma`` the group
   fails the E/p check and its tracks go to the recovery pass; else if ``E_clusters -
   E_exp < 1.5 sigma`` its clusters are removed whole (the cells shared among its tracks
   in proportion to their E_exp); else every track, in decreasing pT:
6. whole-cluster removal if ``E_matched - E_exp < 1.5 sigma`` (the track's own sigma and
   the current energy of its matched cluster), else
7. rings (:mod:`.subtraction`), then
8. the remnant rule: what is left in the matched clusters goes too if below
   ``remnant_sigma`` times the track's own sigma;
5. split-shower recovery, after all of the first pass: each track that failed the E/p
   check is matched to every still non-empty cluster with centre within
   ``split_shower_dr`` of the track; LHED, E_exp and sigma are recomputed on those
   clusters as the first pass left them (all recovery tracks before any of them
   subtracts), then, in decreasing pT and with no E/p check, steps 6, 7 and 8.

Only positive cell energy is ever subtracted, so ``0 <= attribution <= max(E_cell, 0)``
and the attributions of all tracks to a cell add up to at most ``max(E_cell, 0)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jetpointnet.evaluation.pflow.event import (
    EventCells,
    EventResult,
    EventTracks,
    PflowParams,
    TrackStatus,
)
from jetpointnet.evaluation.pflow.layers import GROUP_OF_SAMPLING, LHED_CATEGORIES, delta_r
from jetpointnet.evaluation.pflow.matching import (
    cluster_geometry,
    groups_present,
    link_groups,
    match_cluster,
    track_lhed,
    track_positions,
)
from jetpointnet.evaluation.pflow.subtraction import ProfileFn, subtract_rings

__all__ = [
    "SIMPLIFICATIONS",
    "EventCells",
    "EventResult",
    "EventTracks",
    "ExpectFn",
    "PflowParams",
    "ProfileFn",
    "TrackStatus",
    "run_event",
]

#: Where this implementation differs from eflowRec (the report lists them; docs/pflow.md).
SIMPLIFICATIONS: tuple[str, ...] = (
    "no electron or muon identification: every selected track is subtracted as a pion",
    (
        "evaluate/pflow: clusters are known only through the cells within the samples' cones "
        "(Delta-R < 0.2 around each track), not as whole topo-clusters (jets: whole events)"
    ),
    (
        "ring profiles are fitted per LHED category and layer group, not per energy and "
        "|eta| bin; no template bin is ever missing (nearest bins are used)"
    ),
    (
        "only positive cell energy is subtracted (eflowRec also removes negative cells of "
        "whole rings); the cells of a group removed whole are shared among its tracks in "
        "proportion to E_exp"
    ),
    (
        "the presampler has its own rings (EM1 width) and no LHED role; TileGap/FCAL cells are "
        "grouped with Tile layers; the LHED depth model is a simple barrel/end-cap one"
    ),
)

#: (E, |eta| at EM1, LHED category) -> (<E/p>, sigma(E/p)).
ExpectFn = Callable[[float, float, str], tuple[float, float]]


class _Event:
    """The mutable state of one event: remaining cell energies and the answer so far."""

    def __init__(self, cells, tracks, *, expect, profile, params: PflowParams) -> None:
        self.cells, self.tracks, self.params = cells, tracks, params
        self.expect_fn, self.profile = expect, profile
        self.remaining = np.asarray(cells.energy, dtype=np.float64).copy()
        self.geo = cluster_geometry(cells, min_width=params.min_width)
        self.n_k = self.geo.ids.size
        self.alive = np.ones(self.n_k, dtype=bool)
        self.groups = GROUP_OF_SAMPLING[np.asarray(cells.sampling, dtype=np.int64)]
        self.ref_eta, self.ref_phi = tracks.reference()
        self.em1_eta = tracks.em1_eta()
        self.energy = tracks.energy()
        self.out = EventResult.empty(len(tracks), len(cells))
        self._pos: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def cluster_energy(self) -> np.ndarray:
        return np.bincount(self.geo.cell_slot, weights=self.remaining, minlength=self.n_k)

    def dr_clusters(self, t: int) -> np.ndarray:
        return delta_r(self.geo.eta, self.geo.phi, self.ref_eta[t], self.ref_phi[t])

    def positions(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        if t not in self._pos:
            self._pos[t] = track_positions(self.cells, self.tracks, t)
        return self._pos[t]

    def expectation(self, t: int, slots: np.ndarray) -> None:
        """LHED on the current energies of clusters ``slots``; E_exp and sigma from it."""
        m = np.zeros(self.n_k, dtype=bool)
        m[slots] = True
        pos_eta, pos_phi = self.positions(t)
        cat = track_lhed(
            self.cells,
            self.remaining,
            pos_eta,
            pos_phi,
            m[self.geo.cell_slot],
            params=self.params,
            abs_eta=abs(float(self.ref_eta[t])),
            present=groups_present(self.tracks, t),
        )
        e = float(self.energy[t])
        mean, sig = self.expect_fn(e, abs(float(self.em1_eta[t])), LHED_CATEGORIES[cat])
        o = self.out
        o.lhed[t], o.e_exp[t], o.sigma[t] = cat, e * mean, max(e * sig, 1e-6)
        o.n_matched[t] = len(slots)

    def annihilate(self, slots: np.ndarray, tracks: np.ndarray, weights: np.ndarray) -> None:
        """Remove clusters ``slots`` whole; their positive energy goes to ``tracks``."""
        m = np.zeros(self.n_k, dtype=bool)
        m[slots] = True
        in_m = m[self.geo.cell_slot]
        pos = np.where(in_m, np.maximum(self.remaining, 0.0), 0.0)
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum() if w.sum() > 0 else np.full(w.size, 1.0 / max(w.size, 1))
        self.out.attribution[tracks] += w[:, None] * pos[None, :]
        self.remaining[in_m] = 0.0
        self.alive[m] = False

    def subtract_track(self, t: int, slots: np.ndarray) -> None:
        """Steps 6-8 for one track against its matched clusters ``slots``."""
        p, o = self.params, self.out
        e_exp, sigma = float(o.e_exp[t]), float(o.sigma[t])
        m = np.zeros(self.n_k, dtype=bool)
        m[slots] = True
        in_m = m[self.geo.cell_slot]
        if self.remaining[in_m].sum() - e_exp < p.remove_cluster_sigma * sigma:
            self.annihilate(slots, np.array([t]), np.ones(1))
            o.status[t] = TrackStatus.WHOLE_CLUSTER
            return
        idx = np.flatnonzero(in_m)
        pos_eta, pos_phi = self.positions(t)
        r = delta_r(self.cells.eta[idx], self.cells.phi[idx], pos_eta[idx], pos_phi[idx])
        take = subtract_rings(
            self.remaining[idx],
            r,
            self.groups[idx],
            e_exp,
            category=LHED_CATEGORIES[o.lhed[t]],
            profile=self.profile,
            ring_rmax=p.ring_rmax,
            weight_range=p.ring_weight_range,
        )
        self.remaining[idx] -= take
        o.attribution[t, idx] += take
        o.status[t] = TrackStatus.RINGS
        if self.remaining[in_m].sum() < p.remnant_sigma * sigma:
            self.annihilate(slots, np.array([t]), np.ones(1))
            o.remnant_removed[t] = True


def _selected(ev: _Event) -> np.ndarray:
    p, tr = ev.params, ev.tracks
    pt = np.asarray(tr.pt, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (
            (pt > p.min_pt)
            & (pt < p.max_pt)
            & np.isfinite(ev.ref_eta)
            & (np.abs(ev.ref_eta) < p.max_abs_eta)
            & np.isfinite(np.asarray(tr.p, dtype=np.float64))
        )


def _match_all(ev: _Event, order: np.ndarray) -> list[np.ndarray]:
    """Steps 2, 3 and 9 on the original clusters; the matched cluster slots per track."""
    p, o = ev.params, ev.out
    e_orig = ev.cluster_energy()
    links = [np.zeros(0, dtype=np.int64) for _ in range(len(ev.tracks))]
    for t in order:
        best = match_cluster(
            ev.geo, e_orig, ev.ref_eta[t], ev.ref_phi[t], float(ev.energy[t]), params=p
        )
        if best < 0:
            o.status[t] = TrackStatus.NO_MATCH
            continue
        links[t] = np.array([best])
        ev.expectation(t, links[t])
        o.status[t] = TrackStatus.RINGS  # provisional: decided by the groups
        cone = (ev.dr_clusters(t) < p.veto_dr) & (e_orig > 0)
        o.pull[t] = (e_orig[cone].sum() - o.e_exp[t]) / o.sigma[t]
        limit = p.veto_scale * np.log10(p.veto_pt_ref / float(ev.tracks.pt[t]))
        if p.veto and cone.any() and o.pull[t] > limit:
            o.status[t] = TrackStatus.VETOED
    return links


def _first_pass(ev: _Event, links: list[np.ndarray], pt: np.ndarray) -> list[int]:
    """Groups: E/p check, group annihilation or track by track; returns tracks to recover."""
    p, o = ev.params, ev.out
    recover: list[int] = []
    for group in link_groups(links, ev.n_k):
        active = group[o.status[group] != TrackStatus.VETOED]
        if active.size == 0:
            continue
        active = active[np.argsort(-pt[active], kind="mergesort")]
        slots = np.unique(np.concatenate([links[t] for t in group]))
        e_cl = ev.cluster_energy()[slots].sum()
        e_exp = float(o.e_exp[active].sum())
        sigma = float(np.sqrt(np.sum(o.sigma[active] ** 2)))
        if not (e_exp == 0 and e_cl > 0) and e_cl < e_exp - p.consistency_sigma * sigma:
            recover += [int(t) for t in active]
            continue
        if e_cl - e_exp < p.remove_cluster_sigma * sigma:
            ev.annihilate(slots, active, o.e_exp[active])
            o.status[active] = TrackStatus.WHOLE_CLUSTER
            continue
        for t in active:
            ev.subtract_track(int(t), links[t])
    return recover


def _recovery_pass(ev: _Event, recover: list[int], pt: np.ndarray) -> None:
    """Step 5: the tracks that failed the E/p check, on the still non-empty clusters."""
    p, o = ev.params, ev.out
    recover = sorted(recover, key=lambda t: (-pt[t], t))
    o.split_recovery[recover] = p.split_shower
    nonempty = ev.alive & (
        np.bincount(ev.geo.cell_slot, weights=ev.remaining > 0, minlength=ev.n_k) > 0
    )
    todo = []
    for t in recover:
        slots = np.flatnonzero(nonempty & (ev.dr_clusters(t) < p.split_shower_dr))
        if slots.size == 0 or not p.split_shower:
            o.status[t] = TrackStatus.NO_MATCH
            continue
        ev.expectation(t, slots)
        todo.append((t, slots))
    for t, slots in todo:
        ev.subtract_track(t, slots)


def run_event(
    cells: EventCells,
    tracks: EventTracks,
    *,
    expect: ExpectFn,
    profile: ProfileFn,
    params: PflowParams | None = None,
) -> EventResult:
    """Run the procedure on one event; see the module docstring for the steps.

    ``expect(E, abs_eta_em1, category)`` gives <E/p> and sigma(E/p) (templates), and
    ``profile(category, group, r)`` the expected radial energy density of a layer group.
    """
    ev = _Event(cells, tracks, expect=expect, profile=profile, params=params or PflowParams())
    if len(tracks) == 0:
        return ev.out
    pt = np.asarray(tracks.pt, dtype=np.float64)
    selected = _selected(ev)
    if len(cells) == 0:
        ev.out.status[selected] = TrackStatus.NO_MATCH
        return ev.out
    order = np.flatnonzero(selected)
    order = order[np.argsort(-pt[order], kind="mergesort")]
    links = _match_all(ev, order)
    recover = _first_pass(ev, links, pt)
    _recovery_pass(ev, recover, pt)
    return ev.out

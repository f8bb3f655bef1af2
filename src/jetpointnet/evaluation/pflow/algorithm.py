"""The cell-level particle-flow procedure of ATLAS (PFLOW.md steps 1-9) on one event.

Input is plain numpy: the event's cells (:class:`EventCells`) and tracks
(:class:`EventTracks`); output is, for every track, the energy (GeV) it subtracts from
every cell (:class:`EventResult`). Tracks are processed in descending pT and each one
works on what the previous ones left, as in eflowRec.

Per track:

1. selection: ``min_pt < pT < max_pt`` (GeV), ``|eta| < max_abs_eta``, a reference point
   (EMB2, else EME2);
2. matching: the closest cluster in Delta-R' (cluster centre = unweighted mean of its
   cells, widths = unweighted standard deviations floored at ``min_width``) with
   ``Delta-R' < match_dr_prime`` and ``E_cluster > min_cluster_fraction * p``;
3. expected deposit ``E_exp = p <E/p>``, ``sigma = p sigma(E/p)`` from the templates, in
   the track's energy, |eta| at the reference layer and LHED;
4. LHED from the matched cluster's cells (:mod:`.layers`);
9. dense-environment veto (checked before any subtraction): ``pull = (sum of cluster
   energy with centre within veto_dr - E_exp) / sigma``; no subtraction if
   ``pull > veto_scale * log10(veto_pt_ref / pT)``;
5. split-shower recovery: if ``(E_cluster - E_exp) / sigma < -1`` add every cluster whose
   centre is within ``split_shower_dr`` of the track;
6. whole-cluster removal if ``E_clusters - E_exp < 1.5 sigma``;
7. otherwise rings: per layer group, rings of the group's width around the track's point
   in that layer, out to ``ring_rmax``, ranked by the expected density of the ring profile
   (the LHED's first ring first); a ring below the energy still needed is removed whole,
   else scaled and the subtraction stops; then cells one by one by increasing Delta-R;
8. remnant rule: what is left in the matched clusters goes too if below 1.5 sigma, with
   sigma the quadratic sum over every track that has subtracted from those clusters so
   far (for a lone track the rule cannot fire, since step 6 already demanded
   ``E_clusters - E_exp >= 1.5 sigma``; it acts when several tracks share a cluster).

Only positive cell energy is ever subtracted, so ``0 <= attribution <= max(E_cell, 0)``
and the attributions of all tracks to a cell add up to at most ``max(E_cell, 0)``.
Simplifications against eflowRec: every track is treated as a pion (no electron or muon
identification), clusters are known only through the cells of the samples (the cones
around the tracks), and the presampler has its own rings (width as EM1).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jetpointnet.evaluation.pflow.layers import (
    GROUP_OF_SAMPLING,
    GROUPS,
    LHED_CATEGORIES,
    REF_SAMPLINGS,
    RING_WIDTH,
    TRACK_LAYER_OF_SAMPLING,
    delta_phi,
    delta_r,
    gaussian_cell_weight,
    group_densities,
    lhed_category,
    lhed_group,
)

__all__ = [
    "SIMPLIFICATIONS",
    "EventCells",
    "EventResult",
    "EventTracks",
    "PflowParams",
    "TrackStatus",
    "cluster_geometry",
    "match_cluster",
    "run_event",
    "subtract_rings",
    "track_lhed",
]

#: Where this implementation differs from eflowRec (the report lists them).
SIMPLIFICATIONS: tuple[str, ...] = (
    "no electron or muon identification: every selected track is subtracted as a pion",
    (
        "clusters are known only through the cells within the samples' cones (Delta-R < 0.2 "
        "around each track), not as whole topo-clusters"
    ),
    (
        "E/p templates are mean and standard deviation per bin (no Gaussian fits); ring "
        "profiles are fitted per LHED category and layer group, not per energy and |eta| bin"
    ),
    (
        "the presampler has its own rings (EM1 width) and TileGap/FCAL cells are grouped with "
        "Tile layers"
    ),
    "rings are ranked by the expected density at the ring centre, the LHED's innermost ring first",
    "the track energy is its momentum p (pion mass neglected)",
)

#: Expected density of a layer group at Delta-R r for an LHED category: f(category, group, r).
ProfileFn = Callable[[str, str, np.ndarray], np.ndarray]
#: (p, |eta|, category) -> (<E/p>, sigma(E/p)).
ExpectFn = Callable[[float, float, str], tuple[float, float]]


@dataclass
class PflowParams:
    """The algorithm's parameters; defaults are eflowRec's (PFLOW.md)."""

    min_pt: float = 0.5
    max_pt: float = 40.0
    max_abs_eta: float = 2.5
    match_dr_prime: float = 1.64
    min_width: float = 0.05
    min_cluster_fraction: float = 0.1
    lhed_sigma: float = 0.032
    lhed_cut: float = 3.0
    split_shower: bool = True
    split_shower_s: float = -1.0
    split_shower_dr: float = 0.2
    remove_cluster_sigma: float = 1.5
    remnant_sigma: float = 1.5
    veto: bool = True
    veto_dr: float = 0.15
    veto_scale: float = 33.2
    veto_pt_ref: float = 40.0
    ring_rmax: float = 0.75


class TrackStatus(enum.IntEnum):
    """What the algorithm did with a track."""

    RINGS = 0  # cell-by-cell subtraction in rings
    WHOLE_CLUSTER = 1  # E_cluster - E_exp < 1.5 sigma: matched cluster(s) removed
    NOT_SELECTED = 2  # outside the pT / eta window or no reference point
    NO_MATCH = 3  # no cluster passes the matching cuts
    VETOED = 4  # dense-environment veto


@dataclass
class EventCells:
    """The cells of one event (each cell once). Shapes ``(C,)``; GeV, radians, mm^3."""

    energy: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    sampling: np.ndarray
    cluster: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.energy).size)


@dataclass
class EventTracks:
    """The tracks of one event: ``p``, ``pt`` (T,) in GeV; ``layer_eta``/``layer_phi`` (T, 21)
    extrapolated positions in ``mltree_layout.TRACK_LAYERS`` order, NaN where missing."""

    p: np.ndarray
    pt: np.ndarray
    layer_eta: np.ndarray
    layer_phi: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.p).size)

    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """(eta, phi) at EMB2, else EME2; NaN without either."""
        b, e = REF_SAMPLINGS
        eta = np.where(
            np.isfinite(self.layer_eta[:, b]), self.layer_eta[:, b], self.layer_eta[:, e]
        )
        phi = np.where(
            np.isfinite(self.layer_eta[:, b]), self.layer_phi[:, b], self.layer_phi[:, e]
        )
        return eta.astype(np.float64), phi.astype(np.float64)


@dataclass
class EventResult:
    """``attribution`` (T, C): GeV each track subtracts from each cell; per-track details."""

    attribution: np.ndarray
    status: np.ndarray
    e_exp: np.ndarray
    sigma: np.ndarray
    lhed: np.ndarray  # index into LHED_CATEGORIES, -1 when not computed
    n_matched: np.ndarray
    split_recovery: np.ndarray
    remnant_removed: np.ndarray


@dataclass
class ClusterGeometry:
    ids: np.ndarray  # (K,) cluster index values
    cell_slot: np.ndarray  # (C,) index into ids for each cell
    eta: np.ndarray  # (K,) geometric centre
    phi: np.ndarray
    width_eta: np.ndarray  # floored widths
    width_phi: np.ndarray


def cluster_geometry(cells: EventCells, *, min_width: float = 0.05) -> ClusterGeometry:
    """Unweighted centre and angular widths (floored at ``min_width``) of each cluster."""
    ids, slot = np.unique(np.asarray(cells.cluster), return_inverse=True)
    k = ids.size
    n = np.bincount(slot, minlength=k).astype(np.float64)
    eta = np.bincount(slot, weights=cells.eta, minlength=k) / np.maximum(n, 1)
    # circular mean for phi: average the offsets from one cell of the cluster
    first = np.zeros(k, dtype=np.int64)
    first[slot[::-1]] = np.arange(slot.size)[::-1]
    anchor = np.asarray(cells.phi, dtype=np.float64)[first] if slot.size else np.zeros(0)
    dphi = delta_phi(cells.phi, anchor[slot])
    mphi = np.bincount(slot, weights=dphi, minlength=k) / np.maximum(n, 1)
    phi = delta_phi(anchor + mphi, 0.0)
    var_eta = np.bincount(slot, weights=(cells.eta - eta[slot]) ** 2, minlength=k) / np.maximum(
        n, 1
    )
    var_phi = np.bincount(
        slot, weights=delta_phi(cells.phi, phi[slot]) ** 2, minlength=k
    ) / np.maximum(n, 1)
    return ClusterGeometry(
        ids=ids,
        cell_slot=slot,
        eta=eta,
        phi=phi,
        width_eta=np.maximum(np.sqrt(var_eta), min_width),
        width_phi=np.maximum(np.sqrt(var_phi), min_width),
    )


def match_cluster(
    geo: ClusterGeometry,
    cluster_energy: np.ndarray,
    track_eta: float,
    track_phi: float,
    track_e: float,
    *,
    params: PflowParams,
) -> int:
    """Slot (index into ``geo.ids``) of the matched cluster, or -1 (PFLOW.md step 2)."""
    drp = np.hypot(
        (geo.eta - track_eta) / geo.width_eta, delta_phi(geo.phi, track_phi) / geo.width_phi
    )
    ok = (drp < params.match_dr_prime) & (cluster_energy > params.min_cluster_fraction * track_e)
    if not ok.any():
        return -1
    return int(np.flatnonzero(ok)[np.argmin(drp[ok])])


def track_positions(
    cells: EventCells, tracks: EventTracks, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Track t's (eta, phi) in each cell's own layer; the reference point where missing."""
    ref_eta, ref_phi = tracks.reference()
    col = TRACK_LAYER_OF_SAMPLING[np.asarray(cells.sampling, dtype=np.int64)]
    eta = np.where(col >= 0, tracks.layer_eta[t][np.maximum(col, 0)], np.nan).astype(np.float64)
    phi = np.where(col >= 0, tracks.layer_phi[t][np.maximum(col, 0)], np.nan).astype(np.float64)
    bad = ~np.isfinite(eta) | ~np.isfinite(phi)
    eta[bad] = ref_eta[t]
    phi[bad] = ref_phi[t]
    return eta, phi


def track_lhed(
    cells: EventCells,
    energy: np.ndarray,
    pos_eta: np.ndarray,
    pos_phi: np.ndarray,
    select: np.ndarray,
    *,
    params: PflowParams,
) -> int:
    """LHED category index (into ``LHED_CATEGORIES``) from the selected cells."""
    w = gaussian_cell_weight(
        cells.eta[select],
        cells.phi[select],
        cells.deta[select],
        cells.dphi[select],
        pos_eta[select],
        pos_phi[select],
        sigma=params.lhed_sigma,
        cut=params.lhed_cut,
    )
    groups = GROUP_OF_SAMPLING[np.asarray(cells.sampling[select], dtype=np.int64)]
    dens = group_densities(energy[select], w, cells.volume[select], groups)
    return LHED_CATEGORIES.index(lhed_category(lhed_group(dens)))


def subtract_rings(
    energy: np.ndarray,
    r: np.ndarray,
    group: np.ndarray,
    need: float,
    *,
    category: str,
    profile: ProfileFn,
    ring_rmax: float = 0.75,
) -> np.ndarray:
    """Energy (GeV) to take from each cell to remove ``need`` GeV ring by ring (step 7).

    ``energy`` are the cells' remaining energies (negative ones are never taken), ``r``
    their Delta-R to the track in their own layer and ``group`` their index into GROUPS.
    Rings are ordered by expected density, the LHED's innermost ring first.
    """
    e = np.maximum(np.asarray(energy, dtype=np.float64), 0.0)
    take = np.zeros_like(e)
    if need <= 0 or e.size == 0:
        return take
    width = np.array([RING_WIDTH[g] for g in GROUPS])[group]
    inside = r < ring_rmax
    ring = np.where(inside, np.floor(r / width), -1).astype(np.int64)
    key = group.astype(np.int64) * 10_000 + ring
    keys = np.unique(key[inside])
    dens = np.empty(keys.size)
    lhed_groups = {"HEC": ("HEC0",), "Tile": ("Tile0",)}.get(category, (category,))
    first = -1
    for i, k in enumerate(keys):
        g, n = divmod(int(k), 10_000)
        centre = (n + 0.5) * RING_WIDTH[GROUPS[g]]
        dens[i] = float(profile(category, GROUPS[g], np.array([centre]))[0])
        if n == 0 and GROUPS[g] in lhed_groups:
            first = i
    order = np.argsort(-dens, kind="mergesort")
    if first >= 0:
        order = np.r_[first, order[order != first]]
    for i in order:
        sel = np.flatnonzero(key == keys[i])
        ring_e = e[sel].sum()
        if ring_e <= 0:
            continue
        if ring_e < need:
            take[sel] = e[sel]
            need -= ring_e
        else:
            take[sel] = e[sel] * (need / ring_e)
            return take
    # rings ran out: cells one by one by increasing Delta-R
    for c in np.argsort(r, kind="mergesort"):
        avail = e[c] - take[c]
        if avail <= 0:
            continue
        step = min(avail, need)
        take[c] += step
        need -= step
        if need <= 0:
            break
    return take


def run_event(
    cells: EventCells,
    tracks: EventTracks,
    *,
    expect: ExpectFn,
    profile: ProfileFn,
    params: PflowParams | None = None,
) -> EventResult:
    """Run the procedure on one event; see the module docstring for the steps.

    ``expect(p, abs_eta, category)`` gives <E/p> and sigma(E/p) (templates), and
    ``profile(category, group, r)`` the expected ring density.
    """
    params = params or PflowParams()
    n_t, n_c = len(tracks), len(cells)
    remaining = np.asarray(cells.energy, dtype=np.float64).copy()
    out = EventResult(
        attribution=np.zeros((n_t, n_c)),
        status=np.full(n_t, TrackStatus.NOT_SELECTED, dtype=np.int8),
        e_exp=np.zeros(n_t),
        sigma=np.zeros(n_t),
        lhed=np.full(n_t, -1, dtype=np.int8),
        n_matched=np.zeros(n_t, dtype=np.int16),
        split_recovery=np.zeros(n_t, dtype=bool),
        remnant_removed=np.zeros(n_t, dtype=bool),
    )
    if n_t == 0:
        return out
    geo = cluster_geometry(cells, min_width=params.min_width)
    n_k = geo.ids.size
    ref_eta, ref_phi = tracks.reference()
    sigma2 = np.zeros(n_k)  # per cluster: sum of sigma^2 of the tracks that subtracted from it
    groups = GROUP_OF_SAMPLING[np.asarray(cells.sampling, dtype=np.int64)]
    for t in np.argsort(-np.asarray(tracks.pt, dtype=np.float64), kind="mergesort"):
        p, pt = float(tracks.p[t]), float(tracks.pt[t])
        if (
            not (
                params.min_pt < pt < params.max_pt
                and np.isfinite(ref_eta[t])
                and abs(ref_eta[t]) < params.max_abs_eta
                and np.isfinite(p)
            )
            or n_c == 0
        ):
            continue
        e_cl = np.bincount(geo.cell_slot, weights=remaining, minlength=n_k)
        best = match_cluster(geo, e_cl, ref_eta[t], ref_phi[t], p, params=params)
        if best < 0:
            out.status[t] = TrackStatus.NO_MATCH
            continue
        pos_eta, pos_phi = track_positions(cells, tracks, t)
        cat = track_lhed(cells, remaining, pos_eta, pos_phi, geo.cell_slot == best, params=params)
        mean, sig = expect(p, abs(float(ref_eta[t])), LHED_CATEGORIES[cat])
        e_exp, sigma = p * mean, max(p * sig, 1e-6)
        out.lhed[t], out.e_exp[t], out.sigma[t] = cat, e_exp, sigma
        dr_cl = delta_r(geo.eta, geo.phi, ref_eta[t], ref_phi[t])
        if params.veto:
            pull = (e_cl[dr_cl < params.veto_dr].sum() - e_exp) / sigma
            if pull > params.veto_scale * np.log10(params.veto_pt_ref / pt):
                out.status[t] = TrackStatus.VETOED
                continue
        matched = np.zeros(n_k, dtype=bool)
        matched[best] = True
        if params.split_shower and (e_cl[best] - e_exp) / sigma < params.split_shower_s:
            extra = dr_cl < params.split_shower_dr
            out.split_recovery[t] = bool(np.any(extra & ~matched))
            matched |= extra
        out.n_matched[t] = int(matched.sum())
        in_m = matched[geo.cell_slot]
        pos = np.maximum(remaining, 0.0)
        if e_cl[matched].sum() - e_exp < params.remove_cluster_sigma * sigma:
            take = np.where(in_m, pos, 0.0)
            out.status[t] = TrackStatus.WHOLE_CLUSTER
        else:
            idx = np.flatnonzero(in_m)
            r = delta_r(cells.eta[idx], cells.phi[idx], pos_eta[idx], pos_phi[idx])
            take = np.zeros(n_c)
            take[idx] = subtract_rings(
                remaining[idx],
                r,
                groups[idx],
                e_exp,
                category=LHED_CATEGORIES[cat],
                profile=profile,
                ring_rmax=params.ring_rmax,
            )
            left = np.where(in_m, remaining - take, 0.0)
            sig_tot = np.sqrt(sigma2[matched].max(initial=0.0) + sigma**2)
            if left.sum() < params.remnant_sigma * sig_tot:
                take = take + np.maximum(np.where(in_m, pos - take, 0.0), 0.0)
                out.remnant_removed[t] = True
            out.status[t] = TrackStatus.RINGS
        sigma2[matched] += sigma**2
        take = np.minimum(take, pos)
        out.attribution[t] = take
        remaining -= take
    return out

"""One event through the detector: tracks, showers, cells with noise, topo-clusters.

:func:`simulate_event` turns a :class:`~jetpointnet.simulate.generators.TruthEvent` into an
:class:`EventRecord` that holds every MLTree EventTree branch for that event (flat arrays
plus counts for the nested cluster branches); :mod:`jetpointnet.simulate.run` stacks
records into chunks and hands them to the writer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

import numpy as np

from jetpointnet.simulate.clustering import (
    SECONDARY_MAXIMUM_LAYERS,
    ClusterCells,
    split_clusters,
    topo_cluster,
)
from jetpointnet.simulate.generators import TruthEvent
from jetpointnet.simulate.geometry import Geometry
from jetpointnet.simulate.lines import LinePath, envelope, line_table
from jetpointnet.simulate.material import DEAD, MaterialTable
from jetpointnet.simulate.params import DETECTOR, DetectorParams
from jetpointnet.simulate.showers import Spots, _Tracks, shower_particles
from jetpointnet.simulate.tracker import Exit, extrapolate_layers, propagate_to_solenoid
from jetpointnet.simulate.truth_record import truth_branches

__all__ = ["STAGES", "EventRecord", "simulate_event"]

#: the stages of :func:`simulate_event`, in order, as keys of its ``timings``
STAGES = ("showers", "noise", "clustering", "splitting", "cell_truth", "tracks")

_PS_BARREL_R = 1410.0  # calorimeter front: presampler, barrel (mm)
_PS_ENDCAP_Z = 3620.0  # and end-cap
_NEUTRINOS = (12, 14, 16)
_PION_MASS = 0.13957


@dataclass
class EventRecord:
    """All EventTree branches of one event.

    ``values``: name -> scalar or 1-D array. ``nested``: name -> (flat values, counts per
    cluster) for depth-2 branches and (flat values, counts per cell, counts per cluster)
    for depth-3 branches.
    """

    values: dict[str, object] = field(default_factory=dict)
    nested: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    # per-cell truth of all cells (not only written ones), for validation: cell, particle, E
    spots: Spots | None = None


def _calo_front(exit_):
    """First point on the straight line from the solenoid exit at the calorimeter front.

    Only prompt particles use it (born near the origin: the front lies ahead of them); a
    line that never reaches the front stays at the exit point.
    """
    ex, ey, ez, ux, uy, uz = exit_.x, exit_.y, exit_.z, exit_.ux, exit_.uy, exit_.uz
    a = ux**2 + uy**2
    b = 2.0 * (ex * ux + ey * uy)
    c = ex**2 + ey**2 - _PS_BARREL_R**2
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        s_r = np.where((disc >= 0) & (a > 0), (-b + np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        s_z = np.where(uz != 0, (np.sign(uz) * _PS_ENDCAP_Z - ez) / uz, np.inf)
    s_r = np.where(s_r >= 0, s_r, np.inf)
    s_z = np.where(s_z >= 0, s_z, np.inf)
    s = np.minimum(s_r, s_z)
    s = np.where(np.isfinite(s), s, 0.0)
    return ex + s * ux, ey + s * uy, ez + s * uz


def simulate_event(
    truth: TruthEvent,
    geo: Geometry,
    mat: MaterialTable,
    rng: np.random.Generator,
    *,
    params: DetectorParams = DETECTOR,
    max_contributors: int | None = None,
    keep_spots: bool = False,
    event_truth: bool = False,
    timings: dict[str, float] | None = None,
) -> EventRecord:
    """Simulate one event; return its MLTree branches.

    Stages (random numbers drawn in this order): showers in the calorimeter, cell noise,
    topo-clustering, then track reconstruction.

    ``event_truth``: also the optional branches of
    :data:`~jetpointnet.io.mltree_layout.EVENT_TRUTH_BRANCHES` that come from the detector
    (per-contributor visible cell energy, per-particle calorimeter totals); they are
    computed from the same spots and draw no random numbers, so every other branch is the
    same with or without them.

    ``timings``: seconds spent in each of :data:`STAGES` are added to it.
    """
    clock = _Clock(timings)
    pt, eta, phi = _kinematics(truth)
    spots, cell, part, e_true, e_vis = _calorimeter_hits(truth, geo, mat, rng, params)
    clock.lap("showers")
    energy, clusters = _cells_and_clusters(cell, e_vis, geo, rng, params, clock)
    t = _cell_truth(cell, part, e_true, e_vis, truth.size, event_truth=event_truth)
    ent_e = clusters.weight * energy[clusters.cell]  # the cell's share in the cluster (GeV)
    nested = _written_cells(clusters, ent_e, energy, t, geo, params, max_contributors)
    cluster_values = _cluster_branches(clusters, ent_e, t, truth, geo)
    clock.lap("cell_truth")
    track_values, tidx, layers = _track_branches(truth, pt, eta, phi, rng, params)
    v: dict[str, object] = {
        **truth_branches(truth, pt, eta, phi),
        **track_values,
        "trackVisibleCalHitCaloEnergy": _f32(t.vis_by_particle[tidx]),
        "trackFullCalHitCaloEnergy": _f32(t.true_by_particle[tidx]),
        "trackSubtractedCaloEnergy": _f32(np.full(tidx.size, -999.0)),
        **cluster_values,
    }
    for layer, (le, lp) in layers.items():
        v[f"trackEta_{layer}"] = _f32(le)
        v[f"trackPhi_{layer}"] = _f32(lp)
    if event_truth:  # per truth particle; the status-2 bosons (last) deposit nothing
        n_decayed = int(v["nTruthPart"]) - truth.size  # type: ignore[call-overload]
        v["truthPartCaloETrue"] = _f32(np.append(t.true_by_particle, np.zeros(n_decayed)))
        v["truthPartCaloEVis"] = _f32(np.append(t.vis_by_particle, np.zeros(n_decayed)))
    rec = EventRecord(values=v, nested=nested)
    if keep_spots:
        rec.spots = spots
    clock.lap("tracks")
    return rec


class _Clock:
    """Adds the seconds since the previous lap to ``sink[name]`` (nothing if no sink)."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.sink is not None:
            now = time.perf_counter()
            self.sink[name] = self.sink.get(name, 0.0) + now - self.t
            self.t = now


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _kinematics(truth: TruthEvent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth pt (GeV), eta and phi of every particle (eta +-10 along the beam)."""
    pt = np.hypot(truth.px, truth.py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(
            pt > 0, np.arcsinh(truth.pz / np.where(pt > 0, pt, 1.0)), np.sign(truth.pz) * 10.0
        )
    phi = np.arctan2(truth.py, truth.px)
    return pt, eta, phi


def _calorimeter_hits(
    truth: TruthEvent,
    geo: Geometry,
    mat: MaterialTable,
    rng: np.random.Generator,
    p: DetectorParams,
) -> tuple[Spots, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Showers of the particles that reach the calorimeter.

    Particles born within ``projective_vertex_max`` of the origin shower along the
    projective material of the eta where they reach the calorimeter front; the others
    along their own line from their birth point (:mod:`.lines`), after the prompt ones
    (their random numbers drawn after the prompt ones', so that an event without
    displaced particles draws exactly what it drew before they had their own model).
    Returns all spots and, for the spots inside a cell (the cell of the spot's position in
    its layer): cell index, particle index, true and visible energy (GeV).
    """
    exit_ = propagate_to_solenoid(
        truth.vx, truth.vy, truth.vz, truth.px, truth.py, truth.pz, truth.charge, params=p
    )
    fx, fy, fz = _calo_front(exit_)
    fr = np.hypot(fx, fy)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta_c = np.arcsinh(fz / np.where(fr > 0, fr, 1e-9))
    shower = exit_.escapes & ~np.isin(np.abs(truth.pdg), _NEUTRINOS) & (truth.e > 1e-3)
    prompt = np.sqrt(truth.vx**2 + truth.vy**2 + truth.vz**2) < p.projective_vertex_max
    idx = np.flatnonzero(shower & prompt & (np.abs(eta_c) < p.max_eta_calo))
    tr = _Tracks(
        idx=idx, row=mat.row(np.abs(eta_c[idx])),
        x=fx[idx], y=fy[idx], z=fz[idx],
        ux=exit_.ux[idx], uy=exit_.uy[idx], uz=exit_.uz[idx],
        s_front=np.sqrt(fx[idx] ** 2 + fy[idx] ** 2 + fz[idx] ** 2),
    )  # fmt: skip
    spots = shower_particles(tr, truth.pdg, truth.e, truth.m, truth.charge, mat, rng, p)
    displaced = np.flatnonzero(shower & ~prompt)
    if displaced.size:  # along their own lines from their birth points (simulate/lines.py)
        tr_d, mat_d = _displaced_tracks(truth, exit_, displaced, mat)
        more = shower_particles(tr_d, truth.pdg, truth.e, truth.m, truth.charge, mat_d, rng, p)
        spots = Spots.concat([spots, more])
    r = np.hypot(spots.x, spots.y)
    s_eta = np.arcsinh(spots.z / np.maximum(r, 1e-9))
    s_phi = np.arctan2(spots.y, spots.x)
    cell = geo.lookup(spots.layer, s_eta, s_phi)
    ok = cell >= 0
    return spots, cell[ok], spots.particle[ok], spots.e_true[ok], spots.e_vis[ok]


def _displaced_tracks(
    truth: TruthEvent, exit_: Exit, idx: np.ndarray, mat: MaterialTable
) -> tuple[_Tracks, MaterialTable]:
    """Trajectories of particles ``idx`` born away from the origin and the material along
    them (one table row each, path length from the birth point); only those that cross an
    instrumented layer."""
    path = LinePath(
        (truth.vx[idx], truth.vy[idx], truth.vz[idx]),
        (exit_.x[idx], exit_.y[idx], exit_.z[idx]),
        (exit_.ux[idx], exit_.uy[idx], exit_.uz[idx]),
        radius=envelope(mat),
    )
    lines = line_table(mat, path)
    hit = np.flatnonzero((lines.layer != DEAD).any(axis=1))
    lines = MaterialTable(**{f.name: getattr(lines, f.name)[hit] for f in fields(lines)})
    tr = _Tracks(
        idx=idx[hit], row=np.arange(hit.size),
        x=exit_.x[idx][hit], y=exit_.y[idx][hit], z=exit_.z[idx][hit],
        ux=exit_.ux[idx][hit], uy=exit_.uy[idx][hit], uz=exit_.uz[idx][hit],
        s_front=path.l_chord[hit],
    )  # fmt: skip
    return tr, lines


def _cells_and_clusters(
    cell: np.ndarray,
    e_vis: np.ndarray,
    geo: Geometry,
    rng: np.random.Generator,
    p: DetectorParams,
    clock: _Clock | None = None,
) -> tuple[np.ndarray, ClusterCells]:
    """Energy of every cell with its noise (GeV) and the topo-clusters (split or not)."""
    clock = clock or _Clock(None)
    # (astype: bincount of an empty event returns integers)
    energy = np.bincount(cell, weights=e_vis, minlength=geo.n_cells).astype(np.float64, copy=False)
    noise = rng.standard_normal(geo.n_cells)
    noise *= geo.noise
    energy += noise
    clock.lap("noise")
    labels = topo_cluster(energy, geo.noise, geo.neighbours,
                          seed=p.seed_threshold, grow=p.grow_threshold, perimeter=p.perimeter_threshold)  # fmt: skip
    clock.lap("clustering")
    if not p.split_clusters:
        return energy, ClusterCells.from_labels(labels)
    clusters = split_clusters(
        energy, labels, geo, min_energy=p.split_min_energy,
        min_neighbours=p.split_min_neighbours, shower_scale=p.split_shower_scale,
        secondary=SECONDARY_MAXIMUM_LAYERS if p.split_secondary_maxima else (),
    )  # fmt: skip
    clock.lap("splitting")
    return energy, clusters


@dataclass
class _CellTruth:
    """True energy (GeV) per (cell, particle) pair, summed over spots, sorted by cell;
    visible and true energy per particle."""

    cell: np.ndarray
    part: np.ndarray
    e: np.ndarray
    vis_by_particle: np.ndarray
    true_by_particle: np.ndarray
    vis: np.ndarray | None = None  # visible energy per pair (only with event truth)


def _cell_truth(
    cell: np.ndarray,
    part: np.ndarray,
    e_true: np.ndarray,
    e_vis: np.ndarray,
    n: int,
    *,
    event_truth: bool = False,
) -> _CellTruth:
    """Truth per (cell, particle) of ``n`` truth particles, summed over spots."""
    key = cell.astype(np.int64) * max(n, 1) + part
    ukey, inv = np.unique(key, return_inverse=True)
    return _CellTruth(
        cell=ukey // max(n, 1),
        part=ukey % max(n, 1),
        e=np.bincount(inv, weights=e_true),
        vis=np.bincount(inv, weights=e_vis, minlength=len(ukey)) if event_truth else None,
        vis_by_particle=np.bincount(part, weights=e_vis, minlength=n),
        true_by_particle=np.bincount(part, weights=e_true, minlength=n),
    )


def _written_cells(
    clusters: ClusterCells,
    ent_e: np.ndarray,
    energy: np.ndarray,
    t: _CellTruth,
    geo: Geometry,
    p: DetectorParams,
    max_contributors: int | None,
) -> dict[str, tuple[np.ndarray, ...]]:
    """The nested ``cluster_cell_*`` branches: the written cells of each cluster and
    their truth contributors (largest first, at most ``max_contributors``)."""
    # entries (cell, cluster, weight) sorted by cluster then cell; a shared cell has two
    ent_cell, ent_cl = clusters.cell, clusters.cluster
    written = energy[ent_cell] > p.min_written_cell_energy  # MLTree's rule, on the whole cell
    w_cell, w_cl, w_e = ent_cell[written], ent_cl[written], ent_e[written]
    cells_per_cluster = np.bincount(w_cl, minlength=clusters.n_clusters).astype(np.int64)
    # contributors of written cells, largest first; a shared cell lists all of them twice
    is_written = np.zeros(geo.n_cells, dtype=bool)
    is_written[w_cell] = True
    in_written = is_written[t.cell]
    tc, tp, te = t.cell[in_written], t.part[in_written], t.e[in_written]
    tv = t.vis[in_written] if t.vis is not None else np.zeros(tc.size)
    o = np.lexsort((-te, tc))
    tc, tp, te, tv = tc[o], tp[o], te[o], tv[o]
    if max_contributors is not None:
        first = np.searchsorted(tc, tc, side="left")
        keep = (np.arange(tc.size) - first) < max_contributors
        tc, tp, te, tv = tc[keep], tp[keep], te[keep], tv[keep]
    start = np.searchsorted(tc, w_cell, side="left")
    hits_per_cell = (np.searchsorted(tc, w_cell, side="right") - start).astype(np.int64)
    flat = np.repeat(start - (np.cumsum(hits_per_cell) - hits_per_cell), hits_per_cell)
    flat += np.arange(flat.size, dtype=np.int64)
    tp, te, tv = tp[flat], te[flat], tv[flat]
    nested = {
        "cluster_cell_ID": (geo.cell_id[w_cell], cells_per_cluster),
        "cluster_cell_E": (_f32(w_e), cells_per_cluster),
        "cluster_cell_hitsTruthIndex": (tp.astype(np.int32), hits_per_cell, cells_per_cluster),
        "cluster_cell_hitsTruthE": (_f32(te), hits_per_cell, cells_per_cluster),
    }
    if t.vis is not None:
        nested["cluster_cell_hitsTruthEVis"] = (_f32(tv), hits_per_cell, cells_per_cluster)
    return nested


def _cluster_branches(
    clusters: ClusterCells, ent_e: np.ndarray, t: _CellTruth, truth: TruthEvent, geo: Geometry
) -> dict[str, object]:
    """The per-cluster branches: energy, direction, calibration-hit moments."""
    ent_cell, ent_cl, ent_w = clusters.cell, clusters.cluster, clusters.weight
    n_cl = clusters.n_clusters
    cl_e = np.bincount(ent_cl, weights=ent_e, minlength=n_cl)
    w = np.abs(ent_e)
    w_sum = np.maximum(np.bincount(ent_cl, weights=w, minlength=n_cl), 1e-12)
    gx, gy, gz = geo.positions()
    cx = np.bincount(ent_cl, weights=w * gx[ent_cell], minlength=n_cl) / w_sum
    cy = np.bincount(ent_cl, weights=w * gy[ent_cell], minlength=n_cl) / w_sum
    cz = np.bincount(ent_cl, weights=w * gz[ent_cell], minlength=n_cl) / w_sum
    cl_phi = np.arctan2(cy, cx)
    cl_eta = np.arcsinh(cz / np.maximum(np.hypot(cx, cy), 1e-9))
    # calibration-hit energy in each cluster (a shared cell's by its weight), and the share
    # of it from e+- and photons
    is_em = np.isin(np.abs(truth.pdg[t.part]), (11, 22))
    cell_calib, cell_em = _per_cell_sums(t.cell, (t.e, t.e * is_em), ent_cell)
    calib = np.bincount(ent_cl, weights=ent_w * cell_calib, minlength=n_cl)
    calib_em = np.bincount(ent_cl, weights=ent_w * cell_em, minlength=n_cl)
    # depth of the cluster centre behind the calorimeter front along its direction
    centre_lambda = np.sqrt(cx**2 + cy**2 + cz**2) - np.minimum(
        _PS_BARREL_R * np.cosh(cl_eta), _PS_ENDCAP_Z / np.maximum(np.abs(np.tanh(cl_eta)), 1e-6)
    )
    return {
        "nCluster": n_cl,
        "cluster_E": _f32(cl_e),
        "cluster_E_LCCalib": _f32(cl_e),
        "cluster_Pt": _f32(cl_e / np.cosh(cl_eta)),
        "cluster_Eta": _f32(cl_eta),
        "cluster_Phi": _f32(cl_phi),
        "cluster_nCells": np.bincount(ent_cl, minlength=n_cl).astype(np.int32),
        "cluster_ENG_CALIB_TOT": _f32(calib),
        "cluster_EM_PROBABILITY": _f32(
            np.where(calib > 0, calib_em / np.maximum(calib, 1e-12), 0.0)
        ),
        "cluster_CENTER_LAMBDA": _f32(centre_lambda),
    }


def _per_cell_sums(
    cells: np.ndarray, weights: tuple[np.ndarray, ...], at: np.ndarray
) -> list[np.ndarray]:
    """For each of ``weights``: its sum over the entries of each cell, at the cells ``at``
    (0 where a cell has none). ``cells`` sorted; the same sums (the same order of
    addition) as a bincount over all cells, without arrays as long as the calorimeter."""
    head = np.ones(cells.size, dtype=bool)
    head[1:] = cells[1:] != cells[:-1]
    uniq = cells[head]
    inv = np.cumsum(head) - 1
    pos = np.minimum(np.searchsorted(uniq, at), max(uniq.size - 1, 0))
    found = uniq[pos] == at if uniq.size else np.zeros(at.size, dtype=bool)
    out = []
    for w in weights:
        sums = np.bincount(inv, weights=w, minlength=uniq.size)
        out.append(np.where(found, sums[pos] if uniq.size else 0.0, 0.0))
    return out


def _track_branches(
    truth: TruthEvent,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    rng: np.random.Generator,
    p: DetectorParams,
) -> tuple[dict[str, object], np.ndarray, dict]:
    """Reconstructed tracks (smeared, ordered by decreasing pt): their branches, their
    truth-particle indices and their extrapolation to each calorimeter layer."""
    charged = truth.charge != 0
    vr = np.hypot(truth.vx, truth.vy)
    cand = (
        charged
        & (np.abs(eta) < p.track_eta_max)
        & (pt > p.track_pt_min)
        & (vr < p.track_vertex_r_max)
    )
    cand &= rng.uniform(size=truth.size) < p.track_efficiency
    tidx = np.flatnonzero(cand)
    tidx = tidx[np.argsort(-pt[tidx], kind="stable")]
    k = tidx.size
    t_pt_true = pt[tidx]
    sig_rel = np.hypot(p.track_sigma_pt_a * t_pt_true, p.track_sigma_pt_b)
    t_pt = t_pt_true * np.maximum(1.0 + sig_rel * rng.standard_normal(k), 0.05)
    t_eta = eta[tidx] + p.track_sigma_eta * rng.standard_normal(k)
    t_phi = np.angle(np.exp(1j * (phi[tidx] + p.track_sigma_phi * rng.standard_normal(k))))
    t_px, t_py, t_pz = t_pt * np.cos(t_phi), t_pt * np.sin(t_phi), t_pt * np.sinh(t_eta)
    t_exit = propagate_to_solenoid(
        truth.vx[tidx], truth.vy[tidx], truth.vz[tidx], t_px, t_py, t_pz, truth.charge[tidx],
        params=p,
    )  # fmt: skip
    layers = extrapolate_layers(t_exit, t_eta)
    n_pix = rng.integers(3, 6, size=k)
    n_sct = rng.integers(7, 11, size=k)
    ndof = 2 * (n_pix + n_sct) - 5
    chi2 = rng.chisquare(ndof).astype(np.float64)
    d0_true = truth.vx[tidx] * np.sin(t_phi) - truth.vy[tidx] * np.cos(t_phi)
    sd0 = np.hypot(p.track_sigma_d0, p.track_sigma_d0_ms / np.maximum(t_pt, 0.1))
    d0 = d0_true + sd0 * rng.standard_normal(k)
    z0 = truth.vz[tidx] + 3.0 * sd0 * rng.standard_normal(k)
    values = {
        "nTrack": k,
        "trackPt": _f32(t_pt),
        "trackP": _f32(t_pt * np.cosh(t_eta)),
        "trackMass": _f32(np.full(k, _PION_MASS)),
        "trackEta": _f32(t_eta),
        "trackPhi": _f32(t_phi),
        "trackTruthParticleIndex": tidx.astype(np.int32),
        "trackChiSquared": _f32(chi2),
        "trackNumberDOF": ndof.astype(np.int32),
        "trackD0": _f32(d0),
        "trackZ0": _f32(z0),
        "trackNumberOfPixelHits": n_pix.astype(np.int32),
        "trackNumberOfSCTHits": n_sct.astype(np.int32),
    }
    return values, tidx, layers

"""Event-level samples: one event, or one eta-phi region of it, as padded arrays.

Regions (``mode="region"``) tile the calorimeter in eta bands of ``deta`` and phi sectors
of ``dphi``: a cell belongs to the tile of its centre, a track to the tile of its
calorimeter impact (:mod:`jetpointnet.data.event_inputs`), a target neutral to the tile
of the cell holding its largest deposit. A sample is a tile with at least one clustered
cell: its *core*. Around the core, ``halo`` (radians, in eta and in phi) adds context:
the cells, tracks and target neutrals of the enlarged box are in the sample too, flagged
``cell_core``/``track_core``/``neutral_core`` False. Without a halo a shower that crosses
a tile edge is cut in two and a track's cells beyond the edge cannot be given to it
(31 % of the charged deposit on JZ2 with perigee tiles and no halo; 7 % with impact tiles
and a 0.15 halo around 0.6 x pi/6 tiles). Each cell, track and neutral is in the core of
exactly one sample, so a prediction keeps from each sample only what its core owns.

Targets are made on the whole event first (:func:`~jetpointnet.data.event_targets.event_targets`),
then sliced: a sample keeps the charged slots of its tracks and its neutrals; the shares
of every other particle go to its noise slot, so every cell still sums to 1.

Size limits (``max_cells`` Lc, ``max_tracks`` Lt, ``max_neutral`` Kt) keep the core first,
then the most energetic cells, the highest-pT tracks and the most energetic neutrals;
what is cut is counted (``truncation`` in metadata.json) and its shares go to the noise
slot. Arrays and their units: see docs/contracts/event.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from jetpointnet.data.event_inputs import EventView
from jetpointnet.data.event_targets import EventTargets
from jetpointnet.data.geometry import CellTable

__all__ = ["CELL_FEATURES", "TRACK_FEATURES", "RegionConfig", "SampleArrays", "event_samples"]

CELL_FEATURES = ("log_energy", "eta", "phi", "sampling", "x", "y", "z")
TRACK_FEATURES = ("log_pt", "eta", "phi", "d0", "z0", "calo_eta", "calo_phi")


@dataclass
class RegionConfig:
    """``mode``: "event" (one sample per event) or "region" (eta-phi tiles, radians);
    ``halo``: the context margin around each tile (radians, in eta and phi; 0: none)."""

    mode: str = "event"
    deta: float = 1.0
    dphi: float = 0.7853981633974483
    max_abs_eta: float = 5.0
    halo: float = 0.0


@dataclass
class SampleArrays:
    """Padded arrays of the samples made so far (lists of per-sample rows)."""

    lc: int
    lt: int
    kt: int
    rows: dict[str, list] = field(default_factory=dict)
    truncation: dict[str, int] = field(
        default_factory=lambda: {"cells": 0, "tracks": 0, "neutrals": 0, "samples": 0}
    )

    def add(self, **arrays: np.ndarray) -> None:
        for k, v in arrays.items():
            self.rows.setdefault(k, []).append(v)

    def stack(self) -> dict[str, np.ndarray]:
        return {k: np.stack(v) for k, v in self.rows.items()}


def _tiles(eta: np.ndarray, phi: np.ndarray, cfg: RegionConfig) -> np.ndarray:
    n_phi = max(1, round(2 * np.pi / cfg.dphi))
    ie = np.floor((np.clip(eta, -cfg.max_abs_eta, cfg.max_abs_eta - 1e-9) + cfg.max_abs_eta)
                  / cfg.deta).astype(np.int64)  # fmt: skip
    ip = np.floor((np.asarray(phi) + np.pi) / (2 * np.pi) * n_phi).astype(np.int64) % n_phi
    return ie * n_phi + ip


def _tile_centre(tile: int, cfg: RegionConfig) -> tuple[float, float]:
    n_phi = max(1, round(2 * np.pi / cfg.dphi))
    ie, ip = divmod(tile, n_phi)
    return (-cfg.max_abs_eta + (ie + 0.5) * cfg.deta, -np.pi + (ip + 0.5) * 2 * np.pi / n_phi)


def _pad(x: np.ndarray, n: int, fill=0) -> np.ndarray:
    out = np.full((n, *x.shape[1:]), fill, dtype=x.dtype)
    out[: min(n, len(x))] = x[:n]
    return out


def _in_box(eta: np.ndarray, phi: np.ndarray, centre: tuple[float, float],
            cfg: RegionConfig) -> np.ndarray:  # fmt: skip
    """Which of (eta, phi) lie in the tile of ``centre`` enlarged by the halo."""
    n_phi = max(1, round(2 * np.pi / cfg.dphi))
    dphi = np.abs(np.remainder(np.asarray(phi) - centre[1] + np.pi, 2 * np.pi) - np.pi)
    half_eta = 0.5 * cfg.deta + cfg.halo
    return (np.abs(np.asarray(eta) - centre[0]) <= half_eta) & (dphi <= np.pi / n_phi + cfg.halo)


def _owner_cells(tg: EventTargets, cell_e: np.ndarray, n_tr: int) -> np.ndarray:
    """Per target neutral, the cell of its largest deposit (-1: no deposit)."""
    dep = tg.q[:, n_tr:-1] * np.maximum(cell_e, 0.0)[:, None]  # (cells, K)
    if not dep.size:
        return np.full(dep.shape[1], -1, np.int64)
    return np.where(dep.max(axis=0) > 0, np.argmax(dep, axis=0), -1)


def event_samples(
    view: EventView, tg: EventTargets, table: CellTable, out: SampleArrays, *,
    regions: RegionConfig, links: Mapping[str, int | float],
) -> None:  # fmt: skip
    """Append the sample(s) of one event to ``out``; ``links`` = file_index, entry,
    event_number."""
    c_eta, c_phi = table.eta[view.cell_geo], table.phi[view.cell_geo]
    n_tr, n_ne = len(view.track_pt), len(tg.neutral_e)
    if not len(view.cell_e):
        return  # no clustered cell: no sample
    if regions.mode == "event":
        every = (np.arange(len(view.cell_e)), np.arange(n_tr), np.arange(n_ne))
        _one(view, tg, table, out, 0, every, every, (0.0, 0.0), links)
        return
    cell_tile = _tiles(c_eta, c_phi, regions)
    t_eta, t_phi = view.track_calo_eta, view.track_calo_phi
    track_tile = _tiles(t_eta, t_phi, regions)
    owner = _owner_cells(tg, view.cell_e, n_tr)
    has = owner >= 0
    n_eta = np.where(has, c_eta[np.maximum(owner, 0)], tg.neutral_eta)
    n_phi = np.where(has, c_phi[np.maximum(owner, 0)], tg.neutral_phi)
    neutral_tile = np.where(has, cell_tile[np.maximum(owner, 0)],
                            _tiles(tg.neutral_eta, tg.neutral_phi, regions))  # fmt: skip
    for t in np.unique(cell_tile):
        centre = _tile_centre(int(t), regions)
        core = (np.flatnonzero(cell_tile == t), np.flatnonzero(track_tile == t),
                np.flatnonzero(neutral_tile == t))  # fmt: skip
        if regions.halo > 0:
            halo_n = has & _in_box(n_eta, n_phi, centre, regions)  # with a deposit to see
            members = (np.flatnonzero(_in_box(c_eta, c_phi, centre, regions)),
                       np.flatnonzero(_in_box(t_eta, t_phi, centre, regions)),
                       np.flatnonzero(halo_n | (neutral_tile == t)))  # fmt: skip
        else:
            members = core
        _one(view, tg, table, out, int(t), members, core, centre, links)


def _first(idx: np.ndarray, core: np.ndarray, key: np.ndarray,
           n: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``idx`` ordered core first, then by decreasing ``key``; the first ``n``; and the
    core flag of each kept entry."""
    is_core = np.isin(idx, core)
    order = np.lexsort((-key[idx], ~is_core))
    return idx[order][:n], is_core[order][:n]


def _one(view, tg, table, out: SampleArrays, region, members, core, centre, links):
    """Append one sample: ``members`` (cells, tracks, neutrals) with ``core`` among them."""
    tr = out.truncation
    n_tr = len(view.track_pt)
    (cells, tracks, neutrals), (c_core, t_core, n_core) = (members, core)
    cut = len(cells) > out.lc or len(tracks) > out.lt or len(neutrals) > out.kt
    tr["samples"] += int(cut)
    tr["cells"] += max(0, len(cells) - out.lc)
    tr["tracks"] += max(0, len(tracks) - out.lt)
    tr["neutrals"] += max(0, len(neutrals) - out.kt)
    cells, cell_core = _first(cells, c_core, view.cell_e, out.lc)
    tracks, track_core = _first(tracks, t_core, view.track_pt, out.lt)
    neutrals, neutral_core = _first(neutrals, n_core, tg.neutral_e, out.kt)
    cols = np.concatenate([tracks, n_tr + neutrals])
    q_kept = tg.q[np.ix_(cells, cols)]
    q_c = np.zeros((len(cells), out.lt + out.kt + 1), np.float32)
    q_c[:, : len(tracks)] = q_kept[:, : len(tracks)]
    q_c[:, out.lt : out.lt + len(neutrals)] = q_kept[:, len(tracks) :]
    q_c[:, -1] = np.clip(1.0 - q_kept.sum(axis=1), 0.0, 1.0)  # everything else -> noise
    geo = view.cell_geo[cells]
    e = view.cell_e[cells]
    cell_x = np.stack([np.log(np.maximum(e, 1e-4) / 1e-3), table.eta[geo], table.phi[geo],
                       table.layer[geo], table.x[geo] / 1e3, table.y[geo] / 1e3,
                       table.z[geo] / 1e3], axis=1).astype(np.float32)  # fmt: skip
    pt, eta, phi = view.track_pt[tracks], view.track_eta[tracks], view.track_phi[tracks]
    ceta, cphi = view.track_calo_eta[tracks], view.track_calo_phi[tracks]
    track_x = np.stack([np.log(np.maximum(pt, 1e-3)), eta, phi, view.track_d0[tracks],
                        view.track_z0[tracks] / 100.0, ceta, cphi], axis=1).astype(np.float32)  # fmt: skip
    f32 = np.float32
    out.add(
        cell_x=_pad(cell_x, out.lc), cell_mask=_pad(np.ones(len(cells), bool), out.lc),
        cell_energy=_pad(e.astype(f32), out.lc), cell_eta=_pad(table.eta[geo].astype(f32), out.lc),
        cell_phi=_pad(table.phi[geo].astype(f32), out.lc),
        cell_id=_pad(view.cell_id[cells].astype(np.int64), out.lc),
        cell_core=_pad(cell_core, out.lc),
        track_x=_pad(track_x, out.lt), track_mask=_pad(np.ones(len(tracks), bool), out.lt),
        track_pt=_pad(pt.astype(f32), out.lt), track_eta=_pad(eta.astype(f32), out.lt),
        track_phi=_pad(phi.astype(f32), out.lt), track_core=_pad(track_core, out.lt),
        track_calo_eta=_pad(ceta.astype(f32), out.lt), track_calo_phi=_pad(cphi.astype(f32), out.lt),
        track_index=_pad(tracks.astype(np.int32), out.lt, -1),
        q=_pad(q_c, out.lc),
        charged_class=_pad(tg.charged_class[tracks], out.lt, -1),
        charged_e=_pad(tg.charged_e[tracks].astype(f32), out.lt),
        neutral_mask=_pad(np.ones(len(neutrals), bool), out.kt),
        neutral_core=_pad(neutral_core, out.kt),
        neutral_class=_pad(tg.neutral_class[neutrals], out.kt, -1),
        neutral_e=_pad(tg.neutral_e[neutrals].astype(f32), out.kt),
        neutral_e_vis=_pad(tg.neutral_e_vis[neutrals].astype(f32), out.kt),
        neutral_eta=_pad(tg.neutral_eta[neutrals].astype(f32), out.kt),
        neutral_phi=_pad(tg.neutral_phi[neutrals].astype(f32), out.kt),
        file_index=np.int32(links["file_index"]), entry=np.int64(links["entry"]),
        event_number=np.int64(links["event_number"]), region_index=np.int32(region),
        region_eta=f32(centre[0]), region_phi=f32(centre[1]),
    )  # fmt: skip

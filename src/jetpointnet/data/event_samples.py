"""Event-level samples: one event, or one eta-phi region of it, as padded arrays.

Regions (``mode="region"``) tile the calorimeter in eta bands of ``deta`` and phi sectors
of ``dphi``: a cell belongs to the tile of its centre, a track to the tile of its perigee
direction; every tile holding at least one clustered cell is a sample. Targets are made on
the whole event first (:func:`~jetpointnet.data.event_targets.event_targets`), then
sliced: a region keeps the charged slots of its tracks and the neutral groups whose
largest deposit lies in it; the shares of every other particle go to its noise slot, so
every cell still sums to 1 and each target belongs to exactly one sample.

Size limits (``max_cells`` Lc, ``max_tracks`` Lt, ``max_neutral`` Kt) keep the most
energetic cells, the highest-pT tracks and the most energetic neutrals; what is cut is
counted (``truncation`` in metadata.json) and its shares go to the noise slot.
Arrays and their units: see docs/contracts/event.md.
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
TRACK_FEATURES = ("log_pt", "eta", "phi", "d0", "z0")


@dataclass
class RegionConfig:
    """``mode``: "event" (one sample per event) or "region" (eta-phi tiles, radians)."""

    mode: str = "event"
    deta: float = 1.0
    dphi: float = 0.7853981633974483
    max_abs_eta: float = 5.0


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


def event_samples(
    view: EventView, tg: EventTargets, table: CellTable, out: SampleArrays, *,
    regions: RegionConfig, links: Mapping[str, int | float],
) -> None:  # fmt: skip
    """Append the sample(s) of one event to ``out``; ``links`` = file_index, entry,
    event_number."""
    c_eta, c_phi = table.eta[view.cell_geo], table.phi[view.cell_geo]
    n_tr = len(view.track_pt)
    if regions.mode == "event":
        parts = [(0, np.arange(len(view.cell_e)), np.arange(n_tr),
                  np.arange(len(tg.neutral_e)), (0.0, 0.0))]  # fmt: skip
    else:
        cell_tile = _tiles(c_eta, c_phi, regions)
        track_tile = _tiles(view.track_eta, view.track_phi, regions)
        dep = tg.q[:, n_tr:-1] * np.maximum(view.cell_e, 0.0)[:, None]
        owner = np.full(dep.shape[1], -1, np.int64)
        for j in range(dep.shape[1]):
            owner[j] = (cell_tile[int(np.argmax(dep[:, j]))] if dep[:, j].any() and len(dep)
                        else _tiles(tg.neutral_eta[j:j + 1], tg.neutral_phi[j:j + 1], regions)[0])  # fmt: skip
        parts = [(int(t), np.flatnonzero(cell_tile == t), np.flatnonzero(track_tile == t),
                  np.flatnonzero(owner == t), _tile_centre(int(t), regions))
                 for t in np.unique(cell_tile)]  # fmt: skip
    for region, cells, tracks, neutrals, centre in parts:
        _one(view, tg, table, out, region, cells, tracks, neutrals, centre, links)


def _one(view, tg, table, out: SampleArrays, region, cells, tracks, neutrals, centre, links):
    tr = out.truncation
    n_tr = len(view.track_pt)
    cells = cells[np.argsort(-view.cell_e[cells], kind="stable")]
    tracks = tracks[np.argsort(-view.track_pt[tracks], kind="stable")]
    neutrals = neutrals[np.argsort(-tg.neutral_e[neutrals], kind="stable")]
    cut = len(cells) > out.lc or len(tracks) > out.lt or len(neutrals) > out.kt
    tr["samples"] += int(cut)
    tr["cells"] += max(0, len(cells) - out.lc)
    tr["tracks"] += max(0, len(tracks) - out.lt)
    tr["neutrals"] += max(0, len(neutrals) - out.kt)
    cells, tracks, neutrals = cells[: out.lc], tracks[: out.lt], neutrals[: out.kt]
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
    track_x = np.stack([np.log(np.maximum(pt, 1e-3)), eta, phi, view.track_d0[tracks],
                        view.track_z0[tracks] / 100.0], axis=1).astype(np.float32)  # fmt: skip
    f32 = np.float32
    out.add(
        cell_x=_pad(cell_x, out.lc), cell_mask=_pad(np.ones(len(cells), bool), out.lc),
        cell_energy=_pad(e.astype(f32), out.lc), cell_eta=_pad(table.eta[geo].astype(f32), out.lc),
        cell_phi=_pad(table.phi[geo].astype(f32), out.lc),
        cell_id=_pad(view.cell_id[cells].astype(np.int64), out.lc),
        track_x=_pad(track_x, out.lt), track_mask=_pad(np.ones(len(tracks), bool), out.lt),
        track_pt=_pad(pt.astype(f32), out.lt), track_eta=_pad(eta.astype(f32), out.lt),
        track_phi=_pad(phi.astype(f32), out.lt),
        track_index=_pad(tracks.astype(np.int32), out.lt, -1),
        q=_pad(q_c, out.lc),
        charged_class=_pad(tg.charged_class[tracks], out.lt, -1),
        charged_e=_pad(tg.charged_e[tracks].astype(f32), out.lt),
        neutral_mask=_pad(np.ones(len(neutrals), bool), out.kt),
        neutral_class=_pad(tg.neutral_class[neutrals], out.kt, -1),
        neutral_e=_pad(tg.neutral_e[neutrals].astype(f32), out.kt),
        neutral_e_vis=_pad(tg.neutral_e_vis[neutrals].astype(f32), out.kt),
        neutral_eta=_pad(tg.neutral_eta[neutrals].astype(f32), out.kt),
        neutral_phi=_pad(tg.neutral_phi[neutrals].astype(f32), out.kt),
        file_index=np.int32(links["file_index"]), entry=np.int64(links["entry"]),
        event_number=np.int64(links["event_number"]), region_index=np.int32(region),
        region_eta=f32(centre[0]), region_phi=f32(centre[1]),
    )  # fmt: skip

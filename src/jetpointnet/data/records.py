"""The TRACK and CELL records of stage-1 samples (fields in :mod:`jetpointnet.data.samples`).

:func:`track_record` and :func:`cell_record` turn the flat tracks, truth and cells of a
chunk (:mod:`jetpointnet.data.tracks`, :mod:`jetpointnet.data.cells`) into the awkward
records of the focused track, the other tracks and the cells of each sample. Units: GeV,
mm, radians.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from jetpointnet.data.cells import Cells
from jetpointnet.data.cone import ragged_arange
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.schema import IGNORE, CellClass
from jetpointnet.data.tracks import Tracks, Truth

__all__ = ["cell_record", "deposit_per_truth_row", "track_record"]


def deposit_per_truth_row(cells: Cells) -> np.ndarray:
    """True energy (GeV) each truth particle left in all written cells of its event."""
    row = cells.agg_key % (cells.n_truth_rows + 1) - 1
    valid = row >= 0
    return np.bincount(row[valid], cells.agg_e[valid], minlength=cells.n_truth_rows)


def _truth_local(truth: Truth, event: np.ndarray, row: np.ndarray) -> np.ndarray:
    return np.where(row >= 0, row - truth.offsets[event], -1).astype(np.int32)


def track_record(
    tr: Tracks,
    truth: Truth,
    rows: np.ndarray,
    deposit: np.ndarray,
    dr: np.ndarray,
    known: bool,
) -> ak.Array:
    """TRACK records of ``rows``; ``known``: the input has truth (else deposit NaN)."""
    trow = tr.truth_row[rows]
    linked = trow >= 0
    safe = np.maximum(trow, 0)
    has = len(truth.pdg) > 0
    pdg = np.where(linked, truth.pdg[safe], 0) if has else np.zeros(len(rows))
    energy = np.where(linked, truth.energy[safe], np.nan) if has else np.full(len(rows), np.nan)
    dep = np.where(linked, deposit[safe], 0.0) if has else np.zeros(len(rows))
    if not known:
        dep = np.full(len(rows), np.nan)
    return ak.zip(
        {
            "index": tr.index[rows],
            "p": tr.p[rows],
            "pt": tr.pt[rows],
            "eta": tr.eta[rows],
            "phi": tr.phi[rows],
            "chi2ndof": tr.chi2ndof[rows],
            "truth_index": tr.truth_index[rows],
            "truth_pdg": pdg.astype(np.int32),
            "truth_e": energy.astype(np.float32),
            "truth_deposit": dep.astype(np.float32),
            "ref_layer": tr.ref_layer[rows],
            "ref_eta": tr.ref_eta[rows],
            "ref_phi": tr.ref_phi[rows],
            "dr": np.asarray(dr, np.float32),
            "layer_eta": tr.layer_eta[rows],
            "layer_phi": tr.layer_phi[rows],
            "layer_x": tr.layer_x[rows],
            "layer_y": tr.layer_y[rows],
            "layer_z": tr.layer_z[rows],
        },
        depth_limit=1,
    )


def _dist_to_track(
    tr: Tracks, track_rows: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """3-D distance (mm) from each point to the nearest layer point of its track (inf: none).

    A track reaches ~7 of the 21 layers, so the points are grouped by the set of layers
    their track reaches (runs of the same track, ordered by that set) and each group is
    compared with its own layers only: ~3x less arithmetic than all 21 for every point,
    the same float32 operations per point, so the same values.
    """
    n = len(x)
    if n == 0:
        return np.full(0, np.inf, dtype=np.float32)
    rows = np.asarray(track_rows, dtype=np.int64)
    cut = np.flatnonzero(rows[1:] != rows[:-1]) + 1
    run_start = np.r_[0, cut]
    run_count = np.diff(np.r_[run_start, n])
    run_row = rows[run_start]
    reach = np.isfinite(tr.layer_x[run_row])  # (runs, layers)
    key = reach.astype(np.int64) @ (np.int64(1) << np.arange(reach.shape[1], dtype=np.int64))
    order = np.argsort(key, kind="stable")
    perm = ragged_arange(run_start[order], run_count[order])
    coords = [np.ascontiguousarray(c[perm], dtype=np.float32) for c in (x, y, z)]
    layers = (tr.layer_x, tr.layer_y, tr.layer_z)
    best = np.full(n, np.inf, dtype=np.float32)
    key_sorted = key[order]
    group_first = np.r_[0, np.flatnonzero(key_sorted[1:] != key_sorted[:-1]) + 1]
    pair_first = np.r_[0, np.cumsum(run_count[order])]
    for g0, g1 in zip(group_first, np.r_[group_first[1:], len(order)], strict=True):
        runs = order[g0:g1]
        lo, hi = pair_first[g0], pair_first[g1]
        counts = run_count[runs]
        d2 = np.empty(hi - lo, dtype=np.float32)
        tmp = np.empty(hi - lo, dtype=np.float32)
        # (x - px)^2 + (y - py)^2 + (z - pz)^2 in float32, in place (the same rounding)
        for col in np.flatnonzero(reach[runs[0]]):
            for k in range(3):
                out = d2 if k == 0 else tmp
                point = np.repeat(layers[k][run_row[runs], col].astype(np.float32), counts)
                np.subtract(coords[k][lo:hi], point, out=out)
                np.multiply(out, out, out=out)
                if k:
                    np.add(d2, tmp, out=d2)
            np.fmin(best[lo:hi], d2, out=best[lo:hi])
    dist = np.empty(n, dtype=np.float32)
    dist[perm] = np.sqrt(best)
    return dist


def cell_record(
    cells: Cells,
    table: CellTable,
    truth: Truth,
    tr: Tracks,
    foc: np.ndarray,
    qi: np.ndarray,
    cj: np.ndarray,
    dr: np.ndarray,
) -> ak.Array:
    """CELL records of the (sample ``qi``, cell ``cj``, Delta-R ``dr``) pairs; sample ``i``
    is focused on track ``foc[i]``. Without truth the truth fields hold their "no truth"
    values."""
    g = cells.geo[cj]
    focal_row = tr.truth_row[foc[qi]]
    charge = truth.charge if len(truth.charge) else np.zeros(1, np.float32)
    focal_charged = (focal_row >= 0) & (charge[np.maximum(focal_row, 0)] != 0)
    focal = cells.focal_energy(cj, focal_row)
    total = cells.total[cj]
    lead_row = cells.lead_row[cj]
    lead_charged = (lead_row >= 0) & (charge[np.maximum(lead_row, 0)] != 0)
    cls = np.where(
        (focal > 0) & (focal >= cells.lead_e[cj]),
        CellClass.FOCAL,
        np.where(
            total <= 0,
            CellClass.NOISE,
            np.where(lead_charged, CellClass.OTHER_CHARGED, CellClass.NEUTRAL),
        ),
    ).astype(np.int8)
    neutral = np.where(focal_charged, cells.neutral[cj], cells.neutral[cj] - focal)
    charged_other = np.where(focal_charged, cells.charged[cj] - focal, cells.charged[cj])
    truth_cols = {
        "truth_focal": focal,
        "truth_total": total,
        "truth_neutral": np.maximum(neutral, 0).astype(np.float32),
        "truth_charged_other": np.maximum(charged_other, 0).astype(np.float32),
        "truth_lead_index": _truth_local(truth, cells.event[cj], lead_row),
        "truth_lead_class": cls,
        "n_truth": cells.n_truth[cj],
    }
    if not cells.has_truth:  # the "no truth" values of the module docstring
        for name, col in truth_cols.items():
            fill = np.nan if col.dtype.kind == "f" else IGNORE
            truth_cols[name] = np.full(len(col), fill, dtype=col.dtype)
    x, y, z = table.x[g], table.y[g], table.z[g]
    return ak.zip(
        {
            "id": cells.id[cj],
            "energy": cells.energy[cj],
            "eta": table.eta[g],
            "phi": table.phi[g],
            "x": x,
            "y": y,
            "z": z,
            "layer": table.layer[g],
            "sigma": table.sigma[g],
            "deta": table.deta[g],
            "dphi": table.dphi[g],
            "volume": table.volume[g],
            "cluster": cells.cluster[cj],
            "n_clusters": cells.n_clusters[cj],
            "dr": dr,
            "dist_track": _dist_to_track(tr, foc[qi], x, y, z),
            **truth_cols,
        },
        depth_limit=1,
    )

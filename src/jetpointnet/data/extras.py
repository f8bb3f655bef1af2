"""Optional stage-2 per-point arrays for the image (``cnn``) and graph (``gnn``) models.

Written only when named in ``arrays.extra`` (:data:`jetpointnet.data.config.EXTRA_ARRAYS`),
in the point order of ``X`` (after truncation), in either layout:

- ``d_eta`` (float32): the point's eta minus the focused track's reference eta (EMB2,
  else EME2); ``d_phi`` (float32, radians): the same in phi, wrapped to [-pi, pi).
  Unscaled. Track points use their extrapolated position at their layer.
- ``sampling`` (int8): the CaloSampling number of the cell or of the track point's layer.
- ``neighbours`` (int32, ``(P, 7)``): sample-local point indices (0 = the sample's first
  point), -1 where there is no link. For a cell, columns 0-5 are its CellGeo links
  prevInEta, nextInEta, prevInPhi, nextInPhi, prevInSamp, nextInSamp when that
  neighbour is also a point of the sample (outside the cone or truncated: -1), and
  column 6 the nearest track point (any track, Delta-R in eta-phi) in the same
  sampling. For a track point, columns 0-5 are the 6 nearest cells in the same
  sampling (fewer when there are fewer) and column 6 is -1. Together these are the
  cell-cell and track-to-cell edges of the sample's graph.

``neighbours`` needs the CellGeo link branches (``read_geometry(..., links=True)``),
turned into a :class:`NeighbourTable` once per geometry file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jetpointnet.data.schema import PointType
from jetpointnet.io.mltree_reader import GEOMETRY_LINKS

__all__ = ["N_LINKS", "NeighbourTable", "extra_arrays", "neighbour_links"]

#: Columns of ``neighbours``: the six CellGeo links, then the track link.
N_LINKS = 7
_TRACK_NEIGHBOURS = 6


@dataclass(frozen=True)
class NeighbourTable:
    """CellGeo links by cell ID: ``ids`` sorted, ``links[i]`` rows of ``ids`` (-1 none)."""

    ids: np.ndarray  # (n,) uint64, sorted, unique
    links: np.ndarray  # (n, 6) int64, rows into ids, GEOMETRY_LINKS order

    @classmethod
    def from_geometry(cls, geo: dict[str, np.ndarray]) -> NeighbourTable:
        """From ``read_geometry(..., links=True)``: links are rows of the CellGeo vectors."""
        raw = np.asarray(geo["cell_geo_ID"]).astype(np.uint64, copy=False)
        ids, first = np.unique(raw, return_index=True)
        sorted_row = np.searchsorted(ids, raw)  # CellGeo row -> row of ids
        out = np.full((len(ids), len(GEOMETRY_LINKS)), -1, dtype=np.int64)
        for j, name in enumerate(GEOMETRY_LINKS):
            link = np.asarray(geo[name], dtype=np.int64)[first]
            ok = (link >= 0) & (link < len(raw))
            out[ok, j] = sorted_row[link[ok]]
        return cls(ids=ids, links=out)


def _local_index(sample: np.ndarray) -> np.ndarray:
    counts = np.bincount(sample)
    return np.arange(len(sample)) - np.repeat(np.cumsum(counts) - counts, counts)


def neighbour_links(
    *,
    sample: np.ndarray,
    point_type: np.ndarray,
    cell_id: np.ndarray,
    sampling: np.ndarray,
    d_eta: np.ndarray,
    d_phi: np.ndarray,
    table: NeighbourTable,
) -> np.ndarray:
    """The ``neighbours`` array ``(P, 7)`` int32 of points ordered by ``sample``."""
    n_pts = len(sample)
    out = np.full((n_pts, N_LINKS), -1, dtype=np.int64)
    local = _local_index(sample)
    is_cell = point_type == PointType.CELL
    # cell-cell: (sample, table row) keys, matched by binary search
    cells = np.flatnonzero(is_cell)
    ids = cell_id[cells].astype(np.uint64)
    rows = np.minimum(np.searchsorted(table.ids, ids), len(table.ids) - 1)
    found = table.ids[rows] == ids
    cells, rows = cells[found], rows[found]
    if len(cells):
        m = np.int64(len(table.ids))
        keys = sample[cells].astype(np.int64) * m + rows
        order = np.argsort(keys, kind="stable")
        skeys = keys[order]
        nbr = table.links[rows]  # (c, 6)
        want = sample[cells].astype(np.int64)[:, None] * m + nbr  # (c, 6)
        pos = np.minimum(np.searchsorted(skeys, want), len(skeys) - 1)
        hit = (nbr >= 0) & (skeys[pos] == want)
        target = cells[order][pos]  # (c, 6) global point index
        out[cells, :6] = np.where(hit, local[target], -1)
    # track-to-cell edges, per sample (a handful of track points against the cells)
    bounds = np.searchsorted(sample, np.arange(int(sample.max(initial=-1)) + 2))
    for s in range(len(bounds) - 1):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        tr = np.flatnonzero(~is_cell[lo:hi])
        ce = np.flatnonzero(is_cell[lo:hi])
        if not len(tr) or not len(ce):
            continue
        dphi = d_phi[lo:hi][tr, None] - d_phi[lo:hi][None, ce]
        dphi = (dphi + np.pi) % (2 * np.pi) - np.pi
        dr2 = (d_eta[lo:hi][tr, None] - d_eta[lo:hi][None, ce]) ** 2 + dphi**2  # (t, c)
        same = sampling[lo:hi][tr, None] == sampling[lo:hi][None, ce]
        dr2 = np.where(same, dr2, np.inf)
        k = min(_TRACK_NEIGHBOURS, len(ce))
        near = np.argsort(dr2, axis=1, kind="stable")[:, :k]  # (t, k)
        ok = np.isfinite(np.take_along_axis(dr2, near, axis=1))
        out[lo + tr, :k] = np.where(ok, ce[near], -1)
        best = np.argmin(dr2, axis=0)  # (c,)
        ok = np.isfinite(dr2[best, np.arange(len(ce))])
        out[lo + ce, 6] = np.where(ok, tr[best], -1)
    return out.astype(np.int32)


def extra_arrays(
    names: Sequence[str],
    *,
    sample: np.ndarray,
    point_type: np.ndarray,
    cell_id: np.ndarray,
    layer: np.ndarray,
    d_eta: np.ndarray,
    d_phi: np.ndarray,
    table: NeighbourTable | None = None,
) -> dict[str, np.ndarray]:
    """The optional arrays ``names`` (ragged, per point) of one chunk's kept points.

    ``d_eta``, ``d_phi`` (radians) relative to the focused track's reference point;
    ``layer`` the CaloSampling number; ``table`` is needed for ``neighbours``.
    """
    out: dict[str, np.ndarray] = {}
    sampling = np.asarray(layer).astype(np.int8)
    for name in names:
        if name == "d_eta":
            out[name] = np.asarray(d_eta, dtype=np.float32)
        elif name == "d_phi":
            out[name] = np.asarray(d_phi, dtype=np.float32)
        elif name == "sampling":
            out[name] = sampling
        elif name == "neighbours":
            if table is None:
                raise ValueError("the 'neighbours' array needs a NeighbourTable")
            out[name] = neighbour_links(
                sample=sample,
                point_type=point_type,
                cell_id=cell_id,
                sampling=sampling,
                d_eta=np.asarray(d_eta, dtype=np.float64),
                d_phi=np.asarray(d_phi, dtype=np.float64),
                table=table,
            )
        else:
            raise ValueError(f"unknown extra array {name!r}")
    return out

"""Stage 2: point clouds and per-point labels from stage-1 samples.

The arrays follow :mod:`jetpointnet.data.schema` exactly (names, dtypes, meaning). Each
sample becomes the points of the focused track (one per layer it reaches), those of the
other tracks in its cone, then its cells. Samples longer than ``L`` keep the ``L``
points nearest to the focused track (3-D distance; the focused track's own points are at
distance 0 and always kept). Units: GeV, mm (before scaling).
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np

from jetpointnet.data.cone import delta_phi
from jetpointnet.data.config import ArraysConfig, Scaling
from jetpointnet.data.extras import NeighbourTable, extra_arrays
from jetpointnet.data.schema import IGNORE, PER_SAMPLE, CellClass, PointType
from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

__all__ = [
    "STAGE2_COLUMNS",
    "build_arrays",
    "iter_samples",
    "scale_feature",
]

_LAYERS = ("layer_eta", "layer_phi", "layer_x", "layer_y", "layer_z")
#: The stage-1 fields :func:`build_arrays` reads (stage 2 loads only these).
STAGE2_COLUMNS = (
    "n_cells", "event_number", "entry", "track_index", "file_index",
    *(f"track.{f}" for f in ("p", "pt", "eta", "phi", "chi2ndof", "ref_eta", "ref_phi", *_LAYERS)),
    "track.truth_deposit",  # NaN: the sample has no truth (labels masked)
    *(f"others.{f}" for f in ("p", "pt", "chi2ndof", "dr", *_LAYERS)),
    *(f"cells.{f}" for f in ("id", "x", "y", "z", "eta", "phi", "layer", "energy", "sigma",
                             "dist_track", "truth_focal", "truth_total", "truth_lead_class")),
)  # fmt: skip
_LAYER_SAMPLING = np.array([SAMPLING[name] for name in TRACK_LAYERS], dtype=np.float32)


def scale_feature(values: np.ndarray, scaling: Scaling | None) -> np.ndarray:
    """``(transform(v) - shift) * scale`` as float32 (``log`` clips at 1e-6)."""
    v = np.asarray(values, dtype=np.float64)
    if scaling is None:
        return v.astype(np.float32)
    if scaling.transform == "log":
        v = np.log(np.maximum(v, 1e-6))
    elif scaling.transform == "asinh":
        v = np.arcsinh(v)
    return ((v - scaling.shift) * scaling.scale).astype(np.float32)


#: rows of X filled at a time: a block (~1.4 MB at 11 features) stays in cache while each
#: feature column is written into it, 6x faster than whole strided columns
_BLOCK_ROWS = 1 << 15


def _feature_matrix(columns: list[tuple[np.ndarray, Scaling | None]], n: int) -> np.ndarray:
    """X, (n, features) float32: each column scaled (:func:`scale_feature`), NaN and
    +-inf set to 0 (e.g. no sigma in CellGeo). Filled in blocks of rows."""
    X = np.empty((n, len(columns)), dtype=np.float32)
    for lo in range(0, n, _BLOCK_ROWS):
        block = X[lo : lo + _BLOCK_ROWS]
        for j, (raw, scaling) in enumerate(columns):
            block[:, j] = scale_feature(raw[lo : lo + _BLOCK_ROWS], scaling)
        block[~np.isfinite(block)] = 0.0
    return X


def _np(a: ak.Array, dtype: type) -> np.ndarray:
    return np.asarray(ak.to_numpy(a), dtype=dtype)


def _layer_block(tracks: ak.Array) -> dict[str, np.ndarray]:
    """(rows, 21) layer arrays of a flat array of TRACK records."""
    n = len(tracks)
    out = {}
    for name in ("layer_eta", "layer_phi", "layer_x", "layer_y", "layer_z"):
        flat = _np(ak.flatten(tracks[name], axis=None), np.float32)
        out[name] = flat.reshape(n, len(TRACK_LAYERS))
    return out


def _track_points(
    tracks: ak.Array,
    owner: np.ndarray,
    kind: PointType,
    lay: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Points of a flat array of tracks (one per reached layer) with their owner sample.

    ``lay``: the tracks' :func:`_layer_block`, when the caller has it already."""
    lay = _layer_block(tracks) if lay is None else lay
    row, col = np.nonzero(np.isfinite(lay["layer_x"]))
    p = _np(tracks.p, np.float32)[row]
    zero = np.zeros(len(row), np.float32)
    focused = kind == PointType.FOCUSED_TRACK
    return {
        "sample": owner[row],
        "type": np.full(len(row), int(kind), np.int8),
        "x": lay["layer_x"][row, col],
        "y": lay["layer_y"][row, col],
        "z": lay["layer_z"][row, col],
        "eta": lay["layer_eta"][row, col],
        "phi": lay["layer_phi"][row, col],
        "layer": _LAYER_SAMPLING[col],
        "energy": p,
        "sigma": zero,
        "track_pt": _np(tracks.pt, np.float32)[row],
        "track_p": p,
        "chi2ndof": np.nan_to_num(_np(tracks.chi2ndof, np.float32)[row], nan=0.0),
        "dist_track": zero,  # other tracks: filled in by the caller
        "truth_focal": p if focused else zero,  # used only with add_tracks_as_labels
        "truth_total": p,
        "cls": np.full(
            len(row), int(CellClass.FOCAL if focused else CellClass.OTHER_CHARGED), np.int8
        ),
        "cell_id": np.zeros(len(row), np.uint64),  # not a cell
    }


def _cell_points(cells: ak.Array, owner: np.ndarray) -> dict[str, np.ndarray]:
    zero = np.zeros(len(owner), np.float32)
    out = {"sample": owner, "type": np.full(len(owner), int(PointType.CELL), np.int8)}
    for name in (
        "x",
        "y",
        "z",
        "eta",
        "phi",
        "layer",
        "energy",
        "sigma",
        "dist_track",
        "truth_focal",
        "truth_total",
    ):
        out[name] = _np(cells[name], np.float32)
    out.update(track_pt=zero, track_p=zero, chi2ndof=zero)
    out["cls"] = _np(cells.truth_lead_class, np.int8)
    out["cell_id"] = _np(cells.id, np.uint64)
    return out


def _min_dist(
    fx: np.ndarray,
    fy: np.ndarray,
    fz: np.ndarray,
    sample: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
) -> np.ndarray:
    """Distance (mm) from points to the nearest layer point of their sample's focused track."""
    best = np.full(len(x), np.inf, dtype=np.float32)
    for col in range(fx.shape[1]):
        d2 = (x - fx[sample, col]) ** 2 + (y - fy[sample, col]) ** 2 + (z - fz[sample, col]) ** 2
        np.fmin(best, np.where(np.isfinite(d2), d2, np.inf).astype(np.float32), out=best)
    return np.sqrt(best)


def _points(
    samples: ak.Array, length: int, *, truncate: bool, stats: dict[str, int]
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """The points of all samples, ordered by sample, then focused / others / cells, each
    sample cut to its ``length`` points nearest to the focused track (:func:`_kept`).
    Returns the points, the number of other tracks per sample and the L used.

    The three groups are concatenated and each column gathered once through one
    permutation (with the cut applied to it): ~3x faster than scattering the groups into
    place and compressing afterwards.
    """
    n = len(samples)
    lay = _layer_block(samples.track)
    foc = _track_points(samples.track, np.arange(n), PointType.FOCUSED_TRACK, lay)
    n_oth = _np(ak.num(samples.others), np.int64)
    oth = _track_points(
        ak.flatten(samples.others), np.repeat(np.arange(n), n_oth), PointType.OTHER_TRACK
    )
    oth["dist_track"] = _min_dist(
        lay["layer_x"], lay["layer_y"], lay["layer_z"], oth["sample"], oth["x"], oth["y"], oth["z"]
    )
    n_cell = _np(ak.num(samples.cells), np.int64)
    cell = _cell_points(ak.flatten(samples.cells), np.repeat(np.arange(n), n_cell))
    groups = (foc, oth, cell)
    order = _group_order([g["sample"] for g in groups], n)
    sample = np.concatenate([g["sample"] for g in groups])[order]
    dist = np.concatenate([g["dist_track"] for g in groups])[order]
    kept, length = _kept(sample, dist, n, length, truncate=truncate, stats=stats)
    if kept is not None:
        order = order[kept]
    pts = {k: np.concatenate([g[k] for g in groups])[order] for k in foc}
    return pts, n_oth, length


def _group_order(samples: list[np.ndarray], n: int) -> np.ndarray:
    """The permutation that orders the concatenated groups by sample, group after group
    within a sample; each group's ``sample`` is already sorted, so no sort is needed."""
    counts = np.stack([np.bincount(s, minlength=n) for s in samples])  # (groups, n)
    offsets = np.cumsum(counts.sum(axis=0)) - counts.sum(axis=0)
    base = offsets + np.cumsum(counts, axis=0) - counts  # (groups, n): where each group starts
    dest = np.concatenate(
        [
            base[i][s] + np.arange(len(s)) - np.repeat(np.cumsum(counts[i]) - counts[i], counts[i])
            for i, s in enumerate(samples)
        ]
    )
    order = np.empty(len(dest), dtype=np.int64)
    order[dest] = np.arange(len(dest))
    return order


def _kept(
    sample: np.ndarray,
    dist: np.ndarray,
    n: int,
    length: int,
    *,
    truncate: bool,
    stats: dict[str, int],
) -> tuple[np.ndarray | None, int]:
    """Which points to keep: the ``length`` of each of the ``n`` samples nearest to the
    focused track (``dist``; ties: the earlier point). ``truncate`` false: no cap, L grows
    to the longest sample. Counts what is dropped in ``stats``. Returns the mask (None:
    every point is kept) and the L used."""
    counts = np.bincount(sample, minlength=n)
    if not truncate:  # no point cap, also on files longer than the training data's L
        length = max(length, int(counts.max(initial=0)))
    long = np.flatnonzero(counts > length)
    stats["samples_truncated"] = len(long)
    stats["points_dropped"] = int((counts[long] - length).sum())
    if not len(long):
        return None, length
    # only the samples over L are sorted by distance
    kept = np.ones(len(sample), bool)
    idx = np.flatnonzero((counts > length)[sample])
    near = idx[np.lexsort((idx, dist[idx], sample[idx]))]
    rank = np.arange(len(near)) - np.repeat(np.cumsum(counts[long]) - counts[long], counts[long])
    kept[near[rank >= length]] = False
    return kept, length


def build_arrays(
    samples: ak.Array,
    *,
    config: ArraysConfig,
    length: int,
    neighbours: NeighbourTable | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Stage-2 arrays of one chunk (``config.layout``) and truncation statistics.

    ``length`` is L, the most points a sample keeps (with ``config.truncate`` false no
    point is dropped: L grows to the longest sample of the chunk). Samples with fewer than
    ``config.min_cells`` cells are left out and counted (``too_few_cells``).
    The optional arrays of ``config.extra`` are added (:mod:`jetpointnet.data.extras`;
    ``neighbours``, the CellGeo link table, is needed for the ``neighbours`` array).
    """
    keep = _np(samples.n_cells, np.int64) >= config.min_cells
    stats = {"too_few_cells": int((~keep).sum())}
    samples = samples[keep]
    n = len(samples)
    pts, n_oth, length = _points(samples, length, truncate=config.truncate, stats=stats)
    sample = pts["sample"]

    ref_eta = _np(samples.track.ref_eta, np.float64)[sample]
    ref_phi = _np(samples.track.ref_phi, np.float64)[sample]
    eta = pts["eta"].astype(np.float64)
    dphi = delta_phi(pts["phi"], ref_phi)
    derived = {"deta": eta - ref_eta, "dphi": dphi, "dr": np.hypot(eta - ref_eta, dphi)}
    X = _feature_matrix(
        [(derived[f] if f in derived else pts[f], config.scaling.get(f)) for f in config.features],
        len(sample),
    )

    ptype = pts["type"]
    is_cell = ptype == PointType.CELL
    # samples without truth (stage-1 truth_deposit NaN) carry no label at all
    known = np.isfinite(_np(samples.track.truth_deposit, np.float64))
    labelled = np.ones(len(sample), bool) if config.add_tracks_as_labels else is_cell
    label_mask = labelled & known[sample]
    y_energy, y_total = pts["truth_focal"], pts["truth_total"]
    with np.errstate(divide="ignore", invalid="ignore"):
        y_fraction = np.where(y_total > 0, np.clip(y_energy / y_total, 0.0, 1.0), 0.0)
    y_class = pts["cls"]
    per_point = {
        "X": X,
        "point_type": ptype,
        "energy": pts["energy"],
        "label_mask": label_mask,
        "y_energy": np.where(label_mask, y_energy, IGNORE).astype(np.float32),
        "y_fraction": np.where(label_mask, y_fraction, IGNORE).astype(np.float32),
        "y_binary": np.where(label_mask, y_class == CellClass.FOCAL, IGNORE).astype(np.int8),
        "y_class": np.where(label_mask, y_class, IGNORE).astype(np.int8),
        "y_total": np.where(label_mask, y_total, IGNORE).astype(np.float32),
        "cell_id": pts["cell_id"],
    }
    per_point.update(
        extra_arrays(
            config.extra,
            sample=sample,
            point_type=ptype,
            cell_id=pts["cell_id"],
            layer=pts["layer"],
            d_eta=derived["deta"],
            d_phi=derived["dphi"],
            table=neighbours,
        )
    )
    focal = np.where(is_cell & known[sample], y_energy, 0.0)
    per_sample = _per_sample(samples, sample, focal, known, n_oth)
    if config.layout == "ragged":
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(per_sample["n_points"], out=offsets[1:])
        return {**per_point, "offsets": offsets, **per_sample}, stats
    return {**_pad(per_point, sample, n, length), **per_sample}, stats


def _per_sample(
    samples: ak.Array,
    sample: np.ndarray,
    focal: np.ndarray,
    known: np.ndarray,
    n_oth: np.ndarray,
) -> dict[str, np.ndarray]:
    """The per-sample arrays: ids, the focused track, its true focal total (``focal``: the
    focal energy per kept cell point, 0 elsewhere; NaN without truth), the other tracks."""
    n = len(samples)
    track = samples.track
    focal_total = np.bincount(sample, focal, minlength=n)
    focal_total = np.where(known, focal_total, np.nan)
    min_dr = ak.fill_none(ak.min(samples.others.dr, axis=1), np.inf)
    return {
        "n_points": np.bincount(sample, minlength=n).astype(np.int32),
        "event_number": _np(samples.event_number, np.int64),
        "entry": _np(samples.entry, np.int64),
        "track_index": _np(samples.track_index, np.int32),
        "file_index": _np(samples.file_index, np.int32),
        "track_p": _np(track.p, np.float32),
        "track_pt": _np(track.pt, np.float32),
        "track_eta": _np(track.eta, np.float32),
        "track_phi": _np(track.phi, np.float32),
        "truth_focal_total": focal_total.astype(np.float32),
        "n_other_tracks": n_oth.astype(np.int32),
        "min_dr_other": _np(min_dr, np.float32),
    }


def _pad(
    per_point: dict[str, np.ndarray], sample: np.ndarray, n: int, length: int
) -> dict[str, np.ndarray]:
    counts = np.bincount(sample, minlength=n)
    pos = np.arange(len(sample)) - np.repeat(np.cumsum(counts) - counts, counts)
    out: dict[str, np.ndarray] = {}
    for name, arr in per_point.items():
        fill = 0 if name in ("X", "energy", "cell_id") else IGNORE
        if name == "label_mask":
            fill = False
        elif name == "point_type":
            fill = PointType.PADDING
        padded = np.full((n, length, *arr.shape[1:]), fill, dtype=arr.dtype)
        padded[sample, pos] = arr
        out[name] = padded
    mask = np.zeros((n, length), bool)
    mask[sample, pos] = True
    out["mask"] = mask
    return out


def iter_samples(chunk: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
    """One dict per sample of a loaded chunk (either layout): its points and ids.

    Per-point arrays are cut to the sample's real points; per-sample values are scalars.
    """
    n = len(chunk["n_points"])
    ragged = "offsets" in chunk
    point_names = [k for k in chunk if k not in ("offsets", "mask") and k not in PER_SAMPLE]
    for i in range(n):
        if ragged:
            sl = slice(int(chunk["offsets"][i]), int(chunk["offsets"][i + 1]))
            pts = {k: chunk[k][sl] for k in point_names}
        else:
            m = chunk["mask"][i]
            pts = {k: chunk[k][i][m] for k in point_names}
        yield {**pts, **{k: chunk[k][i] for k in PER_SAMPLE if k in chunk}}

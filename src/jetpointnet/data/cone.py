"""Vectorised cone search: all (query, point) pairs within Delta-R of each other.

Points are sorted once by (event, eta band, phi); each query then reads at most nine
contiguous runs (three eta bands, up to three phi ranges for the wrap at +-pi) with
``np.searchsorted``, so the work is proportional to the pairs found, not to
queries x points. No Python loop over tracks or cells.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cone_pairs", "delta_phi", "pair_order", "ragged_arange"]

_TWO_PI = 2.0 * np.pi


def delta_phi(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """a - b wrapped into [-pi, pi) (radians, float64)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return (d + np.pi) % _TWO_PI - np.pi


def ragged_arange(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for every (s, c), as int64, without a loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + shift


def pair_order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """``np.lexsort((minor, major))`` for non-negative integers, by 16-bit radix passes.

    The same permutation (both sorts are stable), in a few linear passes of numpy's radix
    sort instead of two comparison sorts.
    """
    passes = []
    for key in (np.asarray(minor, np.int64), np.asarray(major, np.int64)):
        digits = max(1, (int(key.max(initial=0)).bit_length() + 15) // 16)
        passes += [((key >> (16 * d)) & 0xFFFF).astype(np.uint16) for d in range(digits)]
    order = np.argsort(passes[0], kind="stable")
    for digit in passes[1:]:
        order = order[np.argsort(digit[order], kind="stable")]
    return order


def _rank_in_event(
    q_event: np.ndarray, p_event: np.ndarray, qi: np.ndarray, pj: np.ndarray
) -> np.ndarray:
    """A key that orders the points ``pj`` of query ``qi``'s event like ``pj``, with small
    values: the position within the event when the points are grouped by event, else ``pj``."""
    if len(p_event) < 2 or not (p_event[1:] >= p_event[:-1]).all():
        return pj
    first = np.searchsorted(p_event, q_event, side="left")
    return pj - first[qi]


def cone_pairs(
    q_event: np.ndarray,
    q_eta: np.ndarray,
    q_phi: np.ndarray,
    q_radius: np.ndarray,
    p_event: np.ndarray,
    p_eta: np.ndarray,
    p_phi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (query i, point j) of the same event with Delta-R(i, j) < radius of i.

    Events are small non-negative integers (chunk-local); radii are in (0, pi). Returns
    ``qi``, ``pj`` (int64) and ``dr`` (float32), sorted by ``qi`` then ``pj``.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    nq, npt = len(q_eta), len(p_eta)
    if nq == 0 or npt == 0:
        return empty
    q_radius = np.asarray(q_radius, dtype=np.float64)
    width = max(float(q_radius.max()), 1e-3)
    p_eta64 = np.asarray(p_eta, dtype=np.float64)
    q_eta64 = np.asarray(q_eta, dtype=np.float64)
    p_phi0 = delta_phi(p_phi, 0.0) + np.pi  # in [0, 2 pi)
    q_phi0 = delta_phi(q_phi, 0.0) + np.pi
    p_bin = np.floor(p_eta64 / width).astype(np.int64)
    q_bin = np.floor(q_eta64 / width).astype(np.int64)
    low = min(int(p_bin.min()), int(q_bin.min())) - 1
    nb = max(int(p_bin.max()), int(q_bin.max())) - low + 2
    p_base = (np.asarray(p_event, np.int64) * nb + (p_bin - low)).astype(np.float64) * 8.0
    keys = p_base + p_phi0
    order = np.argsort(keys, kind="stable")
    keys = keys[order]

    starts, counts, owners = [], [], []
    qidx = np.arange(nq, dtype=np.int64)
    lo = q_phi0 - q_radius
    hi = q_phi0 + q_radius
    ranges = (
        (np.maximum(lo, 0.0), np.minimum(hi, _TWO_PI), np.ones(nq, bool)),
        (lo + _TWO_PI, np.full(nq, _TWO_PI), lo < 0.0),
        (np.zeros(nq), hi - _TWO_PI, hi > _TWO_PI),
    )
    for db in (-1, 0, 1):
        base = (np.asarray(q_event, np.int64) * nb + (q_bin + db - low)).astype(np.float64) * 8.0
        for a, b, use in ranges:
            s = np.searchsorted(keys, base + a, side="left")
            e = np.searchsorted(keys, base + b, side="right")
            c = np.where(use, np.maximum(e - s, 0), 0)
            starts.append(s)
            counts.append(c)
            owners.append(qidx)
    starts_a = np.concatenate(starts)
    counts_a = np.concatenate(counts)
    qi = np.repeat(np.concatenate(owners), counts_a)
    pj = order[ragged_arange(starts_a, counts_a)]
    deta = q_eta64[qi] - p_eta64[pj]
    dphi = delta_phi(q_phi0[qi], p_phi0[pj])
    dr = np.sqrt(deta * deta + dphi * dphi)
    keep = dr < q_radius[qi]
    qi, pj, dr = qi[keep], pj[keep], dr[keep]
    # the nine runs of a query are disjoint, so no pair appears twice
    srt = pair_order(
        qi, _rank_in_event(np.asarray(q_event, np.int64), np.asarray(p_event, np.int64), qi, pj)
    )
    return qi[srt], pj[srt], dr[srt].astype(np.float32)

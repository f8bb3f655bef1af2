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
    """a - b wrapped into [-pi, pi) (radians, float64).

    Bit for bit ``(a - b + pi) % (2 pi) - pi``, with the modulo (~10 ns an element) replaced
    by one conditional shift where the difference is within one turn of the range (the
    shift is then exact, or rounds as the modulo does); the rare rest takes the modulo.
    """
    x = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if x.ndim == 0:
        return (x + np.pi) % _TWO_PI - np.pi
    x += np.pi
    if x.size == 0:
        return x - np.pi
    low, high = x.min(), x.max()  # NaN where any is NaN: every branch below is then taken
    if not (low >= -_TWO_PI and high < 2.0 * _TWO_PI):
        far = (x < -_TWO_PI) | (x >= 2.0 * _TWO_PI)
        x[far] %= _TWO_PI
    if not high < _TWO_PI:
        np.subtract(x, _TWO_PI, out=x, where=x >= _TWO_PI)
    if not low >= 0.0:
        np.add(x, _TWO_PI, out=x, where=x < 0.0)
    x -= np.pi
    return x


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
    """``np.lexsort((minor, major))`` for non-negative integers.

    The same permutation (both sorts are stable): one sort of the pairs and their positions
    packed into 64-bit keys where they fit (numpy's vectorised sort), else 16-bit radix
    passes; either is a few times faster than two comparison sorts.
    """
    major, minor = np.asarray(major, np.int64), np.asarray(minor, np.int64)
    n = len(major)
    if n == 0:
        return np.zeros(0, np.int64)
    ib = max(1, (n - 1).bit_length())
    mb = max(1, int(minor.max()).bit_length())
    if int(major.max()).bit_length() + mb + ib > 64:
        return _radix_order(major, minor)
    packed = major.astype(np.uint64) << np.uint64(mb + ib)
    packed |= minor.astype(np.uint64) << np.uint64(ib)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    return (packed & np.uint64((1 << ib) - 1)).astype(np.int64)


def _radix_order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """:func:`pair_order` by 16-bit radix passes (keys too wide to pack)."""
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
    order = np.argsort(keys)  # ties in any order: the pairs are sorted at the end
    keys = keys[order]

    # the nine runs of each query: eta bands -1, 0, +1 x (its phi range clipped to [0, 2 pi),
    # the part below 0 wrapped to the top, the part above 2 pi wrapped to the bottom)
    lo = q_phi0 - q_radius
    hi = q_phi0 + q_radius
    run_lo = np.stack([np.maximum(lo, 0.0), lo + _TWO_PI, np.zeros(nq)])
    run_hi = np.stack([np.minimum(hi, _TWO_PI), np.full(nq, _TWO_PI), hi - _TWO_PI])
    use = np.stack([np.ones(nq, bool), lo < 0.0, hi > _TWO_PI])
    q_base = np.asarray(q_event, np.int64) * nb + (q_bin - low)
    band = (q_base + np.array([[-1], [0], [1]])).astype(np.float64) * 8.0  # (3, nq)
    s = np.searchsorted(keys, (band[:, None] + run_lo).ravel(), side="left")
    e = np.searchsorted(keys, (band[:, None] + run_hi).ravel(), side="right")
    counts = np.where(np.broadcast_to(use, (3, 3, nq)).ravel(), np.maximum(e - s, 0), 0)
    # query-major: the candidates of query 0, then those of query 1, ...
    starts_a = s.reshape(9, nq).T.ravel()
    counts_a = counts.reshape(9, nq).T.ravel()
    qi = np.repeat(np.arange(nq, dtype=np.int64), counts_a.reshape(nq, 9).sum(axis=1))
    run = ragged_arange(starts_a, counts_a)  # contiguous runs of the sorted points
    deta = q_eta64[qi] - p_eta64[order][run]
    dphi = delta_phi(q_phi0[qi], p_phi0[order][run])
    dr = np.sqrt(deta * deta + dphi * dphi)
    keep = dr < q_radius[qi]
    qi, pj, dr = qi[keep], order[run[keep]], dr[keep]
    # the nine runs of a query are disjoint, so no pair appears twice
    srt = pair_order(
        qi, _rank_in_event(np.asarray(q_event, np.int64), np.asarray(p_event, np.int64), qi, pj)
    )
    return qi[srt], pj[srt], dr[srt].astype(np.float32)

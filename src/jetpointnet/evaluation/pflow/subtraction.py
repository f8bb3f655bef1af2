"""Cell-by-cell subtraction in rings (PFLOW.md step 7, eflowRec's ring subtraction).

Rings are centred on the track's extrapolation in each layer group, of the group's width
(:data:`.layers.RING_WIDTH`), out to ``ring_rmax``. Every ring of every group is ranked
together by the mean of the expected radial density profile over the ring,
``(1 / (b - a)) * integral_a^b f(r) dr`` (eflowRec's ``ringMeanRank``), and rings are
processed in decreasing rank: a ring holding less than what is still to subtract goes
whole, otherwise its cells are scaled down by the needed fraction and subtraction stops.
Rings ranked below ``1 / weight_range`` of the best first ring are not ranked (eflowRec's
range cut). If the ranked rings run out, the remaining cells go one by one by increasing
Delta-R. Only positive cell energy is ever taken.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jetpointnet.evaluation.pflow.layers import GROUPS, RING_WIDTH

__all__ = ["ProfileFn", "ring_ranks", "subtract_rings"]

#: Expected density of a layer group at Delta-R r for an LHED category: f(category, group, r).
ProfileFn = Callable[[str, str, np.ndarray], np.ndarray]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


def ring_ranks(category: str, group: int, n_rings: int, profile: ProfileFn) -> np.ndarray:
    """Mean of ``profile(category, GROUPS[group], r)`` over each of the first ``n_rings``
    rings of that group (8-point Gauss-Legendre per ring)."""
    w = RING_WIDTH[GROUPS[group]]
    lo = np.arange(n_rings) * w
    r = lo[:, None] + 0.5 * w * (_NODES[None, :] + 1.0)  # (n_rings, 8)
    f = np.asarray(profile(category, GROUPS[group], r.ravel()), dtype=np.float64)
    return 0.5 * (f.reshape(r.shape) * _WEIGHTS[None, :]).sum(axis=1)


def subtract_rings(
    energy: np.ndarray,
    r: np.ndarray,
    group: np.ndarray,
    need: float,
    *,
    category: str,
    profile: ProfileFn,
    ring_rmax: float = 0.75,
    weight_range: float = 1.0e6,
) -> np.ndarray:
    """Energy (GeV) to take from each cell to remove ``need`` GeV (module docstring).

    ``energy`` are the cells' remaining energies (negative ones are never taken), ``r``
    their Delta-R to the track in their own layer and ``group`` their index into GROUPS.
    """
    e = np.maximum(np.asarray(energy, dtype=np.float64), 0.0)
    take = np.zeros_like(e)
    if need <= 0 or e.size == 0:
        return take
    group = np.asarray(group, dtype=np.int64)
    width = np.array([RING_WIDTH[g] for g in GROUPS])
    n_rings = (ring_rmax / width).astype(np.int64)
    ring = np.floor(np.asarray(r) / width[group]).astype(np.int64)
    inside = ring < n_rings[group]
    ranks = {int(g): ring_ranks(category, int(g), int(n_rings[g]), profile) for g in set(group)}
    top = max((float(v[0]) for v in ranks.values() if v.size), default=0.0)
    floor = top / weight_range
    keys, rank = [], []
    pairs = zip(group[inside], ring[inside], strict=True)
    for g, n in sorted({(int(g), int(n)) for g, n in pairs}):
        w = float(ranks[g][n])
        if w > 0 and w >= floor:
            keys.append((g, n))
            rank.append(w)
    for i in np.argsort(-np.asarray(rank), kind="mergesort"):
        g, n = keys[i]
        sel = np.flatnonzero((group == g) & (ring == n))
        ring_e = e[sel].sum()
        if ring_e <= 0:
            continue
        if ring_e < need:
            take[sel] = e[sel]
            need -= ring_e
        else:
            take[sel] = e[sel] * (need / ring_e)
            return take
    # ranked rings ran out: cells one by one by increasing Delta-R
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

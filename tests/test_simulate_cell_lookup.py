"""The table lookup of cells (simulate/cell_lookup.py) against a loop over the region grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jetpointnet.simulate.cell_lookup import CellLocator
from jetpointnet.simulate.geometry import build_geometry


def _per_grid(grids, layer, eta, phi):
    """The definition: each grid claims the points of its layer, side and eta range."""
    out = np.full(eta.shape, -1, dtype=np.int64)
    aeta, side = np.abs(eta), np.where(eta >= 0.0, 1, -1)
    phin = np.mod(phi + math.pi, 2.0 * math.pi)
    for g in grids:
        sel = (layer == g.layer) & (side == g.side) & (aeta >= g.eta_lo) & (aeta < g.eta_hi)
        ieta = np.minimum(((aeta[sel] - g.eta_lo) / g.deta).astype(np.int64), g.neta - 1)
        iphi = np.minimum((phin[sel] / (2.0 * math.pi / g.nphi)).astype(np.int64), g.nphi - 1)
        out[sel] = g.offset + ieta * g.nphi + iphi
    return out


def test_lookup_matches_the_per_grid_definition():
    geo = build_geometry()
    rng = np.random.default_rng(4)
    n = 200_000
    n_layers = max(g.layer for g in geo.grids) + 1
    layer = rng.integers(-1, n_layers + 1, size=n)  # some outside every layer
    eta = rng.uniform(-3.6, 3.6, size=n)
    phi = rng.uniform(-math.pi, math.pi, size=n)
    # points exactly on region edges (both sides of each boundary) and cell centres
    edges = np.array([g.eta_lo for g in geo.grids] + [g.eta_hi for g in geo.grids])
    k = rng.integers(0, edges.size, size=n // 4)
    eta[: k.size] = edges[k] * rng.choice((-1.0, 1.0), size=k.size)
    eta[k.size : 2 * k.size] = geo.eta[rng.integers(0, geo.n_cells, size=k.size)]
    got = geo.lookup(layer, eta, phi)
    np.testing.assert_array_equal(got, _per_grid(geo.grids, layer, eta, phi))
    assert (got >= 0).mean() > 0.2  # the test exercises hits, not only misses
    centres = geo.lookup(geo.layer, geo.eta, geo.phi)
    np.testing.assert_array_equal(centres, np.arange(geo.n_cells))


def test_overlapping_regions_are_refused():
    g = build_geometry().grids[0]
    shifted = type(g)(**{**g.__dict__, "eta_lo": g.eta_lo + 0.5 * (g.eta_hi - g.eta_lo)})
    with pytest.raises(ValueError, match="overlap"):
        CellLocator([g, shifted])

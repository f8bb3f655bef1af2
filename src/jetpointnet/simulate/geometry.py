"""The ATLAS-like calorimeter geometry: cells, identifiers, lookup and neighbours.

Every layer of :data:`params.LAYERS` is a set of regular eta x phi grids (regions) on both
sides of eta = 0. Cells are projective: a cell's centre is at the layer's mid radius
(barrel) or mid |z| (end-cap) along the direction (eta, phi) of its centre, so
``x = rPerp cos(phi)``, ``y = rPerp sin(phi)``, ``z = rPerp sinh(eta)`` as in MLTree.

Cell identifiers are 31-bit numbers, like ATLAS's 32-bit compact identifiers that MLTree
writes (``get_identifier32().get_compact()``), stored in uint64 as MLTree's size_t: from the
top, a calorimeter marker bit (30), then sampling, side, region, eta index and phi index
(:data:`CELL_ID_FIELDS`). Every identifier lies in [2^30, 2^31): never 0 (0 means "not a
cell" in stage-2 arrays) and safe in a signed int32. Cells are numbered per layer and side
(eta > 0 first), which is not ascending ID; ``CellGeo`` is written sorted by ID unless asked
otherwise (:meth:`Geometry.mltree_branches`). Nothing downstream may rely on this encoding
(real ATLAS identifiers differ) nor on the order of a file's ``CellGeo``.

Neighbours (used by topo-clustering, and written as MLTree's prev/next links): two cells
are neighbours when their eta-phi boxes touch or overlap, within a layer (8 around a cell,
and across region boundaries and eta = 0) and between layers adjacent in depth (ATLAS's
"all3D" option, approximately).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from jetpointnet.simulate.cell_lookup import CellLocator
from jetpointnet.simulate.params import LAYERS, LayerSpec

__all__ = [
    "ADJACENT_LAYERS",
    "CELL_ID_FIELDS",
    "CELL_ID_MARKER",
    "CELL_ORDERS",
    "Geometry",
    "build_geometry",
    "layer_index",
]

#: Bit fields of a cell identifier, most significant first: name -> (shift, width).
#: ``side`` is 1 for eta > 0; ``region`` indexes :attr:`LayerSpec.regions`; ``ieta`` counts
#: cells from the region's lower abs(eta) edge, ``iphi`` from phi = -pi.
CELL_ID_FIELDS: dict[str, tuple[int, int]] = {
    "marker": (30, 1),
    "sampling": (25, 5),
    "side": (24, 1),
    "region": (20, 4),
    "ieta": (10, 10),
    "iphi": (0, 10),
}
#: The marker bit set in every identifier (so that none is 0, and all have 10 digits).
CELL_ID_MARKER = 1 << CELL_ID_FIELDS["marker"][0]
#: Orders of the ``CellGeo`` vectors: ascending ID, or a fixed pseudo-random permutation
#: (for testing that readers do not rely on the order; real files guarantee none).
CELL_ORDERS: tuple[str, ...] = ("ascending", "shuffled")

#: Layers adjacent in depth (cells overlapping in eta-phi are neighbours across them).
ADJACENT_LAYERS: tuple[tuple[str, str], ...] = (
    ("PreSamplerB", "EMB1"),
    ("EMB1", "EMB2"),
    ("EMB2", "EMB3"),
    ("EMB3", "TileBar0"),
    ("EMB3", "TileExt0"),
    ("EMB3", "TileGap3"),
    ("EMB2", "TileGap3"),
    ("TileGap3", "TileExt0"),
    ("TileBar0", "TileBar1"),
    ("TileBar1", "TileBar2"),
    ("TileBar1", "TileGap1"),
    ("TileGap1", "TileGap2"),
    ("TileBar0", "TileGap1"),
    ("TileExt0", "TileExt1"),
    ("TileExt1", "TileExt2"),
    ("TileGap1", "TileExt1"),
    ("TileGap2", "TileExt2"),
    ("PreSamplerE", "EME1"),
    ("EME1", "EME2"),
    ("EME2", "EME3"),
    ("EME3", "HEC0"),
    ("EME2", "HEC0"),
    ("HEC0", "HEC1"),
    ("HEC1", "HEC2"),
    ("HEC2", "HEC3"),
)

_TWO_PI = 2.0 * math.pi


@functools.cache
def layer_index() -> dict[str, int]:
    """Layer name -> position in :data:`params.LAYERS`."""
    return {spec.name: i for i, spec in enumerate(LAYERS)}


@dataclass(frozen=True)
class _RegionGrid:
    layer: int
    side: int  # +1 or -1
    eta_lo: float  # |eta| edges
    eta_hi: float
    deta: float
    nphi: int
    offset: int  # index of the first cell
    neta: int


@dataclass
class Geometry:
    """All cells of the calorimeter as flat arrays (index = cell number)."""

    layers: tuple[LayerSpec, ...]
    cell_id: np.ndarray  # uint64
    layer: np.ndarray  # int16: index into ``layers``
    sampling: np.ndarray  # uint16 CaloSampling number
    eta: np.ndarray  # float64 centre
    phi: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    r_perp: np.ndarray  # mm
    volume: np.ndarray  # mm^3
    noise: np.ndarray  # GeV
    grids: tuple[_RegionGrid, ...]
    neighbours: sp.csr_matrix  # symmetric boolean adjacency
    links: dict[str, np.ndarray]  # MLTree prev/next links, int32 (-1 none)
    _xyz: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _locator: CellLocator | None = field(default=None, repr=False)

    @property
    def n_cells(self) -> int:
        return int(self.cell_id.size)

    def lookup(self, layer: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Cell index at (layer index, eta, phi) for each point; -1 outside every cell."""
        if self._locator is None:
            self._locator = CellLocator(self.grids)
        return self._locator.lookup(layer, eta, phi)

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell centres (x, y, z) in mm (computed once)."""
        if self._xyz is None:
            self._xyz = (
                self.r_perp * np.cos(self.phi),
                self.r_perp * np.sin(self.phi),
                self.r_perp * np.sinh(self.eta),
            )
        return self._xyz

    def mltree_branches(self, *, order: str = "ascending") -> dict[str, np.ndarray]:
        """The CellGeo tree's branches (MLTREE.md), one value per cell.

        ``order="ascending"``: cells sorted by ``cell_geo_ID``, so that consumers matching
        IDs with ``np.isin`` / ``np.searchsorted`` on the raw vectors get the right rows.
        ``"shuffled"``: the same cells in a fixed pseudo-random order (for tests). The
        prev/next links (row indices) are renumbered to match either order.
        """
        if order not in CELL_ORDERS:
            raise ValueError(f"cell order {order!r}: choose from {', '.join(CELL_ORDERS)}")
        if order == "ascending":
            perm = np.argsort(self.cell_id, kind="stable")  # new row -> cell
        else:
            perm = np.random.default_rng(0xCE11).permutation(self.n_cells)
        row_of = np.empty_like(perm)
        row_of[perm] = np.arange(self.n_cells)  # cell -> new row
        columns = {
            "cell_geo_ID": self.cell_id,
            "cell_geo_sampling": self.sampling,
            "cell_geo_eta": self.eta.astype(np.float32),
            "cell_geo_phi": self.phi.astype(np.float32),
            "cell_geo_rPerp": self.r_perp.astype(np.float32),
            "cell_geo_deta": self.deta.astype(np.float32),
            "cell_geo_dphi": self.dphi.astype(np.float32),
            "cell_geo_volume": self.volume.astype(np.float32),
            "cell_geo_sigma": self.noise.astype(np.float32),
        }
        out = {k: v[perm] for k, v in columns.items()}
        for k, v in self.links.items():
            old = v[perm]
            out[f"cell_geo_{k}"] = np.where(old >= 0, row_of[np.maximum(old, 0)], -1).astype(
                v.dtype
            )
        return out


def _make_id(
    sampling: int, side: int, region: int, ieta: np.ndarray, iphi: np.ndarray
) -> np.ndarray:
    """Identifiers of cells (ieta, iphi) of one region grid (:data:`CELL_ID_FIELDS`)."""
    fields = {"sampling": sampling, "side": int(side > 0), "region": region}
    fields.update(ieta=int(ieta.max(initial=0)), iphi=int(iphi.max(initial=0)))
    for name, value in fields.items():
        if not 0 <= value < 1 << CELL_ID_FIELDS[name][1]:
            raise ValueError(f"cell identifier field {name}={value} does not fit its bits")
    base = CELL_ID_MARKER
    for name in ("sampling", "side", "region"):
        base |= fields[name] << CELL_ID_FIELDS[name][0]
    eta_bits = ieta.astype(np.uint64) << np.uint64(CELL_ID_FIELDS["ieta"][0])
    return np.uint64(base) | eta_bits | iphi.astype(np.uint64)


@functools.cache
def build_geometry() -> Geometry:
    """Build (once per process) the full ATLAS-like geometry, ~187k cells."""
    grids: list[_RegionGrid] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
        ("id", "layer", "sampling", "eta", "phi", "deta", "dphi", "rperp", "volume", "noise")}  # fmt: skip
    offset = 0
    for li, spec in enumerate(LAYERS):
        mid = 0.5 * (spec.lo + spec.hi)
        thick = spec.hi - spec.lo
        for side in (1, -1):
            for ri, reg in enumerate(spec.regions):
                neta, nphi = reg.neta, reg.nphi
                grids.append(
                    _RegionGrid(li, side, reg.eta_lo, reg.eta_hi, reg.deta, nphi, offset, neta)
                )
                grid = np.meshgrid(np.arange(neta), np.arange(nphi), indexing="ij")
                ieta, iphi = grid[0].ravel(), grid[1].ravel()
                aeta = reg.eta_lo + (ieta + 0.5) * reg.deta
                dphi = _TWO_PI / nphi
                phi = -math.pi + (iphi + 0.5) * dphi
                eta = side * aeta
                if spec.kind == "r":
                    rperp = np.full(eta.shape, mid)
                    # volume of a projective cell: r dr * dphi * dz, dz = r cosh^2(eta) deta
                    vol = mid * thick * dphi * mid * np.cosh(aeta) ** 2 * reg.deta
                else:
                    rperp = mid / np.sinh(aeta)
                    vol = thick * dphi * rperp**2 * reg.deta * np.cosh(aeta)
                cols["id"].append(_make_id(spec.sampling, side, ri, ieta, iphi))
                cols["layer"].append(np.full(eta.shape, li, dtype=np.int16))
                cols["sampling"].append(np.full(eta.shape, spec.sampling, dtype=np.uint16))
                cols["eta"].append(eta)
                cols["phi"].append(phi)
                cols["deta"].append(np.full(eta.shape, reg.deta))
                cols["dphi"].append(np.full(eta.shape, dphi))
                cols["rperp"].append(rperp)
                cols["volume"].append(vol)
                cols["noise"].append(np.full(eta.shape, spec.noise))
                offset += eta.size
    arr = {k: np.concatenate(v) for k, v in cols.items()}
    geo = Geometry(
        layers=LAYERS,
        cell_id=arr["id"],
        layer=arr["layer"],
        sampling=arr["sampling"],
        eta=arr["eta"],
        phi=arr["phi"],
        deta=arr["deta"],
        dphi=arr["dphi"],
        r_perp=arr["rperp"],
        volume=arr["volume"],
        noise=arr["noise"],
        grids=tuple(grids),
        neighbours=sp.csr_matrix((offset, offset), dtype=bool),
        links={},
    )
    geo.neighbours = _neighbours(geo)
    geo.links = _links(geo)
    return geo


def _overlaps(
    geo: Geometry, cells: np.ndarray, target_layer: int, grow: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (cell, other) where ``other`` in ``target_layer`` overlaps the box of ``cell``.

    Boxes are grown by ``grow`` (in eta and phi) so that touching cells count; a shrink
    (negative ``grow``) keeps only true overlaps.
    """
    e0 = geo.eta[cells] - 0.5 * geo.deta[cells] - grow
    e1 = geo.eta[cells] + 0.5 * geo.deta[cells] + grow
    p0 = geo.phi[cells] - 0.5 * geo.dphi[cells] - grow
    p1 = geo.phi[cells] + 0.5 * geo.dphi[cells] + grow
    out_a, out_b = [], []
    for g in geo.grids:
        if g.layer != target_layer:
            continue
        lo_edge = g.eta_lo if g.side > 0 else -g.eta_hi
        hi_edge = g.eta_hi if g.side > 0 else -g.eta_lo
        sel = (e1 > lo_edge) & (e0 < hi_edge)
        if not sel.any():
            continue
        a = cells[sel]
        # eta index range in this grid, in |eta| terms
        if g.side > 0:
            lo = np.floor((np.maximum(e0[sel], lo_edge) - g.eta_lo) / g.deta)
            hi = np.ceil((np.minimum(e1[sel], hi_edge) - g.eta_lo) / g.deta) - 1
        else:
            lo = np.floor((-np.minimum(e1[sel], hi_edge) - g.eta_lo) / g.deta)
            hi = np.ceil((-np.maximum(e0[sel], lo_edge) - g.eta_lo) / g.deta) - 1
        lo = np.clip(lo, 0, g.neta - 1).astype(np.int64)
        hi = np.clip(hi, 0, g.neta - 1).astype(np.int64)
        w = _TWO_PI / g.nphi
        plo = np.floor((p0[sel] + math.pi) / w).astype(np.int64)
        phi_hi = np.ceil((p1[sel] + math.pi) / w).astype(np.int64) - 1
        nphi_span = np.minimum(phi_hi - plo + 1, g.nphi)
        neta_span = hi - lo + 1
        count = neta_span * nphi_span
        rep_a = np.repeat(a, count)
        start = np.repeat(np.cumsum(count) - count, count)
        k = np.arange(rep_a.size) - start
        span = np.repeat(nphi_span, count)
        ie = np.repeat(lo, count) + k // span
        ip = np.mod(np.repeat(plo, count) + k % span, g.nphi)
        out_a.append(rep_a)
        out_b.append(g.offset + ie * g.nphi + ip)
    if not out_a:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(out_a), np.concatenate(out_b)


def _neighbours(geo: Geometry) -> sp.csr_matrix:
    rows, cols = [], []
    idx = layer_index()
    for li in range(len(geo.layers)):
        cells = np.flatnonzero(geo.layer == li)
        a, b = _overlaps(geo, cells, li, grow=1e-6)
        keep = a != b
        rows.append(a[keep])
        cols.append(b[keep])
    for la, lb in ADJACENT_LAYERS:
        ia, ib = idx[la], idx[lb]
        # true overlaps only, seen from both sides so that no pair is missed
        cells_a = np.flatnonzero(geo.layer == ia)
        a, b = _overlaps(geo, cells_a, ib, grow=-1e-6)
        rows += [a, b]
        cols += [b, a]
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    n = geo.n_cells
    m = sp.coo_matrix((np.ones(r.size, dtype=bool), (r, c)), shape=(n, n)).tocsr()
    m = (m + m.T).tocsr()
    m.data[:] = True
    return m


def _links(geo: Geometry) -> dict[str, np.ndarray]:
    """MLTree's single-valued prev/next links in phi, eta and sampling (-1 when none)."""
    eps = 1e-7
    layer = geo.layer
    links = {}
    dphi = geo.dphi
    for name, sgn in (("prevInPhi", -1), ("nextInPhi", 1)):
        links[name] = geo.lookup(layer, geo.eta, geo.phi + sgn * (dphi + eps))
    for name, sgn in (("prevInEta", -1), ("nextInEta", 1)):
        links[name] = geo.lookup(layer, geo.eta + sgn * (geo.deta + eps), geo.phi)
    # next / previous sampling in depth: the first adjacent layer that has a cell there
    idx = layer_index()
    nxt: dict[int, list[int]] = {}
    prv: dict[int, list[int]] = {}
    for la, lb in ADJACENT_LAYERS:
        nxt.setdefault(idx[la], []).append(idx[lb])
        prv.setdefault(idx[lb], []).append(idx[la])
    for name, table in (("prevInSamp", prv), ("nextInSamp", nxt)):
        out = np.full(geo.n_cells, -1, dtype=np.int64)
        for li, targets in table.items():
            cells = np.flatnonzero(layer == li)
            for t in targets:
                todo = cells[out[cells] < 0]
                if todo.size == 0:
                    break
                out[todo] = geo.lookup(np.full(todo.size, t), geo.eta[todo], geo.phi[todo])
        links[name] = out
    return {k: v.astype(np.int32) for k, v in links.items()}

"""Hand-made "truth-only" MLTree events for the jet ceilings: known particles, known cells.

Each particle deposits its energy in cells given by hand (true deposit and EM-scale
visible energy per cell), nothing is lost, there is no noise, every charged particle is
tracked with its true momentum (track and truth carry the charged-pion mass), and each
photon sits in a cell of its own at exactly its direction. Clusters are lists of cells.
Written with :func:`jetpointnet.io.mltree_writer.write_mltree` as RNTuple (no ROOT needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from jetpointnet.io.mltree_writer import write_mltree
from jetpointnet.jets.objects import PION_MASS

__all__ = ["Particle", "TruthOnlyEvent", "truth_only_events", "write_truth_only"]

S = -999999999.0  # MLTree's "not reached"
R_EMB2 = 1723.89  # mm


@dataclass
class Particle:
    """A truth particle; ``deposits``: cell id -> (true deposit, EM-scale visible), GeV."""

    pdg: int
    pt: float
    eta: float
    phi: float
    deposits: dict[int, tuple[float, float]] = field(default_factory=dict)
    tracked: bool = True

    @property
    def mass(self) -> float:
        return PION_MASS if abs(self.pdg) == 211 else 0.0

    @property
    def energy(self) -> float:
        return float(np.hypot(self.pt * np.cosh(self.eta), self.mass))


@dataclass
class TruthOnlyEvent:
    particles: list[Particle]
    clusters: list[list[int]]  # cell ids per cluster
    cells: dict[int, tuple[float, float]]  # cell id -> (eta, phi), all in EMB2


def _photon(cid: int, pt: float, eta: float, phi: float, cells: dict) -> Particle:
    cells[cid] = (eta, phi)
    e = pt * np.cosh(eta)
    return Particle(22, pt, eta, phi, {cid: (e, e)}, tracked=False)


def _pion(pdg: int, pt: float, eta: float, phi: float, first: int, cells: dict,
          vis: float = 0.6) -> Particle:  # fmt: skip
    """A charged pion spread over four cells around its direction (60 % visible)."""
    e = pt * np.cosh(eta)
    dep = {}
    for k, (de, dp, share) in enumerate([(0, 0, 0.5), (0.025, 0, 0.2), (0, 0.025, 0.2),
                                         (-0.025, -0.025, 0.1)]):  # fmt: skip
        cells[first + k] = (eta + de, phi + dp)
        dep[first + k] = (share * e, share * e * vis)
    return Particle(pdg, pt, eta, phi, dep)


def truth_only_events(*, shared_cell: bool = False) -> list[TruthOnlyEvent]:
    """Two events with two jets each. ``shared_cell``: a photon also reaches a pion's
    central cell (then the oracle's neutral remnant there is no longer exact)."""
    out = []
    for k in range(2):
        cells: dict[int, tuple[float, float]] = {}
        phi0 = 0.3 + k
        o = 1000 * k  # cell IDs of this event
        p1 = _pion(211, 30.0, 0.1, phi0, o + 100, cells)
        p2 = _pion(-211, 12.0, 0.2, phi0 + 0.12, o + 200, cells)
        g1 = _photon(o + 300, 15.0, 0.05, phi0 + 0.08, cells)
        g2 = _photon(o + 301, 6.0, 0.22, phi0 - 0.1, cells)
        p3 = _pion(211, 25.0, -0.6, phi0 - 2.5, o + 400, cells)
        g3 = _photon(o + 500, 18.0, -0.55, phi0 - 2.45, cells)
        nu = Particle(12, 5.0, 0.3, phi0, {}, tracked=False)
        if shared_cell:  # g1 leaves a quarter of its energy in p1's central cell
            e = g1.energy
            g1.deposits = {o + 300: (0.75 * e, 0.75 * e), o + 100: (0.25 * e, 0.25 * e)}
        clusters = [[o + c for c in (100, 101, 102, 103, 200, 201, 202, 203)], [o + 300],
                    [o + 301], [o + c for c in (400, 401, 402, 403)], [o + 500]]  # fmt: skip
        out.append(TruthOnlyEvent([p1, p2, g1, g2, p3, g3, nu], clusters, cells))
    return out


def _event_columns(ev: TruthOnlyEvent) -> dict:
    parts = ev.particles
    cell_e = {c: 0.0 for c in ev.cells}
    hits: dict[int, list[tuple[int, float]]] = {c: [] for c in ev.cells}
    for i, p in enumerate(parts):
        for c, (true, vis) in p.deposits.items():
            cell_e[c] += vis
            hits[c].append((i, true))
    tracked = [i for i, p in enumerate(parts) if p.tracked]
    tr = {
        "trackPt": [parts[i].pt for i in tracked],
        "trackP": [parts[i].pt * np.cosh(parts[i].eta) for i in tracked],
        "trackEta": [parts[i].eta for i in tracked],
        "trackPhi": [parts[i].phi for i in tracked],
        "trackChiSquared": [10.0] * len(tracked),
        "trackNumberDOF": [10] * len(tracked),
        "trackTruthParticleIndex": tracked,
        "trackEta_EMB2": [parts[i].eta for i in tracked],
        "trackPhi_EMB2": [parts[i].phi for i in tracked],
        "trackEta_EME2": [S] * len(tracked),
        "trackPhi_EME2": [S] * len(tracked),
    }
    cl_e = [sum(cell_e[c] for c in cl) for cl in ev.clusters]
    pairs = list(zip(ev.clusters, cl_e, strict=True))
    cl_eta = [sum(cell_e[c] * ev.cells[c][0] for c in cl) / e for cl, e in pairs]
    cl_phi = [sum(cell_e[c] * ev.cells[c][1] for c in cl) / e for cl, e in pairs]
    hit_index = [[[i for i, _ in hits[c]] for c in cl] for cl in ev.clusters]
    return {
        "truthPartPdgId": [p.pdg for p in parts],
        "truthPartStatus": [1] * len(parts),
        "truthPartBarcode": list(range(1, len(parts) + 1)),
        "truthPartPt": [p.pt for p in parts],
        "truthPartEta": [p.eta for p in parts],
        "truthPartPhi": [p.phi for p in parts],
        "truthPartMass": [p.mass for p in parts],
        "truthPartE": [p.energy for p in parts],
        **tr,
        "cluster_E": cl_e,
        "cluster_Eta": cl_eta,
        "cluster_Phi": cl_phi,
        "cluster_cell_ID": [list(cl) for cl in ev.clusters],
        "cluster_cell_E": [[cell_e[c] for c in cl] for cl in ev.clusters],
        "cluster_cell_hitsTruthIndex": hit_index,
        "cluster_cell_hitsTruthE": [[[e for _, e in hits[c]] for c in cl] for cl in ev.clusters],
    }


def write_truth_only(path: Path, events: list[TruthOnlyEvent], *, truth: bool = True) -> Path:
    """Write ``events`` (and the union of their cells as CellGeo); ``truth=False`` leaves
    every truth branch out, as in real data."""
    cols = [_event_columns(ev) for ev in events]
    branches = {k: ak.Array([c[k] for c in cols]) for k in cols[0]}
    branches["eventNumber"] = np.arange(len(events), dtype=np.int64) + 1
    if not truth:
        branches = {k: v for k, v in branches.items()
                    if not k.startswith("truth") and "Truth" not in k}  # fmt: skip
    cells: dict[int, tuple[float, float]] = {}
    for ev in events:
        cells.update(ev.cells)
    ids = np.array(sorted(cells), dtype=np.uint64)
    n = len(ids)
    geometry = {
        "cell_geo_ID": ids,
        "cell_geo_sampling": np.full(n, 2, np.uint16),
        "cell_geo_eta": np.array([cells[i][0] for i in ids.tolist()], np.float32),
        "cell_geo_phi": np.array([cells[i][1] for i in ids.tolist()], np.float32),
        "cell_geo_rPerp": np.full(n, R_EMB2, np.float32),
        "cell_geo_deta": np.full(n, 0.025, np.float32),
        "cell_geo_dphi": np.full(n, 0.0245, np.float32),
        "cell_geo_volume": np.full(n, 1000.0, np.float32),
        "cell_geo_sigma": np.full(n, 0.03, np.float32),
    }
    return write_mltree(path, branches, geometry, fmt="rntuple")

"""Hand-made MLTree events of ALP decays: photons with known vertices and known cells.

Each photon leaves one cell in each barrel layer (PreSamplerB, EMB1, EMB2 with two phi
neighbours, EMB3) exactly where its true line, from its production vertex along its
momentum, crosses the layer's radius (positions seen from the origin, as in the
geometry): 5 %, 30 %, 45 % + 2 x 5 % and 10 % of its energy. The cells of a photon form
one topo-cluster. Each ALP (status 2, PDG 36, produced at the origin) is the four-momentum
sum of its two photons and is written after the final state; the event-truth branches
``truthPartParentBarcode`` / ``PdgId`` are written unless ``parents=False``. Extra clusters
(one EMB2 cell, no truth) can be added. Written with
:func:`jetpointnet.io.mltree_writer.write_mltree` as RNTuple (no ROOT needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from jetpointnet.io.mltree_layout import SAMPLING, TRACK_SURFACES
from jetpointnet.io.mltree_writer import write_mltree

__all__ = ["LAYER_SHARES", "AlpEvent", "Photon", "alp_event", "crossing", "write_alp_events"]

#: (sampling name, share of the photon's energy, phi offsets of its cells in EMB2 pitches)
LAYER_SHARES = (("PreSamplerB", 0.05, (0,)), ("EMB1", 0.30, (0,)),
                ("EMB2", 0.45, (0,)), ("EMB2", 0.05, (-1, 1)), ("EMB3", 0.10, (0,)))  # fmt: skip
DPHI = 0.0245


@dataclass
class Photon:
    """A photon of energy ``e`` (GeV), momentum direction (eta, phi), born at ``vertex`` (mm)."""

    e: float
    eta: float
    phi: float
    vertex: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class AlpEvent:
    """Photons 2k, 2k + 1 come from ALP k (``n_alps`` of them; further photons have no
    parent); ``extra``: clusters (E, eta, phi) of one EMB2 cell without truth."""

    photons: list[Photon]
    n_alps: int = 1
    extra: list[tuple[float, float, float]] = field(default_factory=list)


def crossing(ph: Photon, radius: float) -> tuple[float, float]:
    """(eta, phi) from the origin of the point where the photon's line reaches ``radius``."""
    v = np.asarray(ph.vertex, np.float64)
    d = np.array([np.cos(ph.phi), np.sin(ph.phi), np.sinh(ph.eta)])  # per unit of pT path
    a, b, c = (
        d[0] ** 2 + d[1] ** 2,
        2 * (v[0] * d[0] + v[1] * d[1]),
        v[0] ** 2 + v[1] ** 2 - radius**2,
    )
    p = v + (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a) * d
    return float(np.arcsinh(p[2] / radius)), float(np.arctan2(p[1], p[0]))


def alp_event(lxy: float, *, e: float = 40.0, eta: float = 0.3, phi: float = 0.5,
              opening: float = 0.6, z: float | None = None) -> AlpEvent:  # fmt: skip
    """One ALP flying along (eta, phi) and decaying at transverse distance ``lxy`` (mm;
    at ``z`` if given, else along its flight), to two photons ``opening`` apart in phi."""
    zz = lxy * np.sinh(eta) if z is None else z
    v = (lxy * np.cos(phi), lxy * np.sin(phi), zz)
    g1 = Photon(0.6 * e, eta + 0.05, phi - opening / 2, v)
    g2 = Photon(0.4 * e, eta - 0.05, phi + opening / 2, v)
    return AlpEvent([g1, g2])


def _p4(ph: Photon) -> np.ndarray:
    pt = ph.e / np.cosh(ph.eta)
    return np.array([pt * np.cos(ph.phi), pt * np.sin(ph.phi), pt * np.sinh(ph.eta), ph.e])


def _columns(ev: AlpEvent, number: int, cells: dict, parents: bool) -> dict:
    """One event's branches; adds its cells (id -> sampling, eta, phi, r) to ``cells``."""
    truth = {k: [] for k in ("pdg", "st", "bc", "pt", "eta", "phi", "e", "m", "vx", "vy", "vz",
                             "pbc", "ppdg")}  # fmt: skip

    def add(pdg, st, bc, p4, m, v, pbc, ppdg):
        pt = float(np.hypot(p4[0], p4[1]))
        for k, x in zip(truth, (pdg, st, bc, pt, float(np.arcsinh(p4[2] / pt)),
                                float(np.arctan2(p4[1], p4[0])), float(p4[3]), m, *v, pbc, ppdg),
                        strict=True):  # fmt: skip
            truth[k].append(x)

    alp_bc = [1000 + k for k in range(ev.n_alps)]
    for i, ph in enumerate(ev.photons):
        mine = i // 2 < ev.n_alps
        add(
            22, 1, i + 1, _p4(ph), 0.0, ph.vertex, alp_bc[i // 2] if mine else -1, 36 if mine else 0
        )
    for k in range(ev.n_alps):
        p4 = _p4(ev.photons[2 * k]) + _p4(ev.photons[2 * k + 1])
        m = float(np.sqrt(max(p4[3] ** 2 - np.dot(p4[:3], p4[:3]), 0.0)))
        add(36, 2, alp_bc[k], p4, m, (0.0, 0.0, 0.0), -1, 0)
    cl_ids, cl_e = [], []
    for i, ph in enumerate(ev.photons):
        ids, es = [], []
        for k, (name, share, offsets) in enumerate(LAYER_SHARES):
            r = TRACK_SURFACES[name][1]
            eta, phi = crossing(ph, r)
            for o in offsets:
                cid = number * 100_000 + i * 100 + k * 10 + o + 1
                cells[cid] = (SAMPLING[name], eta, phi + o * DPHI, r)
                ids.append(cid)
                es.append(share * ph.e)
        cl_ids.append(ids)
        cl_e.append(es)
    for j, (e, eta, phi) in enumerate(ev.extra):
        cid = number * 100_000 + 90_000 + j
        cells[cid] = (SAMPLING["EMB2"], eta, phi, TRACK_SURFACES["EMB2"][1])
        cl_ids.append([cid])
        cl_e.append([e])
    geo = [[cells[c] for c in ids] for ids in cl_ids]
    cl_sum = [sum(es) for es in cl_e]
    out = {
        "truthPartPdgId": truth["pdg"], "truthPartStatus": truth["st"],
        "truthPartBarcode": truth["bc"], "truthPartPt": truth["pt"],
        "truthPartEta": truth["eta"], "truthPartPhi": truth["phi"], "truthPartE": truth["e"],
        "truthPartMass": truth["m"], "truthVertexX": truth["vx"], "truthVertexY": truth["vy"],
        "truthVertexZ": truth["vz"],
        "cluster_E": cl_sum,
        "cluster_Eta": [sum(e * g[1] for e, g in zip(es, gs, strict=True)) / s
                        for es, gs, s in zip(cl_e, geo, cl_sum, strict=True)],
        "cluster_Phi": [sum(e * g[2] for e, g in zip(es, gs, strict=True)) / s
                        for es, gs, s in zip(cl_e, geo, cl_sum, strict=True)],
        "cluster_cell_ID": cl_ids, "cluster_cell_E": cl_e,
    }  # fmt: skip
    if parents:
        out.update(truthPartParentBarcode=truth["pbc"], truthPartParentPdgId=truth["ppdg"])
    return out


def write_alp_events(path: Path, events: list[AlpEvent], *, parents: bool = True,
                     first_number: int = 1) -> Path:  # fmt: skip
    """Write ``events`` (event numbers from ``first_number``) and their cells as CellGeo."""
    cells: dict[int, tuple] = {}
    cols = [_columns(ev, first_number + k, cells, parents) for k, ev in enumerate(events)]
    branches = {k: ak.Array([c[k] for c in cols]) for k in cols[0]}
    branches["cluster_cell_ID"] = ak.values_astype(branches["cluster_cell_ID"], np.uint64)
    branches["eventNumber"] = np.arange(len(events), dtype=np.int64) + first_number
    ids = np.array(sorted(cells), dtype=np.uint64)
    col = lambda k, dt: np.array([cells[i][k] for i in ids.tolist()], dt)
    geometry = {
        "cell_geo_ID": ids, "cell_geo_sampling": col(0, np.uint16),
        "cell_geo_eta": col(1, np.float32), "cell_geo_phi": col(2, np.float32),
        "cell_geo_rPerp": col(3, np.float32), "cell_geo_deta": np.full(len(ids), 0.025, np.float32),
        "cell_geo_dphi": np.full(len(ids), DPHI, np.float32),
        "cell_geo_volume": np.full(len(ids), 1000.0, np.float32),
        "cell_geo_sigma": np.full(len(ids), 0.03, np.float32),
    }  # fmt: skip
    return write_mltree(path, branches, geometry, fmt="rntuple")

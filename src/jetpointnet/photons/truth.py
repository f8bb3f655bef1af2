"""The truth photons of ALP decays: which they are, their decay vertex, where they hit.

Which photons (contract A):

* with the event-truth branches: status-1 photons (PDG 22) whose ``truthPartParentPdgId``
  is 36;
* without them: for each decayed ALP (status 2, PDG 36), the pair of status-1 photons that
  share a production vertex (within 1 micron) and whose summed four-momentum equals the
  ALP's within 1 % of its energy (the contract's "not at the primary vertex" is not asked
  for: a prompt ALP decays at the primary vertex);
* ``gun_photons``: an event without any ALP gives every status-1 photon (the ``gun``
  preset's prompt photons).

The decay vertex is the photon's production vertex (``truthVertexX/Y/Z``, mm); ``lxy`` its
transverse distance to the beam line, ``z_decay`` its z. The impact point is where the
photon's true line, from that vertex along its momentum (``truthPartEta/Phi``), first
reaches the calorimeter front: the cylinder r = 1500 mm (barrel) or the planes |z| = 3700 mm
(end-caps); a photon born beyond the front impacts at its birth point. Its eta and phi
are seen from the origin (as cluster and cell positions are), not along its momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

__all__ = ["FRONT_R_MM", "FRONT_Z_MM", "TRUTH_BRANCHES", "TRUTH_BRANCHES_OPTIONAL",
           "TruthPhotons", "impact_point", "truth_photons"]  # fmt: skip

FRONT_R_MM = 1500.0  # calorimeter front, barrel (cylinder radius)
FRONT_Z_MM = 3700.0  # calorimeter front, end-caps (|z| of the planes)
ALP_PDG = 36
_VERTEX_TOL_MM = 1e-3
_P4_TOL = 0.01

TRUTH_BRANCHES = ("truthPartPdgId", "truthPartStatus", "truthPartPt", "truthPartEta",
                  "truthPartPhi", "truthPartE", "truthVertexX", "truthVertexY",
                  "truthVertexZ")  # fmt: skip
TRUTH_BRANCHES_OPTIONAL = ("truthPartParentPdgId", "truthPartParentBarcode")


@dataclass(frozen=True)
class TruthPhotons:
    """One row per truth photon: chunk-local ``event``, energy ``e`` (GeV), the impact
    direction seen from the origin, decay vertex (mm)."""

    event: np.ndarray  # int64
    e: np.ndarray
    eta: np.ndarray  # of the impact point, from the origin
    phi: np.ndarray
    vertex: np.ndarray  # (n, 3) mm
    lxy: np.ndarray
    z_decay: np.ndarray

    def __len__(self) -> int:
        return len(self.e)


def impact_point(vertex: np.ndarray, eta: np.ndarray, phi: np.ndarray, *,
                 r_front: float = FRONT_R_MM, z_front: float = FRONT_Z_MM) -> np.ndarray:  # fmt: skip
    """``(n, 3)`` mm: first point of the lines from ``vertex`` along (eta, phi) on the
    cylinder ``r_front`` or the planes ``|z| = z_front``; the vertex itself when it lies
    at or beyond them."""
    v = np.atleast_2d(np.asarray(vertex, np.float64))
    d = np.stack([np.cos(phi) / np.cosh(eta), np.sin(phi) / np.cosh(eta), np.tanh(eta)], 1)
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2 * (v[:, 0] * d[:, 0] + v[:, 1] * d[:, 1])
    c = v[:, 0] ** 2 + v[:, 1] ** 2 - r_front**2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_r = np.where(a > 0, (-b + np.sqrt(np.maximum(b * b - 4 * a * c, 0))) / (2 * a), np.inf)
        t_z = np.where(d[:, 2] != 0, (np.sign(d[:, 2]) * z_front - v[:, 2]) / d[:, 2], np.inf)
    inside = (c < 0) & (np.abs(v[:, 2]) < z_front)
    t = np.where(inside, np.minimum(t_r, t_z), 0.0)
    return v + t[:, None] * d


def _flat(events, name: str, dtype) -> np.ndarray:
    return np.asarray(ak.to_numpy(ak.flatten(events[name], axis=None)), dtype)


def _pair_rule(ev: np.ndarray, st, pdg, p4, vtx) -> np.ndarray:
    """Per truth row: True for the photons of an ALP by the decay-kinematics rule."""
    out = np.zeros(len(ev), bool)
    for a in np.flatnonzero((st == 2) & (pdg == ALP_PDG)):
        g = np.flatnonzero((ev == ev[a]) & (st == 1) & (pdg == 22))
        tol = _P4_TOL * p4[a, 3]
        for i, j in ((i, j) for k, i in enumerate(g) for j in g[k + 1 :]):
            same_vertex = np.linalg.norm(vtx[i] - vtx[j]) < _VERTEX_TOL_MM
            if same_vertex and np.all(np.abs(p4[i] + p4[j] - p4[a]) < tol):
                out[[i, j]] = True
                break
    return out


def truth_photons(events: dict[str, ak.Array], *, gun_photons: bool = True) -> TruthPhotons:
    """The truth photons (module rules) of a chunk read with :data:`TRUTH_BRANCHES`."""
    ev = np.repeat(np.arange(len(events["truthPartPdgId"])),
                   np.asarray(ak.to_numpy(ak.num(events["truthPartPdgId"], axis=1))))  # fmt: skip
    pdg = np.abs(_flat(events, "truthPartPdgId", np.int64))
    st = _flat(events, "truthPartStatus", np.int64)
    pt, eta, phi, e = (
        _flat(events, f"truthPart{k}", np.float64) for k in ("Pt", "Eta", "Phi", "E")
    )
    vtx = np.stack([_flat(events, f"truthVertex{k}", np.float64) for k in "XYZ"], 1)
    photon = (st == 1) & (pdg == 22)
    if "truthPartParentPdgId" in events:
        alp = photon & (np.abs(_flat(events, "truthPartParentPdgId", np.int64)) == ALP_PDG)
    else:
        p4 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), e], 1)
        alp = _pair_rule(ev, st, pdg, p4, vtx)
    if gun_photons:
        has_alp = np.zeros(len(events["truthPartPdgId"]), bool)
        has_alp[ev[(st == 2) & (pdg == ALP_PDG)]] = True
        alp |= photon & ~has_alp[ev]
    rows = np.flatnonzero(alp)
    hit = impact_point(vtx[rows], eta[rows], phi[rows])
    return TruthPhotons(
        event=ev[rows].astype(np.int64), e=e[rows],
        eta=np.arcsinh(hit[:, 2] / np.maximum(np.hypot(hit[:, 0], hit[:, 1]), 1e-9)),
        phi=np.arctan2(hit[:, 1], hit[:, 0]), vertex=vtx[rows],
        lxy=np.hypot(vtx[rows, 0], vtx[rows, 1]), z_decay=vtx[rows, 2],
    )  # fmt: skip

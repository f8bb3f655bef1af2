"""Photons through the simulator's detector from a chosen vertex (no generator).

:func:`photon_truth`: one photon (energy, momentum direction, production vertex in mm);
:func:`alp_truth`: an ALP produced at the origin decaying to two photons (isotropic in
its rest frame) at a given transverse distance, kept as a decayed particle (status 2).
:func:`write_photon_showers` simulates each :class:`~jetpointnet.simulate.generators.TruthEvent`
with :func:`~jetpointnet.simulate.detector.simulate_event` (event truth on; the photons
of an ALP name it as their parent, barcode and PDG 36; other particles have none: -1, 0)
and writes the events with the detector's CellGeo as one MLTree file (RNTuple), as
``jetpointnet simulate`` would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetpointnet.io.mltree_writer import write_mltree
from jetpointnet.simulate.assemble import stack_events
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import TruthEvent

__all__ = ["alp_truth", "photon_truth", "write_photon_showers"]


def photon_truth(e: float, eta: float, phi: float, vertex=(0.0, 0.0, 0.0)) -> TruthEvent:
    """A single photon of ``e`` GeV along (eta, phi), born at ``vertex`` (mm)."""
    pt = e / np.cosh(eta)
    f = lambda x: np.array([x], np.float64)
    return TruthEvent(pdg=np.array([22], np.int32), px=f(pt * np.cos(phi)), py=f(pt * np.sin(phi)),
                      pz=f(pt * np.sinh(eta)), e=f(e), m=f(0.0), vx=f(vertex[0]), vy=f(vertex[1]),
                      vz=f(vertex[2]), charge=f(0.0), barcode=np.array([1], np.int32))  # fmt: skip


def _boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``p4`` (E last) boosted by velocity ``beta`` (3,)."""
    b2 = float(beta @ beta)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = float(beta @ p4[:3])
    p = p4[:3] + ((gamma - 1.0) * bp / b2 + gamma * p4[3]) * beta
    return np.append(p, gamma * (p4[3] + bp))


def alp_truth(mass: float, p: float, eta: float, phi: float, lxy: float,
              rng: np.random.Generator) -> TruthEvent:  # fmt: skip
    """An ALP of ``mass`` and momentum ``p`` (GeV) along (eta, phi), decaying to two photons
    at transverse distance ``lxy`` (mm) along its flight; the ALP is ``decayed``."""
    d = np.array([np.cos(phi) / np.cosh(eta), np.sin(phi) / np.cosh(eta), np.tanh(eta)])
    e = float(np.hypot(p, mass))
    cos_t, az = rng.uniform(-1, 1), rng.uniform(0, 2 * np.pi)
    n = np.array([np.sqrt(1 - cos_t**2) * np.cos(az), np.sqrt(1 - cos_t**2) * np.sin(az), cos_t])
    half = mass / 2
    g = [_boost(np.append(s * half * n, half), p / e * d) for s in (1, -1)]
    v = d * lxy * np.cosh(eta)  # |v_T| = lxy
    col = lambda k: np.array([x[k] for x in g])
    f = lambda x: np.array([x], np.float64)
    alp = TruthEvent(pdg=np.array([36], np.int32), px=f(p * d[0]), py=f(p * d[1]), pz=f(p * d[2]),
                     e=f(e), m=f(mass), vx=f(0.0), vy=f(0.0), vz=f(0.0), charge=f(0.0),
                     barcode=np.array([3], np.int32))  # fmt: skip
    return TruthEvent(pdg=np.array([22, 22], np.int32), px=col(0), py=col(1), pz=col(2),
                      e=col(3), m=np.zeros(2), vx=np.full(2, v[0]), vy=np.full(2, v[1]),
                      vz=np.full(2, v[2]), charge=np.zeros(2), barcode=np.array([1, 2], np.int32),
                      decayed=alp)  # fmt: skip


def write_photon_showers(path: Path, truths: list[TruthEvent], geo, mat, *, seed: int = 0) -> Path:
    """Simulate ``truths`` (one event each) and write them to ``path``."""
    rng = np.random.default_rng(seed)
    records = []
    for k, truth in enumerate(truths):
        rec = simulate_event(truth, geo, mat, rng, event_truth=True)
        n = int(rec.values["nTruthPart"])
        parent, pdg = np.full(n, -1, np.int32), np.zeros(n, np.int32)
        if truth.decayed is not None:  # the final state's photons come from the ALP
            parent[: truth.size], pdg[: truth.size] = truth.decayed.barcode[0], 36
        rec.values.update(eventNumber=k + 1, runNumber=1, truthPartParentBarcode=parent,
                          truthPartParentPdgId=pdg)  # fmt: skip
        records.append(rec)
    return write_mltree(path, stack_events(records), geo.mltree_branches(), fmt="rntuple")

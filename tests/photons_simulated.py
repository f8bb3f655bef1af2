"""Photons through the simulator's detector from a chosen vertex (no generator).

:func:`write_photon_showers` builds one :class:`~jetpointnet.simulate.generators.TruthEvent`
per photon (energy, momentum direction, production vertex in mm), simulates it with
:func:`~jetpointnet.simulate.detector.simulate_event` (event truth on; a photon has no
parent: barcode -1, PDG 0) and writes the events with the detector's CellGeo as one
MLTree file (RNTuple), as ``jetpointnet simulate`` would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetpointnet.io.mltree_writer import write_mltree
from jetpointnet.simulate.assemble import stack_events
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import TruthEvent

__all__ = ["photon_truth", "write_photon_showers"]


def photon_truth(e: float, eta: float, phi: float, vertex=(0.0, 0.0, 0.0)) -> TruthEvent:
    """A single photon of ``e`` GeV along (eta, phi), born at ``vertex`` (mm)."""
    pt = e / np.cosh(eta)
    f = lambda x: np.array([x], np.float64)
    return TruthEvent(pdg=np.array([22], np.int32), px=f(pt * np.cos(phi)), py=f(pt * np.sin(phi)),
                      pz=f(pt * np.sinh(eta)), e=f(e), m=f(0.0), vx=f(vertex[0]), vy=f(vertex[1]),
                      vz=f(vertex[2]), charge=f(0.0), barcode=np.array([1], np.int32))  # fmt: skip


def write_photon_showers(path: Path, truths: list[TruthEvent], geo, mat, *, seed: int = 0) -> Path:
    """Simulate ``truths`` (one event each) and write them to ``path``."""
    rng = np.random.default_rng(seed)
    records = []
    for k, truth in enumerate(truths):
        rec = simulate_event(truth, geo, mat, rng, event_truth=True)
        n = truth.size
        rec.values.update(eventNumber=k + 1, runNumber=1,
                          truthPartParentBarcode=np.full(n, -1, np.int32),
                          truthPartParentPdgId=np.zeros(n, np.int32))  # fmt: skip
        records.append(rec)
    return write_mltree(path, stack_events(records), geo.mltree_branches(), fmt="rntuple")

"""The ``truthPart*`` and ``truthVertex*`` branches of one simulated event.

The final-state particles (status 1) come first, in the generator's order, so that the
truth indices the tracks and cells hold (``trackTruthParticleIndex``,
``cluster_cell_hitsTruthIndex``) point at them; the decayed W and Z of the ``wprime-wz``
preset (kept for labelling large-R jets) and the decayed ALPs of ``h2aa`` and ``alp`` (PDG
id 36, vertex = production vertex; their photons carry the decay vertex) follow with
status 2, never simulated.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.simulate.generators import TruthEvent

__all__ = ["truth_branches"]


def truth_branches(
    truth: TruthEvent, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray
) -> dict[str, object]:
    """The ``truthPart*`` and ``truthVertex*`` branches: the final state (status 1), then
    the decayed bosons or ALPs (status 2, never simulated), so every index of a stable
    particle is unchanged."""
    d = truth.decayed
    n_d = 0 if d is None else d.size
    if d is not None and n_d:
        d_pt = np.hypot(d.px, d.py)
        d_eta = np.arcsinh(d.pz / np.maximum(d_pt, 1e-12))
        d_phi = np.arctan2(d.py, d.px)

    def cat(a, b, dtype) -> np.ndarray:
        return np.asarray(np.concatenate([a, b]) if n_d else a, dtype=dtype)

    def col(name: str):
        return getattr(d, name) if n_d else None

    f32 = np.float32
    return {
        "nTruthPart": truth.size + n_d,
        "truthPartBarcode": cat(truth.barcode, col("barcode"), np.int32),
        "truthPartPdgId": cat(truth.pdg, col("pdg"), np.int32),
        "truthPartStatus": cat(np.ones(truth.size), np.full(n_d, 2), np.int32),
        "truthPartPt": cat(pt, d_pt if n_d else None, f32),
        "truthPartE": cat(truth.e, col("e"), f32),
        "truthPartMass": cat(truth.m, col("m"), f32),
        "truthPartEta": cat(eta, d_eta if n_d else None, f32),
        "truthPartPhi": cat(phi, d_phi if n_d else None, f32),
        "truthVertexX": cat(truth.vx, col("vx"), f32),
        "truthVertexY": cat(truth.vy, col("vy"), f32),
        "truthVertexZ": cat(truth.vz, col("vz"), f32),
    }

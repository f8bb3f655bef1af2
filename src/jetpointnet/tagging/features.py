"""Seed 004's constituent features of a jet, padded to L (the ``jet`` arrays' X, mask, p4).

Columns of X (:data:`JET_FEATURES`): ``d_eta``, ``d_phi`` (the constituent minus the jet
axis, Delta-phi wrapped), ``log_pt``, ``log_e`` (natural log of GeV), ``log_pt_rel``,
``log_e_rel`` (over the jet's pT / E), ``dr`` (hypot of d_eta, d_phi), ``is_charged``
(1 for tracks). Constituents are taken hardest first; a jet with more than L keeps its L
hardest; padding rows are 0 with ``mask`` False. ``p4``: (px, py, pz, E) in GeV.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.tagging.large_r import kinematics

__all__ = ["JET_FEATURES", "constituent_arrays"]

JET_FEATURES = ("d_eta", "d_phi", "log_pt", "log_e", "log_pt_rel", "log_e_rel", "dr",
                "is_charged")  # fmt: skip
_TINY = 1e-6  # GeV, floor under the logarithms (massless objects of zero pT never occur)


def constituent_arrays(
    p4: np.ndarray, charged: np.ndarray, offsets: np.ndarray, rows: np.ndarray, *,
    jet_pt: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray, jet_e: np.ndarray,
    length: int,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``X`` (n, L, F) float32, ``mask`` (n, L) bool, ``p4`` (n, L, 4) float32 and the
    number of constituents before truncation, for jets whose constituents are
    ``rows[offsets[i]:offsets[i+1]]`` (hardest first) of ``p4`` / ``charged``."""
    n = len(offsets) - 1
    counts = np.diff(offsets)
    kept = np.minimum(counts, length)
    jet = np.repeat(np.arange(n), kept)
    slot = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    src = rows[np.repeat(offsets[:-1], kept) + slot]
    c4 = p4[src]
    c = kinematics(c4)
    d_eta = c["eta"] - jet_eta[jet]
    d_phi = np.mod(c["phi"] - jet_phi[jet] + np.pi, 2 * np.pi) - np.pi
    log_pt = np.log(np.maximum(c["pt"], _TINY))
    log_e = np.log(np.maximum(c4[:, 3], _TINY))
    cols = (
        d_eta, d_phi, log_pt, log_e,
        log_pt - np.log(np.maximum(jet_pt[jet], _TINY)),
        log_e - np.log(np.maximum(jet_e[jet], _TINY)),
        np.hypot(d_eta, d_phi), charged[src].astype(np.float64),
    )  # fmt: skip
    x = np.zeros((n, length, len(JET_FEATURES)), np.float32)
    x[jet, slot] = np.stack(cols, axis=1)
    mask = np.zeros((n, length), bool)
    mask[jet, slot] = True
    out4 = np.zeros((n, length, 4), np.float32)
    out4[jet, slot] = c4
    return {"X": x, "mask": mask, "p4": out4, "n_constituents": counts.astype(np.int32)}

"""Jet substructure: the kt splitting scale sqrt(d12), N-subjettiness tau21 and D2.

* ``sqrt(d12)``: the constituents re-clustered with exclusive kt, R = 1.0; d12 is the kt
  distance ``min(pT_i, pT_j)^2 dR_ij^2 / R^2`` of the last merging (2 -> 1 jets), GeV.
* ``tau21 = tau2 / tau1`` (beta = 1): ``tau_N = sum_k pT_k min_a dR(k, a) / sum_k pT_k R0``
  with R0 = 1.0 and the N exclusive-kt axes (no axis optimisation).
* ``D2`` (beta = 1): ``e3 / e2^3`` with the pT-weighted energy correlation functions
  ``e2 = sum_{i<j} z_i z_j dR_ij``, ``e3 = sum_{i<j<k} z_i z_j z_k dR_ij dR_ik dR_jk``,
  ``z = pT / sum pT`` (e3 is trace(B^3) / 6 with ``B_ij = sqrt(z_i z_j) dR_ij``).

Jets with fewer than two constituents get NaN. Units: GeV, radians.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import awkward as ak
import numpy as np

from jetpointnet.io.quiet import quiet_stdout
from jetpointnet.jets.clustering import _fastjet, delta_r
from jetpointnet.tagging.large_r import _momentum, kinematics

__all__ = ["d2", "sqrt_d12", "tau21"]


def _kt_sequence(p4: np.ndarray, counts: np.ndarray, radius: float = 1.0):
    fastjet, _ = _fastjet()
    jetdef = fastjet.JetDefinition(fastjet.kt_algorithm, radius)
    with quiet_stdout():
        return fastjet.ClusterSequence(_momentum(p4, counts), jetdef)


def _on_kt_jets(
    p4: np.ndarray,
    offsets: np.ndarray,
    measure: Callable[[np.ndarray, np.ndarray, Any], np.ndarray],
) -> np.ndarray:
    """Per jet: ``measure(jet_p4, counts, seq)`` of the jets with two or more constituents
    (their rows of ``p4``, their counts and their exclusive-kt sequence), NaN elsewhere."""
    counts = np.diff(offsets)
    out = np.full(len(counts), np.nan)
    ok = counts >= 2
    if not ok.any():
        return out
    rows = _rows(offsets, ok)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out[ok] = measure(p4[rows], counts[ok], _kt_sequence(p4[rows], counts[ok]))
    return out


def _rows(offsets: np.ndarray, ok: np.ndarray) -> np.ndarray:
    counts = np.diff(offsets)[ok]
    starts = offsets[:-1][ok]
    new = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.repeat(starts - new, counts) + np.arange(counts.sum())


def sqrt_d12(p4: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per jet (constituent rows ``p4[offsets[i]:offsets[i+1]]``): sqrt(d12) in GeV."""

    def measure(jet_p4: np.ndarray, counts: np.ndarray, seq) -> np.ndarray:
        d12 = np.asarray(ak.to_numpy(seq.exclusive_dmerge(njets=1)), np.float64)
        return np.sqrt(np.maximum(d12, 0.0))

    return _on_kt_jets(p4, offsets, measure)


def tau21(p4: np.ndarray, offsets: np.ndarray, *, r0: float = 1.0) -> np.ndarray:
    """Per jet: tau2 / tau1 with exclusive-kt axes, beta = 1 (NaN below 2 constituents)."""

    def measure(jet_p4: np.ndarray, counts: np.ndarray, seq) -> np.ndarray:
        c = kinematics(jet_p4)
        jet = np.repeat(np.arange(len(counts)), counts)
        taus = []
        for n in (1, 2):
            axes = seq.exclusive_jets(n_jets=n)
            a = np.stack([np.asarray(ak.to_numpy(ak.flatten(axes[k])), np.float64)
                          for k in ("px", "py", "pz", "E")], 1).reshape(-1, n, 4)  # fmt: skip
            ak_ = kinematics(a.reshape(-1, 4))
            aeta = ak_["eta"].reshape(-1, n)[jet]
            aphi = ak_["phi"].reshape(-1, n)[jet]
            dr = delta_r(c["eta"][:, None], c["phi"][:, None], aeta, aphi).min(axis=1)
            num = np.bincount(jet, weights=c["pt"] * dr, minlength=len(counts))
            den = np.bincount(jet, weights=c["pt"] * r0, minlength=len(counts))
            taus.append(num / np.maximum(den, 1e-12))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(taus[0] > 0, taus[1] / taus[0], np.nan)

    return _on_kt_jets(p4, offsets, measure)


def d2(p4: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per jet: D2 (beta = 1) from the constituents' pT and (eta, phi)."""
    out = np.full(len(offsets) - 1, np.nan)
    if not len(p4):  # no constituents: no jet has the two D2 needs
        return out
    c = kinematics(p4)
    for i in range(len(offsets) - 1):
        a, b = offsets[i], offsets[i + 1]
        if b - a < 2:
            continue
        z = c["pt"][a:b] / max(float(c["pt"][a:b].sum()), 1e-12)
        eta, phi = c["eta"][a:b], c["phi"][a:b]
        r = delta_r(eta[:, None], phi[:, None], eta[None, :], phi[None, :])
        sz = np.sqrt(z)
        bmat = sz[:, None] * r * sz[None, :]
        e2 = 0.5 * float(z @ r @ z)
        e3 = float(np.sum((bmat @ bmat) * bmat.T)) / 6.0  # trace(B^3) / 6
        out[i] = e3 / e2**3 if e2 > 0 else np.nan
    return out

"""Anti-kt jets with FastJet (the scikit-hep ``fastjet`` package) and truth matching.

:func:`cluster_jets` runs one FastJet clustering over a whole chunk (FastJet's awkward
interface clusters every event of a jagged array in one call), with the constituents'
four-vectors built by ``vector`` from (pt, eta, phi, mass). :func:`match_jets` pairs
truth and reco jets one to one, closest pair first, within ``max_dr``.
Units: GeV, radians.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.errors import missing_extra
from jetpointnet.io.quiet import quiet_stdout
from jetpointnet.jets.objects import Objects

__all__ = ["Jets", "cluster_jets", "delta_r", "match_jets"]


@dataclass(frozen=True)
class Jets:
    """Jets of a chunk: one row each, sorted by event then decreasing pT (GeV, radians)."""

    event: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    energy: np.ndarray
    n_constituents: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)

    def select(self, keep: np.ndarray) -> Jets:
        return Jets(**{k: getattr(self, k)[keep] for k in self.__dataclass_fields__})


def _fastjet():
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import fastjet
            import vector
    except ImportError as exc:
        raise missing_extra(
            "jets need the 'fastjet' and 'vector' packages", "jets", reason=str(exc)
        ) from None
    return fastjet, vector


def cluster_jets(
    objects: Objects, n_events: int, *, radius: float = 0.4, min_pt: float = 5.0
) -> Jets:
    """Anti-kt jets (E-scheme) of ``objects`` with ``pT > min_pt`` (GeV), per event."""
    fastjet, vector = _fastjet()
    counts = np.bincount(objects.event, minlength=n_events)
    if len(objects) and np.any(np.diff(objects.event) < 0):
        raise ValueError("objects must be sorted by event")
    v = vector.array(
        {"pt": objects.pt, "eta": objects.eta, "phi": objects.phi, "mass": objects.mass}
    )
    parts = ak.unflatten(
        ak.zip({"px": v.px, "py": v.py, "pz": v.pz, "E": v.E}, with_name="Momentum4D"), counts
    )
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    with quiet_stdout():  # FastJet's banner (FastJet is cited in the report)
        seq = fastjet.ClusterSequence(parts, jetdef)
        jets = seq.inclusive_jets(min_pt=min_pt)
        consts = seq.constituents(min_pt=min_pt)
    n_per = np.asarray(ak.to_numpy(ak.num(jets, axis=1)), dtype=np.int64)
    flat = ak.flatten(jets)
    j = vector.array({k: np.asarray(ak.to_numpy(flat[k]), np.float64)
                      for k in ("px", "py", "pz", "E")})  # fmt: skip
    n_const = np.asarray(ak.to_numpy(ak.flatten(ak.num(consts, axis=2))), np.int64)
    event = np.repeat(np.arange(n_events, dtype=np.int64), n_per)
    pt = np.asarray(j.pt, np.float64)
    order = np.lexsort((-pt, event))
    out = {
        "event": event,
        "pt": pt,
        "eta": np.asarray(j.eta, np.float64),
        "phi": np.asarray(j.phi, np.float64),
        "mass": np.asarray(j.tau, np.float64),
        "energy": np.asarray(j.E, np.float64),
        "n_constituents": n_const,
    }
    return Jets(**{k: val[order] for k, val in out.items()})


def delta_r(eta1, phi1, eta2, phi2) -> np.ndarray:
    """Delta-R with Delta-phi wrapped to [-pi, pi]."""
    dphi = np.mod(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def match_jets(truth: Jets, reco: Jets, *, max_dr: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Per truth jet: the row of its reco jet (-1: none) and their Delta-R (NaN: none).

    In each event, all (truth, reco) pairs with Delta-R < ``max_dr`` are taken closest
    first, each jet at most once.
    """
    match = np.full(len(truth), -1, dtype=np.int64)
    dr_out = np.full(len(truth), np.nan)
    if len(truth) == 0 or len(reco) == 0:
        return match, dr_out
    t_idx, r_idx = np.nonzero(truth.event[:, None] == reco.event[None, :])
    if len(t_idx) == 0:
        return match, dr_out
    dr = delta_r(truth.eta[t_idx], truth.phi[t_idx], reco.eta[r_idx], reco.phi[r_idx])
    ok = dr < max_dr
    t_idx, r_idx, dr = t_idx[ok], r_idx[ok], dr[ok]
    used = np.zeros(len(reco), dtype=bool)
    for k in np.argsort(dr, kind="stable"):
        t, r = t_idx[k], r_idx[k]
        if match[t] < 0 and not used[r]:
            match[t], dr_out[t], used[r] = r, dr[k], True
    return match, dr_out

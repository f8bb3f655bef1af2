"""Seed 004's large-R jet selection and W/Z truth labels.

Selection of a reco jet (trimmed anti-kt R = 1.0), in this order (the cut flow):
``eta``: ``|eta| < 2.0``; ``truth_matched``: a truth jet (same definition, on the stable
hard-scatter particles) within ``match_dr`` (one to one, closest first);
``truth_pt``: its pT > 200 GeV; ``constituents``: at least 2 constituents after trimming;
``mass``: trimmed mass > 40 GeV.

W/Z label of a selected jet (from its truth jet): ``boson_dr``: a decayed W or Z (status 2
in the truth record) within Delta-R < 0.75 of the truth jet (the closest one is the jet's
boson); ``ungroomed_mass``: ungroomed truth-jet mass > 50 GeV; ``d12``: truth-jet
``sqrt(d12) > 55.25 GeV x exp(-2.34e-3 pT/GeV)`` (ungroomed constituents, pT of the
truth jet). Seed 004's W label also asks for no ghost-associated b-hadron; W -> cb is
rare (|V_cb|^2 ~ 0.2 %) and is not vetoed here. Units: GeV, radians.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.jets.clustering import delta_r

__all__ = [
    "LABEL_CUTS",
    "SELECTION_CUTS",
    "Bosons",
    "LabelCuts",
    "SelectionCuts",
    "boson_match",
    "d12_threshold",
    "decayed_bosons",
    "label_flow",
    "selection_flow",
]

SELECTION_CUTS = ("eta", "truth_matched", "truth_pt", "constituents", "mass")
LABEL_CUTS = ("boson_dr", "ungroomed_mass", "d12")
_BOSONS = (23, 24)


@dataclass
class SelectionCuts:
    """Jet requirements (seed 004), GeV."""

    max_abs_eta: float = 2.0
    min_truth_pt: float = 200.0
    min_constituents: int = 2
    min_mass: float = 40.0
    match_dr: float = 0.75  # reco - truth jet matching


@dataclass
class LabelCuts:
    """W/Z jet requirements (seed 004), GeV."""

    max_boson_dr: float = 0.75
    min_ungroomed_mass: float = 50.0
    d12_scale: float = 55.25  # GeV
    d12_slope: float = 2.34e-3  # 1/GeV


@dataclass(frozen=True)
class Bosons:
    """Decayed W and Z of a chunk: chunk-local ``event``, ``pdg``, pt, eta, phi."""

    event: np.ndarray
    pdg: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray


def decayed_bosons(events: dict[str, ak.Array]) -> Bosons:
    """The status-2 W and Z entries of the ``truthPart*`` branches (none without them)."""
    need = ("truthPartPdgId", "truthPartStatus", "truthPartPt", "truthPartEta", "truthPartPhi")
    if not all(b in events for b in need):
        z = np.zeros(0)
        return Bosons(np.zeros(0, np.int64), np.zeros(0, np.int64), z, z, z)
    counts = np.asarray(ak.to_numpy(ak.num(events["truthPartPdgId"], axis=1)), np.int64)
    event = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    flat = {b: np.asarray(ak.to_numpy(ak.flatten(events[b]))) for b in need}
    keep = (flat["truthPartStatus"] == 2) & np.isin(np.abs(flat["truthPartPdgId"]), _BOSONS)
    return Bosons(
        event=event[keep], pdg=flat["truthPartPdgId"][keep].astype(np.int64),
        pt=flat["truthPartPt"][keep].astype(np.float64),
        eta=flat["truthPartEta"][keep].astype(np.float64),
        phi=flat["truthPartPhi"][keep].astype(np.float64),
    )  # fmt: skip


def d12_threshold(pt: np.ndarray, cuts: LabelCuts | None = None) -> np.ndarray:
    """The sqrt(d12) a W/Z jet of truth pT ``pt`` (GeV) must exceed, in GeV."""
    c = cuts or LabelCuts()
    return c.d12_scale * np.exp(-c.d12_slope * np.asarray(pt, np.float64))


def selection_flow(
    *, eta: np.ndarray, matched: np.ndarray, truth_pt: np.ndarray,
    n_constituents: np.ndarray, mass: np.ndarray, cuts: SelectionCuts | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Cumulative pass masks of :data:`SELECTION_CUTS` per reco jet (``truth_pt`` NaN
    where unmatched); the last one is the selection."""
    c = cuts or SelectionCuts()
    steps = (
        np.abs(eta) < c.max_abs_eta,
        np.asarray(matched, bool),
        np.nan_to_num(truth_pt, nan=-1.0) > c.min_truth_pt,
        n_constituents >= c.min_constituents,
        mass > c.min_mass,
    )
    out, ok = {}, np.ones(len(eta), bool)
    for name, step in zip(SELECTION_CUTS, steps, strict=True):
        ok = ok & step
        out[name] = ok
    return out


def boson_match(
    event: np.ndarray, eta: np.ndarray, phi: np.ndarray, bosons: Bosons
) -> tuple[np.ndarray, np.ndarray]:
    """Per jet: the closest boson of its event (row into ``bosons``, -1: none) and dR."""
    row = np.full(len(event), -1, np.int64)
    dr_out = np.full(len(event), np.inf)
    for k in range(len(bosons.event)):
        same = event == bosons.event[k]
        dr = np.where(same, delta_r(eta, phi, bosons.eta[k], bosons.phi[k]), np.inf)
        better = dr < dr_out
        row[better], dr_out[better] = k, dr[better]
    return row, dr_out


def label_flow(
    *, boson_dr: np.ndarray, ungroomed_mass: np.ndarray, sqrt_d12: np.ndarray,
    truth_pt: np.ndarray, cuts: LabelCuts | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Cumulative pass masks of :data:`LABEL_CUTS` per (truth-matched) jet; the last one
    is the W/Z label."""
    c = cuts or LabelCuts()
    steps = (
        np.asarray(boson_dr) < c.max_boson_dr,
        np.nan_to_num(ungroomed_mass, nan=-1.0) > c.min_ungroomed_mass,
        np.nan_to_num(sqrt_d12, nan=-1.0) > d12_threshold(truth_pt, c),
    )
    out, ok = {}, np.ones(len(boson_dr), bool)
    for name, step in zip(LABEL_CUTS, steps, strict=True):
        ok = ok & step
        out[name] = ok
    return out

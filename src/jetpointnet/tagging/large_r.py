"""Large-R jets: anti-kt R = 1.0 with FastJet, trimmed, with their constituents kept.

Trimming (ATLAS's large-R recipe, seed 004): the constituents of each anti-kt jet are
re-clustered with kt, ``R_sub = 0.2``; subjets with ``pT < f_cut x pT(ungroomed jet)``
(``f_cut = 5 %``) are removed; the trimmed jet is the four-vector sum of the constituents
of the remaining subjets. Every event of a chunk and every jet of the chunk is clustered in
one FastJet call each (FastJet's awkward interface treats each jet as an "event" for the
re-clustering). Units: GeV, radians.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.io.quiet import quiet_stdout
from jetpointnet.jets.clustering import Jets, _fastjet
from jetpointnet.jets.objects import Objects

__all__ = ["LargeRJets", "cluster_large_r", "four_momenta", "kinematics"]


def four_momenta(objects: Objects) -> np.ndarray:
    """``(n, 4)`` float64 (px, py, pz, E) in GeV of ``objects``."""
    pt, eta, phi, m = objects.pt, objects.eta, objects.phi, objects.mass
    pz = pt * np.sinh(eta)
    e = np.sqrt(pt**2 + pz**2 + m**2)
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pz, e], axis=1)


def kinematics(p4: np.ndarray) -> dict[str, np.ndarray]:
    """pt, eta, phi, mass (GeV, radians; mass 0 when m^2 < 0) of ``(n, 4)`` four-vectors."""
    px, py, pz, e = (p4[:, k] for k in range(4))
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), np.sign(pz) * 10.0)
    m2 = e**2 - px**2 - py**2 - pz**2
    return {"pt": pt, "eta": eta, "phi": np.arctan2(py, px), "mass": np.sqrt(np.maximum(m2, 0))}


@dataclass(frozen=True)
class LargeRJets:
    """Jets of a chunk, sorted by event then decreasing trimmed pT.

    ``pt, eta, phi, mass, energy``: the trimmed jet; ``ungroomed_pt`` / ``ungroomed_mass``:
    before trimming. Constituents: jet ``i`` holds rows ``index[offsets[i]:offsets[i+1]]``
    of the clustered :class:`Objects` after trimming, ``all_index[all_offsets[i]:...]``
    before; both pT-ordered (hardest first).
    """

    event: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    energy: np.ndarray
    ungroomed_pt: np.ndarray
    ungroomed_mass: np.ndarray
    offsets: np.ndarray
    index: np.ndarray
    all_offsets: np.ndarray
    all_index: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)

    @property
    def n_constituents(self) -> np.ndarray:
        return np.diff(self.offsets).astype(np.int32)

    def constituents(self, i: int, *, trimmed: bool = True) -> np.ndarray:
        o, idx = (self.offsets, self.index) if trimmed else (self.all_offsets, self.all_index)
        return idx[o[i] : o[i + 1]]

    def trimmed_jets(self) -> Jets:
        """The trimmed jets as :class:`~jetpointnet.jets.clustering.Jets` (for matching)."""
        return Jets(event=self.event, pt=self.pt, eta=self.eta, phi=self.phi, mass=self.mass,
                    energy=self.energy, n_constituents=self.n_constituents)  # fmt: skip


def _momentum(p4: np.ndarray, counts: np.ndarray) -> ak.Array:
    return ak.unflatten(
        ak.zip({k: p4[:, i] for i, k in enumerate(("px", "py", "pz", "E"))},
               with_name="Momentum4D"),
        counts,
    )  # fmt: skip


def _cluster_index(p4: np.ndarray, counts: np.ndarray, algorithm: str, radius: float,
                   min_pt: float) -> tuple[np.ndarray, ak.Array]:  # fmt: skip
    """Per group of ``counts`` rows: inclusive jets (flat count per group) and the indices
    of each jet's constituents within its group (jagged: group x jet x constituent)."""
    fastjet, _ = _fastjet()
    jetdef = fastjet.JetDefinition(getattr(fastjet, f"{algorithm}_algorithm"), radius)
    with quiet_stdout(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        seq = fastjet.ClusterSequence(_momentum(p4, counts), jetdef)
        index = seq.constituent_index(min_pt=min_pt)
    return np.asarray(ak.to_numpy(ak.num(index, axis=1)), np.int64), index


def _ragged(groups: ak.Array, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, flat rows) of the jets of jagged ``groups`` (group x jet x local index),
    local indices shifted by each group's first row ``base``."""
    per_jet = np.asarray(ak.to_numpy(ak.flatten(ak.num(groups, axis=2))), np.int64)
    n_jets = np.asarray(ak.to_numpy(ak.num(groups, axis=1)), np.int64)
    local = np.asarray(ak.to_numpy(ak.flatten(groups, axis=None)), np.int64)
    shift = np.repeat(np.repeat(base, n_jets), per_jet)
    offsets = np.zeros(len(per_jet) + 1, np.int64)
    np.cumsum(per_jet, out=offsets[1:])
    return offsets, local + shift


def _sum_rows(p4: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    n = len(offsets) - 1
    jet = np.repeat(np.arange(n), np.diff(offsets))
    return np.stack([np.bincount(jet, weights=p4[rows, k], minlength=n) for k in range(4)], 1)


def _pt_order(p4: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` reordered by decreasing pT inside each jet."""
    jet = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pt = np.hypot(p4[rows, 0], p4[rows, 1])
    return rows[np.lexsort((-pt, jet))]


def cluster_large_r(
    objects: Objects, n_events: int, *, radius: float = 1.0, min_pt: float = 100.0,
    trim_radius: float = 0.2, f_cut: float = 0.05,
) -> LargeRJets:  # fmt: skip
    """Anti-kt ``radius`` jets of ``objects`` (sorted by event) with ungroomed
    ``pT > min_pt`` (GeV), trimmed with kt ``trim_radius`` subjets and ``f_cut``."""
    if len(objects) and np.any(np.diff(objects.event) < 0):
        raise ValueError("objects must be sorted by event")
    p4 = four_momenta(objects)
    counts = np.bincount(objects.event, minlength=n_events).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_jets, groups = _cluster_index(p4, counts, "antikt", radius, min_pt)
    all_off, all_rows = _ragged(groups, first)
    event = np.repeat(np.arange(n_events, dtype=np.int64), n_jets)
    ungroomed = _sum_rows(p4, all_off, all_rows)
    u_pt = np.hypot(ungroomed[:, 0], ungroomed[:, 1])
    # trimming: kt subjets of each jet's constituents, keep those above f_cut x pT(jet)
    per_jet = np.diff(all_off)
    if len(per_jet) == 0:
        z, zi = np.zeros(0), np.zeros(0, np.int64)
        return LargeRJets(event=zi, pt=z, eta=z, phi=z, mass=z, energy=z, ungroomed_pt=z,
                          ungroomed_mass=z, offsets=np.zeros(1, np.int64), index=zi,
                          all_offsets=np.zeros(1, np.int64), all_index=zi)  # fmt: skip
    _, sub = _cluster_index(p4[all_rows], per_jet, "kt", trim_radius, 0.0)
    sub_off, sub_rows = _ragged(sub, all_off[:-1])  # positions in all_rows
    sub_p4 = _sum_rows(p4[all_rows], sub_off, sub_rows)
    n_sub = np.asarray(ak.to_numpy(ak.num(sub, axis=1)), np.int64)
    sub_jet = np.repeat(np.arange(len(per_jet)), n_sub)
    keep_sub = np.hypot(sub_p4[:, 0], sub_p4[:, 1]) >= f_cut * u_pt[sub_jet]
    keep_pos = np.repeat(keep_sub, np.diff(sub_off))
    pos = sub_rows[keep_pos]
    pos_jet = np.repeat(sub_jet, np.diff(sub_off))[keep_pos]
    pos = pos[np.argsort(pos_jet, kind="stable")]
    trim_counts = np.bincount(pos_jet, minlength=len(per_jet))
    trim_off = np.zeros(len(per_jet) + 1, np.int64)
    np.cumsum(trim_counts, out=trim_off[1:])
    trim_rows = all_rows[pos]
    trimmed = _sum_rows(p4, trim_off, trim_rows)
    kin = kinematics(trimmed)
    order = np.lexsort((-kin["pt"], event))
    all_rows = _pt_order(p4, all_off, all_rows)
    trim_rows = _pt_order(p4, trim_off, trim_rows)
    new_all_off, new_all = _reorder(all_off, all_rows, order)
    new_trim_off, new_trim = _reorder(trim_off, trim_rows, order)
    return LargeRJets(
        event=event[order], pt=kin["pt"][order], eta=kin["eta"][order], phi=kin["phi"][order],
        mass=kin["mass"][order], energy=trimmed[order, 3], ungroomed_pt=u_pt[order],
        ungroomed_mass=kinematics(ungroomed)["mass"][order],
        offsets=new_trim_off, index=new_trim, all_offsets=new_all_off, all_index=new_all,
    )  # fmt: skip


def _reorder(offsets: np.ndarray, rows: np.ndarray, order: np.ndarray):
    counts = np.diff(offsets)[order]
    new_off = np.zeros(len(order) + 1, np.int64)
    np.cumsum(counts, out=new_off[1:])
    starts = offsets[:-1][order]
    flat = np.repeat(starts - new_off[:-1], counts) + np.arange(new_off[-1])
    return new_off, rows[flat]

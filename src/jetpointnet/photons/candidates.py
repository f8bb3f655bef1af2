"""Photon candidates: topo-clusters, or the leading topo-cluster of anti-kt R = 0.4 jets.

* ``cluster``: every topo-cluster with ``cluster_E > min_cluster_e``; the object is that
  cluster;
* ``jet-leading-cluster``: anti-kt jets (FastJet, R = ``jet_radius``, pT > ``jet_min_pt``)
  of the topo-clusters with E > 0 (massless, EM scale), as
  :func:`jetpointnet.tagging.large_r.cluster_large_r` builds them with their constituents
  (no trimming); a candidate when its highest-energy cluster is above ``min_cluster_e``;
  the object is the jet's clusters.

An object's clusters below ``cluster_min_e`` (400 MeV) are dropped (its leading cluster is
always kept); a leading cluster must have written cells of positive total energy. Candidates are matched to the truth photons one to one, closest first,
within Delta-R < ``match_dr`` between the leading cluster (``cluster_Eta/Phi``) and the
photon's impact point (:func:`jetpointnet.jets.clustering.match_jets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.geometry import CellTable
from jetpointnet.jets.clustering import Jets, match_jets
from jetpointnet.jets.objects import Objects
from jetpointnet.photons.truth import TruthPhotons
from jetpointnet.tagging.large_r import cluster_large_r

__all__ = ["CLUSTER_BRANCHES", "Candidates", "ClusterCells", "cluster_cells", "find_candidates",
           "match_photons"]  # fmt: skip

CLUSTER_BRANCHES = ("cluster_E", "cluster_Eta", "cluster_Phi", "cluster_cell_ID", "cluster_cell_E")


@dataclass(frozen=True)
class ClusterCells:
    """The topo-clusters of a chunk (``event``, ``e`` GeV, ``eta``, ``phi``) and their cells:
    cluster k's shares are rows ``offsets[k]:offsets[k+1]`` of ``cell_id``, ``cell_e``
    (GeV, the cell's energy in that cluster) and ``cell_geo`` (row of the CellTable). Cells
    missing from the geometry and non-finite energies are left out."""

    event: np.ndarray
    e: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    offsets: np.ndarray
    cell_id: np.ndarray
    cell_e: np.ndarray
    cell_geo: np.ndarray


def cluster_cells(events: dict[str, ak.Array], table: CellTable) -> ClusterCells:
    """:class:`ClusterCells` of a chunk read with :data:`CLUSTER_BRANCHES`."""
    flat = lambda name, dt: np.asarray(ak.to_numpy(ak.flatten(events[name], axis=None)), dt)
    per_event = np.asarray(ak.to_numpy(ak.num(events["cluster_E"], axis=1)), np.int64)
    per_cluster = np.asarray(ak.to_numpy(ak.flatten(ak.num(events["cluster_cell_ID"], axis=2))),
                             np.int64)  # fmt: skip
    ids = flat("cluster_cell_ID", np.uint64)
    e = flat("cluster_cell_E", np.float64)
    geo, found = table.lookup(ids)
    keep = found & np.isfinite(e)
    owner = np.repeat(np.arange(len(per_cluster)), per_cluster)[keep]
    offsets = np.searchsorted(owner, np.arange(len(per_cluster) + 1))
    return ClusterCells(
        event=np.repeat(np.arange(len(per_event), dtype=np.int64), per_event),
        e=flat("cluster_E", np.float64), eta=flat("cluster_Eta", np.float64),
        phi=flat("cluster_Phi", np.float64), offsets=offsets, cell_id=ids[keep],
        cell_e=e[keep], cell_geo=np.asarray(geo, np.int64)[keep],
    )  # fmt: skip


@dataclass(frozen=True)
class Candidates:
    """Photon candidates of a chunk, sorted by event then decreasing leading-cluster E:
    ``lead`` (their highest-energy cluster's row) and their clusters, object i holding
    rows ``clusters[offsets[i]:offsets[i+1]]`` (leading first)."""

    event: np.ndarray
    lead: np.ndarray
    offsets: np.ndarray
    clusters: np.ndarray

    def __len__(self) -> int:
        return len(self.lead)

    def select(self, keep: np.ndarray) -> Candidates:
        """The candidates where ``keep`` (bool per candidate), in the same order."""
        rows = np.flatnonzero(keep)
        sizes = np.diff(self.offsets)[rows]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat = [self.clusters[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        return Candidates(event=self.event[rows], lead=self.lead[rows], offsets=offsets,
                          clusters=np.concatenate(flat) if flat else np.zeros(0, np.int64))  # fmt: skip


def _jet_members(cc: ClusterCells, n_events: int, radius: float, min_pt: float) -> list[np.ndarray]:
    rows = np.flatnonzero(cc.e > 0)
    eta = cc.eta[rows]
    objs = Objects.make(cc.event[rows], cc.e[rows] / np.cosh(eta), eta, cc.phi[rows], 0.0, False)
    jets = cluster_large_r(objs, n_events, radius=radius, min_pt=min_pt,
                           trim_radius=radius / 4, f_cut=0.0)  # fmt: skip
    return [rows[jets.constituents(i, trimmed=False)] for i in range(len(jets))]


def find_candidates(cc: ClusterCells, n_events: int, *, object_rule: str, min_cluster_e: float,
                    cluster_min_e: float, jet_radius: float = 0.4,
                    jet_min_pt: float = 5.0) -> Candidates:  # fmt: skip
    """The candidates of a chunk by ``object_rule`` (module rules; GeV)."""
    if object_rule == "cluster":
        groups = [np.array([k]) for k in np.flatnonzero(cc.e > min_cluster_e)]
    else:
        groups = _jet_members(cc, n_events, jet_radius, jet_min_pt)
    owner = np.repeat(np.arange(len(cc.e)), np.diff(cc.offsets))
    written = np.bincount(owner, weights=cc.cell_e, minlength=len(cc.e))
    members, leads = [], []
    for g in groups:
        g = g[np.argsort(-cc.e[g], kind="stable")]
        if len(g) and cc.e[g[0]] > min_cluster_e and written[g[0]] > 0:
            leads.append(g[0])
            members.append(np.r_[g[0], g[1:][cc.e[g[1:]] >= cluster_min_e]])
    lead = np.asarray(leads, np.int64)
    order = np.lexsort((-cc.e[lead], cc.event[lead])) if len(lead) else np.zeros(0, np.int64)
    members = [members[i] for i in order]
    offsets = np.zeros(len(members) + 1, np.int64)
    np.cumsum([len(m) for m in members], out=offsets[1:])
    flat = np.concatenate(members) if members else np.zeros(0, np.int64)
    return Candidates(event=cc.event[lead[order]], lead=lead[order], offsets=offsets,
                      clusters=flat.astype(np.int64))  # fmt: skip


def _as_jets(event: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> Jets:
    z = np.zeros(len(event))
    return Jets(event=np.asarray(event, np.int64), pt=z, eta=np.asarray(eta, np.float64),
                phi=np.asarray(phi, np.float64), mass=z, energy=z,
                n_constituents=np.zeros(len(event), np.int64))  # fmt: skip


def match_photons(cands: Candidates, cc: ClusterCells, truth: TruthPhotons, *,
                  max_dr: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per candidate: its truth photon's row (-1: none) and their Delta-R (NaN: none)."""
    t = _as_jets(truth.event, truth.eta, truth.phi)
    c = _as_jets(cands.event, cc.eta[cands.lead], cc.phi[cands.lead])
    t_to_c, dr = match_jets(t, c, max_dr=max_dr)
    row = np.full(len(cands), -1, np.int64)
    out_dr = np.full(len(cands), np.nan)
    hit = t_to_c >= 0
    row[t_to_c[hit]] = np.flatnonzero(hit)
    out_dr[t_to_c[hit]] = dr[hit]
    return row, out_dr

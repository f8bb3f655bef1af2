"""Whole events for jet building: cells, clusters, tracks and truth particles of a chunk.

Everything is flattened to numpy, one row per cell / cluster / track / truth particle with
its chunk-local event number, using the same readers as ``preprocess``
(:func:`~jetpointnet.data.cells.flat_cells`, :func:`~jetpointnet.data.tracks.flat_tracks`),
so a cell here is the same object as a cell of a sample: one row per (event, cell ID),
its energy summed over the clusters that share it, assigned to the cluster holding its
largest share. Units: GeV, radians, mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.cells import Cells, flat_cells
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED
from jetpointnet.data.tracks import Tracks, flat_tracks, flat_truth
from jetpointnet.io.mltree_layout import PILEUP_BARCODE_STRIDE

__all__ = [
    "CLUSTER_BRANCHES",
    "JET_BRANCHES_OPTIONAL",
    "JET_BRANCHES_REQUIRED",
    "NEUTRINOS",
    "TRUTH_JET_BRANCHES",
    "JetEvents",
    "TruthParticles",
    "cell_rows",
    "jet_events",
]

CLUSTER_BRANCHES = ("cluster_E", "cluster_Eta", "cluster_Phi")
#: Truth particles as jet constituents (the hard-scatter stable particles).
TRUTH_JET_BRANCHES = ("truthPartPt", "truthPartEta", "truthPartPhi", "truthPartMass",
                      "truthPartPdgId", "truthPartStatus")  # fmt: skip
JET_BRANCHES_REQUIRED = (*EVENT_BRANCHES_REQUIRED, *CLUSTER_BRANCHES)
JET_BRANCHES_OPTIONAL = tuple(
    dict.fromkeys(
        (
            *EVENT_BRANCHES_OPTIONAL,
            *TRUTH_JET_BRANCHES,
            "truthPartBarcode",
            "trackZ0",
            "averageInteractionsPerCrossing",
        )
    )
)
#: |PDG ID| of neutrinos: invisible, never jet constituents.
NEUTRINOS = (12, 14, 16)


def _flat(arr: ak.Array, dtype: type) -> np.ndarray:
    return np.asarray(ak.to_numpy(ak.flatten(arr, axis=None)), dtype=dtype)


def _event_of(arr: ak.Array) -> np.ndarray:
    counts = np.asarray(ak.to_numpy(ak.num(arr, axis=1)), dtype=np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


@dataclass(frozen=True)
class TruthParticles:
    """Stable hard-scatter truth particles, neutrinos excluded (GeV, radians)."""

    event: np.ndarray  # int64 chunk-local event
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)


@dataclass(frozen=True)
class JetEvents:
    """The content of a chunk of events that jet building needs.

    ``cells``: one row per (event, cell), sorted by event then cell ID; ``cell_eta`` /
    ``cell_phi`` / ``cell_x|y|z`` their geometry. ``cluster_*``: the file's topo-clusters
    (EM scale); ``cluster_unwritten`` is the part of each ``cluster_E`` in cells the file
    does not list (MLTree writes only cells above 5 MeV: the negative and small noise
    cells of a cluster), so that written cells plus it add up to ``cluster_E``. ``truth`` is None when the file has no truth particles. ``track_z0``:
    mm, None without the branch. ``mu``: ``averageInteractionsPerCrossing`` per event
    (NaN without the branch).
    """

    n_events: int
    entry: np.ndarray  # int64 file entries
    event_number: np.ndarray  # int64
    mu: np.ndarray  # float32
    cells: Cells
    cell_eta: np.ndarray  # float64
    cell_phi: np.ndarray
    cell_xyz: np.ndarray  # (C, 3) float64 mm
    cell_deta: np.ndarray
    cell_dphi: np.ndarray
    cell_volume: np.ndarray
    cell_sampling: np.ndarray  # int64 CaloSampling
    cluster_event: np.ndarray
    cluster_e: np.ndarray
    cluster_eta: np.ndarray
    cluster_phi: np.ndarray
    cluster_unwritten: np.ndarray  # cluster_E minus its written cells' shares (GeV)
    tracks: Tracks
    track_z0: np.ndarray | None
    truth: TruthParticles | None
    table_size: int

    def track_offsets(self) -> np.ndarray:
        """``(E + 1,)``: event e's tracks are rows ``[o[e], o[e + 1])``."""
        return np.searchsorted(self.tracks.event, np.arange(self.n_events + 1))

    def cell_offsets(self) -> np.ndarray:
        """``(E + 1,)``: event e's cells are rows ``[o[e], o[e + 1])``."""
        return np.searchsorted(self.cells.event, np.arange(self.n_events + 1))


def _truth(events: dict[str, ak.Array]) -> TruthParticles | None:
    if not all(b in events for b in TRUTH_JET_BRANCHES):
        return None
    pdg = _flat(events["truthPartPdgId"], np.int64)
    keep = _flat(events["truthPartStatus"], np.int64) == 1
    keep &= ~np.isin(np.abs(pdg), NEUTRINOS)
    if "truthPartBarcode" in events:
        keep &= _flat(events["truthPartBarcode"], np.int64) < PILEUP_BARCODE_STRIDE
    ev = _event_of(events["truthPartPt"])
    cols = {k: _flat(events[f"truthPart{k.title()}"], np.float64)[keep]
            for k in ("pt", "eta", "phi", "mass")}  # fmt: skip
    return TruthParticles(event=ev[keep], **cols)


def jet_events(
    events: dict[str, ak.Array], table: CellTable, *, entry_start: int, source: str = ""
) -> JetEvents:
    """Flatten one chunk read with :data:`JET_BRANCHES_REQUIRED` (+ optional ones)."""
    truth_rows = flat_truth(events)
    tracks = flat_tracks(events, truth_rows)
    cells, _ = flat_cells(events, table, truth_rows, source=source)
    n = len(events["eventNumber"])
    g = cells.geo
    mu = events.get("averageInteractionsPerCrossing")
    return JetEvents(
        n_events=n,
        entry=entry_start + np.arange(n, dtype=np.int64),
        event_number=np.asarray(ak.to_numpy(events["eventNumber"]), np.int64),
        mu=np.asarray(ak.to_numpy(mu), np.float32) if mu is not None else np.full(n, np.nan),
        cells=cells,
        cell_eta=table.eta[g].astype(np.float64),
        cell_phi=table.phi[g].astype(np.float64),
        cell_xyz=np.stack([table.x[g], table.y[g], table.z[g]], axis=1).astype(np.float64),
        cell_deta=table.deta[g].astype(np.float64),
        cell_dphi=table.dphi[g].astype(np.float64),
        cell_volume=table.volume[g].astype(np.float64),
        cell_sampling=table.layer[g].astype(np.int64),
        cluster_event=_event_of(events["cluster_E"]),
        cluster_e=_flat(events["cluster_E"], np.float64),
        cluster_eta=_flat(events["cluster_Eta"], np.float64),
        cluster_phi=_flat(events["cluster_Phi"], np.float64),
        cluster_unwritten=_flat(events["cluster_E"], np.float64)
        - _flat(ak.sum(events["cluster_cell_E"], axis=-1), np.float64),
        tracks=tracks,
        track_z0=_flat(events["trackZ0"], np.float64) if "trackZ0" in events else None,
        truth=_truth(events),
        table_size=len(table),
    )


def cell_rows(ev: JetEvents, table: CellTable, event: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row in ``ev.cells`` of each (chunk-local event, cell ID); -1 where there is none."""
    geo, found = table.lookup(np.asarray(ids, np.uint64))
    key = np.asarray(event, np.int64) * ev.table_size + geo
    have = ev.cells.event * ev.table_size + ev.cells.geo
    if len(have) == 0:
        return np.full(len(key), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(have, key), len(have) - 1)
    return np.where(found & (have[pos] == key), pos, -1)

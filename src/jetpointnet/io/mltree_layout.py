"""The MLTree file layout: tree names, branch names and types, samplings, sentinels.

Read from the ATLAS MLTree Athena package (MLTreeMaker.cxx, CellGeometryTreeMaker.cxx) and
from the JetPointNet code that consumed its files; see ``shared/MLTREE.md``. The simulator
writes exactly this layout and the reader accepts it, so both import these names.

Units: GeV, mm, radians (phi in (-pi, pi]).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CELL_GEO_BRANCHES",
    "CELL_GEO_TREE",
    "EVENT_BRANCHES",
    "EVENT_TREE",
    "EVENT_TRUTH_BRANCHES",
    "MISSING",
    "MISSING_THRESHOLD",
    "SAMPLING",
    "SAMPLING_NAME",
    "TRACK_LAYERS",
    "TRACK_SURFACES",
    "track_layer_branches",
]

EVENT_TREE = "EventTree"
CELL_GEO_TREE = "CellGeo"

#: eta/phi written for a layer that a track does not reach.
MISSING = -999999999.0
#: anything below this is "missing" when reading (real files vary slightly).
MISSING_THRESHOLD = -100000.0
#: Truth particles of pile-up vertex k (k = 1, 2, ...) have barcodes
#: ``k * PILEUP_BARCODE_STRIDE + i``; hard-scatter barcodes are below the stride. Files
#: whose truth holds only the hard scatter (the usual MLTree) satisfy this trivially.
PILEUP_BARCODE_STRIDE = 1_000_000

#: CaloSampling numbers (athena CaloSampling.def).
SAMPLING: dict[str, int] = {
    "PreSamplerB": 0,
    "EMB1": 1,
    "EMB2": 2,
    "EMB3": 3,
    "PreSamplerE": 4,
    "EME1": 5,
    "EME2": 6,
    "EME3": 7,
    "HEC0": 8,
    "HEC1": 9,
    "HEC2": 10,
    "HEC3": 11,
    "TileBar0": 12,
    "TileBar1": 13,
    "TileBar2": 14,
    "TileGap1": 15,
    "TileGap2": 16,
    "TileGap3": 17,
    "TileExt0": 18,
    "TileExt1": 19,
    "TileExt2": 20,
    "FCAL0": 21,
    "FCAL1": 22,
    "FCAL2": 23,
}
SAMPLING_NAME: dict[int, str] = {v: k for k, v in SAMPLING.items()}

#: Layers with per-track extrapolated positions (trackEta_<L>, trackPhi_<L>), MLTree order.
TRACK_LAYERS: tuple[str, ...] = (
    "PreSamplerB",
    "PreSamplerE",
    "EMB1",
    "EMB2",
    "EMB3",
    "EME1",
    "EME2",
    "EME3",
    "HEC0",
    "HEC1",
    "HEC2",
    "HEC3",
    "TileBar0",
    "TileBar1",
    "TileBar2",
    "TileGap1",
    "TileGap2",
    "TileGap3",
    "TileExt0",
    "TileExt1",
    "TileExt2",
)

#: Track-intersection surfaces (JetPointNet's track_metadata): ("r", R) for a barrel layer
#: at fixed transverse radius, ("z", Z) for an end-cap layer at fixed |z| (z = sign(eta) Z).
#: The presamplers are not in JetPointNet's list; their values are our layer centres.
TRACK_SURFACES: dict[str, tuple[str, float]] = {
    "PreSamplerB": ("r", 1428.5),
    "EMB1": ("r", 1532.18),
    "EMB2": ("r", 1723.89),
    "EMB3": ("r", 1923.02),
    "TileBar0": ("r", 2450.00),
    "TileBar1": ("r", 2995.00),
    "TileBar2": ("r", 3630.00),
    "TileGap1": ("r", 3215.00),
    "TileGap2": ("r", 3630.00),
    "TileGap3": ("r", 2246.50),
    "TileExt0": ("r", 2450.00),
    "TileExt1": ("r", 2870.00),
    "TileExt2": ("r", 3480.00),
    "PreSamplerE": ("z", 3640.0),
    "EME1": ("z", 3790.03),
    "EME2": ("z", 3983.68),
    "EME3": ("z", 4195.84),
    "HEC0": ("z", 4461.25),
    "HEC1": ("z", 4869.50),
    "HEC2": ("z", 5424.50),
    "HEC3": ("z", 5905.00),
}


def track_layer_branches() -> list[str]:
    """``trackEta_<L>``, ``trackPhi_<L>`` for every layer of :data:`TRACK_LAYERS`."""
    out = []
    for layer in TRACK_LAYERS:
        out += [f"trackEta_{layer}", f"trackPhi_{layer}"]
    return out


#: EventTree branches written by the simulator: name -> (numpy dtype, nesting depth).
#: depth 0: one value per event; 1: a vector per event; 2: vector<vector<T>> (clusters x
#: cells); 3: vector<vector<vector<T>>> (clusters x cells x truth contributors).
EVENT_BRANCHES: dict[str, tuple[type, int]] = {
    "runNumber": (np.int32, 0),
    "eventNumber": (np.int64, 0),
    "lumiBlock": (np.int32, 0),
    "mcEventNumber": (np.int32, 0),
    "mcChannelNumber": (np.int32, 0),
    "mcEventWeight": (np.float32, 0),
    "actualInteractionsPerCrossing": (np.float32, 0),
    "averageInteractionsPerCrossing": (np.float32, 0),
    "NPV": (np.int32, 0),
    "nTruthPart": (np.int32, 0),
    "truthPartBarcode": (np.int32, 1),
    "truthPartPdgId": (np.int32, 1),
    "truthPartStatus": (np.int32, 1),
    "truthPartPt": (np.float32, 1),
    "truthPartE": (np.float32, 1),
    "truthPartMass": (np.float32, 1),
    "truthPartEta": (np.float32, 1),
    "truthPartPhi": (np.float32, 1),
    "truthVertexX": (np.float32, 1),
    "truthVertexY": (np.float32, 1),
    "truthVertexZ": (np.float32, 1),
    "nTrack": (np.int32, 0),
    "trackPt": (np.float32, 1),
    "trackP": (np.float32, 1),
    "trackMass": (np.float32, 1),
    "trackEta": (np.float32, 1),
    "trackPhi": (np.float32, 1),
    "trackTruthParticleIndex": (np.int32, 1),
    "trackChiSquared": (np.float32, 1),
    "trackNumberDOF": (np.int32, 1),
    "trackD0": (np.float32, 1),
    "trackZ0": (np.float32, 1),
    "trackNumberOfPixelHits": (np.int32, 1),
    "trackNumberOfSCTHits": (np.int32, 1),
    "trackVisibleCalHitCaloEnergy": (np.float32, 1),
    "trackFullCalHitCaloEnergy": (np.float32, 1),
    "trackSubtractedCaloEnergy": (np.float32, 1),
    **{name: (np.float32, 1) for name in track_layer_branches()},
    "nCluster": (np.int32, 0),
    "cluster_E": (np.float32, 1),
    "cluster_E_LCCalib": (np.float32, 1),
    "cluster_Pt": (np.float32, 1),
    "cluster_Eta": (np.float32, 1),
    "cluster_Phi": (np.float32, 1),
    "cluster_nCells": (np.int32, 1),
    "cluster_ENG_CALIB_TOT": (np.float32, 1),
    "cluster_EM_PROBABILITY": (np.float32, 1),
    "cluster_CENTER_LAMBDA": (np.float32, 1),
    "cluster_cell_ID": (np.uint64, 2),
    "cluster_cell_E": (np.float32, 2),
    "cluster_cell_hitsTruthIndex": (np.int32, 3),
    "cluster_cell_hitsTruthE": (np.float32, 3),
}

#: Optional event-level truth (beyond the MLTree layout; written by ``jetpointnet simulate``
#: unless ``--no-event-truth``, absent from real files; readers fall back to
#: ``cluster_cell_hitsTruthIndex/E``), same conventions as :data:`EVENT_BRANCHES`:
#:
#: - ``cluster_cell_hitsTruthEVis``: per cell and contributor, next to
#:   ``cluster_cell_hitsTruthE`` (true, calibration-hit energy), the contributor's visible
#:   (EM-scale, before noise) energy in the cell (GeV);
#: - ``truthPartCaloETrue`` / ``truthPartCaloEVis``: per truth particle, its true and visible
#:   energy summed over every calorimeter cell (clustered or not; GeV);
#: - ``truthPartParentBarcode``: the barcode (same numbering as ``truthPartBarcode``) of the
#:   particle's generator mother, -1 when it has none or it is unknown (pile-up); particles
#:   with the same value are siblings (pi0 -> gamma gamma). The mother itself is not in the
#:   record (only final-state particles are), hence a barcode and not an index;
#: - ``truthPartParentPdgId``: the mother's PDG id (0 when unknown).
EVENT_TRUTH_BRANCHES: dict[str, tuple[type, int]] = {
    "truthPartParentBarcode": (np.int32, 1),
    "truthPartParentPdgId": (np.int32, 1),
    "truthPartCaloETrue": (np.float32, 1),
    "truthPartCaloEVis": (np.float32, 1),
    "cluster_cell_hitsTruthEVis": (np.float32, 3),
}

#: CellGeo branches: one entry whose branches are per-cell vectors.
CELL_GEO_BRANCHES: dict[str, type] = {
    "cell_geo_ID": np.uint64,
    "cell_geo_sampling": np.uint16,
    "cell_geo_eta": np.float32,
    "cell_geo_phi": np.float32,
    "cell_geo_rPerp": np.float32,
    "cell_geo_deta": np.float32,
    "cell_geo_dphi": np.float32,
    "cell_geo_volume": np.float32,
    "cell_geo_sigma": np.float32,
    "cell_geo_prevInPhi": np.int32,
    "cell_geo_nextInPhi": np.int32,
    "cell_geo_prevInEta": np.int32,
    "cell_geo_nextInEta": np.int32,
    "cell_geo_prevInSamp": np.int32,
    "cell_geo_nextInSamp": np.int32,
}

"""The particle-flow algorithm's inputs, outputs and parameters for one event (plain numpy).

- :class:`EventCells`: every cell of the event once (GeV, radians, mm^3);
- :class:`EventTracks`: the tracks with their extrapolations to every layer;
- :class:`EventResult`: per track, the energy it subtracted from every cell and what the
  algorithm did with it (:class:`TrackStatus`);
- :class:`PflowParams`: the parameters, with eflowRec's defaults (``../shared/PFLOW.md``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from jetpointnet.evaluation.pflow.layers import EM1_SAMPLINGS, REF_SAMPLINGS

__all__ = [
    "LEFT_TO_CALORIMETER",
    "PION_MASS",
    "EventCells",
    "EventResult",
    "EventTracks",
    "PflowParams",
    "TrackStatus",
]

#: Charged-pion mass (GeV): eflowRec's track energy uses the pion hypothesis.
PION_MASS = 0.13957


@dataclass
class PflowParams:
    """The algorithm's parameters; defaults are eflowRec's (PFLOW.md).

    ``max_pt``: upper track-pT cut (GeV; eflowRec's default 100, the 2017 paper's 40).
    ``consistency_sigma``: a track-cluster group with ``E_clusters < E_exp -
    consistency_sigma * sigma`` fails the E/p check and goes to split-shower recovery.
    ``split_shower``: run that second pass (off: such tracks keep nothing).
    """

    min_pt: float = 0.5
    max_pt: float = 100.0
    max_abs_eta: float = 2.5
    match_dr_prime: float = 1.64
    min_width: float = 0.05
    min_cluster_fraction: float = 0.1
    lhed_sigma: float = 0.032
    lhed_cut: float = 3.0
    consistency_sigma: float = 1.0
    split_shower: bool = True
    split_shower_dr: float = 0.2
    remove_cluster_sigma: float = 1.5
    remnant_sigma: float = 1.5
    veto: bool = True
    veto_dr: float = 0.15
    veto_scale: float = 33.2
    veto_pt_ref: float = 40.0
    ring_rmax: float = 0.75
    ring_weight_range: float = 1.0e6


class TrackStatus(enum.IntEnum):
    """What the algorithm did with a track."""

    RINGS = 0  # cell-by-cell subtraction in rings
    WHOLE_CLUSTER = 1  # E_cluster - E_exp < 1.5 sigma: matched cluster(s) removed
    NOT_SELECTED = 2  # outside the pT / eta window or no reference point
    NO_MATCH = 3  # no cluster passes the matching cuts (or none left to recover)
    VETOED = 4  # dense-environment veto


#: Outcomes where the algorithm deliberately subtracts nothing: the calorimeter keeps
#: the particle's energy (scored apart from the subtracted tracks).
LEFT_TO_CALORIMETER = (TrackStatus.NOT_SELECTED, TrackStatus.NO_MATCH, TrackStatus.VETOED)


@dataclass
class EventCells:
    """The cells of one event (each cell once). Shapes ``(C,)``; GeV, radians, mm^3."""

    energy: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    sampling: np.ndarray
    cluster: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.energy).size)


def _first_finite(layer_eta: np.ndarray, layer_phi: np.ndarray, cols: tuple[int, ...]):
    eta = np.full(layer_eta.shape[0], np.nan)
    phi = np.full(layer_eta.shape[0], np.nan)
    for c in reversed(cols):
        ok = np.isfinite(layer_eta[:, c]) & np.isfinite(layer_phi[:, c])
        eta = np.where(ok, layer_eta[:, c], eta)
        phi = np.where(ok, layer_phi[:, c], phi)
    return eta.astype(np.float64), phi.astype(np.float64)


@dataclass
class EventTracks:
    """The tracks of one event: ``p``, ``pt`` (T,) in GeV; ``layer_eta``/``layer_phi`` (T, 21)
    extrapolated positions in ``mltree_layout.TRACK_LAYERS`` order, NaN where missing."""

    p: np.ndarray
    pt: np.ndarray
    layer_eta: np.ndarray
    layer_phi: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.p).size)

    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """(eta, phi) at EMB2, else EME2; NaN without either (matching, cones, rings)."""
        return _first_finite(self.layer_eta, self.layer_phi, REF_SAMPLINGS)

    def em1_eta(self) -> np.ndarray:
        """eta at EMB1, else EME1, else the reference layer (eflowRec's template |eta|)."""
        eta, _ = _first_finite(self.layer_eta, self.layer_phi, (*EM1_SAMPLINGS, *REF_SAMPLINGS))
        return eta

    def energy(self) -> np.ndarray:
        """Track energy E = sqrt(p^2 + m_pi^2) (GeV), the templates' variable."""
        return np.sqrt(np.asarray(self.p, dtype=np.float64) ** 2 + PION_MASS**2)


@dataclass
class EventResult:
    """``attribution`` (T, C): GeV each track subtracts from each cell; per-track details.

    ``e_exp``/``sigma`` (GeV) and ``lhed`` (index into ``LHED_CATEGORIES``, -1 when not
    computed) are those the track was subtracted with (the recovery pass's for recovered
    tracks); ``pull`` is the dense-environment pull (NaN when not computed);
    ``split_recovery`` marks tracks that failed the E/p check and went to the second pass.
    """

    attribution: np.ndarray
    status: np.ndarray
    e_exp: np.ndarray
    sigma: np.ndarray
    lhed: np.ndarray
    pull: np.ndarray
    n_matched: np.ndarray
    split_recovery: np.ndarray
    remnant_removed: np.ndarray

    @classmethod
    def empty(cls, n_tracks: int, n_cells: int) -> EventResult:
        return cls(
            attribution=np.zeros((n_tracks, n_cells)),
            status=np.full(n_tracks, TrackStatus.NOT_SELECTED, dtype=np.int8),
            e_exp=np.zeros(n_tracks),
            sigma=np.zeros(n_tracks),
            lhed=np.full(n_tracks, -1, dtype=np.int8),
            pull=np.full(n_tracks, np.nan),
            n_matched=np.zeros(n_tracks, dtype=np.int16),
            split_recovery=np.zeros(n_tracks, dtype=bool),
            remnant_removed=np.zeros(n_tracks, dtype=bool),
        )

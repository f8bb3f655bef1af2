"""Configuration of ``jetpointnet preprocess`` (``configs/data/*.yaml``).

Units: GeV for momenta, radians / Delta-R for angles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jetpointnet.errors import UserError

__all__ = [
    "ALL_FEATURES",
    "EXTRA_ARRAYS",
    "TRUTH_DERIVED",
    "ArraysConfig",
    "PreprocessConfig",
    "RadiusConfig",
    "Scaling",
    "SelectionConfig",
    "SplitConfig",
    "refuse_truth_features",
    "truth_derived",
]

#: Point features stage 2 can write (see ``jetpointnet.data.arrays``).
ALL_FEATURES = (
    "x",  # mm
    "y",  # mm
    "z",  # mm
    "eta",
    "phi",
    "deta",  # eta - reference eta of the focused track
    "dphi",  # phi - reference phi, wrapped
    "dr",  # Delta-R to the focused track's reference point
    "dist_track",  # mm, 3-D distance to the nearest focused-track layer point
    "energy",  # GeV; track points: track p
    "type",  # PointType value
    "layer",  # CaloSampling number
    "sigma",  # GeV cell noise; tracks 0
    "track_pt",  # GeV, track points only (cells 0)
    "track_p",  # GeV, track points only (cells 0)
    "chi2ndof",  # track points only (cells 0)
)


#: Optional per-point stage-2 arrays (``arrays.extra``; see ``jetpointnet.data.extras``).
EXTRA_ARRAYS = (
    "d_eta",  # eta - focused track's reference eta (unscaled)
    "d_phi",  # phi - reference phi, wrapped to [-pi, pi) (unscaled, radians)
    "sampling",  # CaloSampling number (int8)
    "neighbours",  # (P, 7) sample-local graph links from CellGeo + track-to-cell edges
)


#: Inputs derived from truth, never network inputs: (name pattern, why). Our simulator
#: writes these from the calibration hits (docs/simulation.md); a network fed them would
#: be scored on what it was told.
TRUTH_DERIVED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(cluster_)?em_probability$", re.IGNORECASE),
     "the simulator writes the truth share of e+- and photon energy in the cluster"),
    (re.compile(r"^(cluster_)?eng_calib", re.IGNORECASE),
     "the simulator writes the cluster's calibration-hit (true deposited) energy"),
    (re.compile(r"calhit", re.IGNORECASE),
     "the true (calibration-hit) energy the track's particle deposited"),
    (re.compile(r"^(y_|truth)|hitstruth", re.IGNORECASE),
     "a truth label or truth contributor"),
)  # fmt: skip


def truth_derived(name: str) -> str | None:
    """Why ``name`` is derived from truth (:data:`TRUTH_DERIVED`), or None."""
    for pattern, why in TRUTH_DERIVED:
        if pattern.search(name):
            return why
    return None


def refuse_truth_features(names: Iterable[str], *, where: str) -> None:
    """UserError for the first of ``names`` derived from truth, naming it and why."""
    for name in names:
        why = truth_derived(str(name))
        if why is not None:
            raise UserError(
                f"{where}: feature {name!r} is derived from truth ({why}); "
                "it cannot be a network input"
            )


@dataclass
class SelectionConfig:
    """Which tracks become samples (the focused tracks)."""

    min_pt: float = 0.0  # GeV
    max_pt: float | None = None  # GeV
    max_abs_eta: float = 2.5  # perigee |eta|
    require_truth: bool = False  # drop tracks without a truth link
    min_cells: int = 1  # fewer cells in the cone: dropped ("too_few_cells")


@dataclass
class RadiusConfig:
    """The Delta-R cone around the focused track's reference point (EMB2, else EME2)."""

    mode: Literal["fixed", "adaptive"] = "fixed"
    fixed: float = 0.2
    #: JSON written by ``jetpointnet preprocess --measure-radius`` (adaptive mode).
    params: Path | None = None
    #: containment fraction used by ``--measure-radius``.
    fraction: float = 0.9
    min: float = 0.05
    max: float = 0.4


@dataclass
class SplitConfig:
    """Event-level train/val/test split from a hash of (seed, file name, eventNumber)."""

    seed: int = 0
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1


@dataclass
class Scaling:
    """Feature scaling: ``(transform(v) - shift) * scale``."""

    transform: Literal["none", "log", "asinh"] = "none"
    shift: float = 0.0
    scale: float = 1.0


def _default_features() -> list[str]:
    return [
        "x",
        "y",
        "z",
        "dist_track",
        "energy",
        "type",
        "dr",
        "layer",
        "sigma",
        "track_pt",
        "chi2ndof",
    ]


def _default_scaling() -> dict[str, Scaling]:
    return {
        "x": Scaling(scale=1e-3),
        "y": Scaling(scale=1e-3),
        "z": Scaling(scale=1e-3),
        "dist_track": Scaling(scale=1e-2),
        "energy": Scaling(transform="asinh"),
        "dr": Scaling(scale=10.0),
        "layer": Scaling(scale=0.05),
        "sigma": Scaling(scale=10.0),
        "track_pt": Scaling(transform="asinh"),
        "chi2ndof": Scaling(scale=0.5),
    }


@dataclass
class ArraysConfig:
    """Stage 2: point clouds and labels."""

    layout: Literal["ragged", "padded"] = "ragged"
    features: list[str] = field(default_factory=_default_features)
    scaling: dict[str, Scaling] = field(default_factory=_default_scaling)
    #: L = this quantile of the training split's sample lengths (points)...
    length_quantile: float = 0.99
    #: ... unless fixed here.
    max_length: int | None = None
    #: false: no point cap (L is the longest sample of any split; no point is dropped).
    truncate: bool = True
    #: track points carry labels too (focused: y_energy = p; other tracks: 0).
    add_tracks_as_labels: bool = False
    #: samples with fewer cells are left out of the arrays (seed 000 used 100).
    min_cells: int = 1
    compress: bool = False
    #: optional per-point arrays (``EXTRA_ARRAYS``) written besides X; off by default.
    #: ``cnn`` needs d_eta, d_phi, sampling; ``gnn`` needs neighbours.
    extra: list[str] = field(default_factory=list)


@dataclass
class PreprocessConfig:
    """Everything ``jetpointnet preprocess`` needs besides the input and output paths."""

    events_per_chunk: int = 100
    event_tree: str = "EventTree"
    geometry_tree: str = "CellGeo"
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    radius: RadiusConfig = field(default_factory=RadiusConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    arrays: ArraysConfig = field(default_factory=ArraysConfig)

"""The data contract between ``preprocess`` (stage 2) and everything downstream.

This module is the single place that names the arrays of a stage-2 chunk file
(``DIR/arrays/{train,val,test}/*.npz``) and the keys of ``DIR/metadata.json``. Writers and
readers import these names; nothing else spells them.

Units: GeV for energies and momenta, mm for lengths (as in MLTree files).

Two layouts, recorded as ``metadata["layout"]``:

``ragged`` (default)
    The points of all ``n`` samples of the chunk concatenated; sample ``i`` owns rows
    ``offsets[i]:offsets[i + 1]``. Per-point arrays have shape ``(P,)`` or ``(P, F)``.
``padded`` (seed 000's layout)
    Per-point arrays have shape ``(n, L)`` or ``(n, L, F)``; ``MASK`` is True on real
    points, and padded rows hold zeros (labels ``IGNORE``).

Per point (both layouts; ragged shape given):

=================  ========  ==========================================================
name               dtype     meaning
=================  ========  ==========================================================
``X``              float32   (P, F) scaled input features, in ``metadata["features"]``
                             order, scaling as in ``metadata["scaling"]``
``mask``           bool      padded layout only: real point
``point_type``     int8      ``PointType``: cell / focused track / other track
``energy``         float32   raw cell energy in GeV (the energy bypass multiplies by
                             it); track points: track momentum p
``label_mask``     bool      point carries a label (cells; tracks only when
                             ``add_tracks_as_labels``)
``y_energy``       float32   focused particle's true energy in the cell (GeV)
``y_fraction``     float32   y_energy / total true energy in the cell, in [0, 1]
``y_binary``       int8      1 if the focused particle is the cell's largest contributor
``y_class``        int8      ``CellClass`` of the cell's largest contributor
``y_total``        float32   total true energy in the cell (GeV)
=================  ========  ==========================================================

Labels of points without a label (``label_mask`` False) hold ``IGNORE`` (-1).

Inputs without truth (real data; see :mod:`jetpointnet.data.samples`) give samples with
inputs but no labels: ``label_mask`` is False on all their points, every label holds
``IGNORE`` and ``truth_focal_total`` is NaN. ``metadata["has_truth"]`` is False when
no input had truth (per input: ``metadata["sources"][i]["has_truth"]``).

Optional per point (``OPTIONAL_PER_POINT``; readers must not require them, files written
before they existed lack them):

=================  ========  ==========================================================
``cell_id``        uint64    the cell's identifier (``cell_geo_ID``), equal to the
                             stage-1 ``cells.id``: aligns points with stage-1 cells
                             without float matching; 0 on track points and padding
``d_eta``          float32   only with ``arrays.extra``: eta - focused track's
                             reference eta (unscaled; for the ``cnn`` image)
``d_phi``          float32   only with ``arrays.extra``: phi - reference phi, wrapped
                             to [-pi, pi), radians (unscaled)
``sampling``       int8      only with ``arrays.extra``: CaloSampling number of the
                             cell / of the track point's layer
``neighbours``     int32     only with ``arrays.extra``: (P, 7) sample-local indices of
                             linked points, -1 none: CellGeo prev/next in eta, phi,
                             sampling and the nearest track point (cells); the 6
                             nearest same-layer cells (track points). Graph edges of
                             the ``gnn``; see ``jetpointnet.data.extras``
=================  ========  ==========================================================

``metadata["extra"]`` lists the optional arrays a folder's files carry.

Per sample (shape ``(n,)``), both layouts:

``offsets`` (ragged only, int64, n+1), ``n_points`` (int32, points kept after
truncation), ``event_number`` (int64), ``entry`` (int64, entry in the source file),
``track_index`` (int32, index into the event's track vectors), ``file_index`` (int32,
into ``metadata["sources"]``), ``track_p``, ``track_pt``, ``track_eta``, ``track_phi``
(float32, the focused track), ``truth_focal_total`` (float32, the focused particle's true
energy summed over all kept cells; NaN without truth), ``n_other_tracks`` (int32, other
tracks in the cone), ``min_dr_other`` (float32, Delta-R to the nearest other track at
the reference layer, ``inf`` when none: the isolated / dense split).
"""

from __future__ import annotations

import enum

from jetpointnet.io.prep_folder import METADATA_FILE

__all__ = [
    "IGNORE",
    "METADATA_FILE",
    "OPTIONAL_PER_POINT",
    "PER_POINT",
    "PER_SAMPLE",
    "CellClass",
    "Layout",
    "PointType",
]

IGNORE = -1


class Layout(str, enum.Enum):
    RAGGED = "ragged"
    PADDED = "padded"


class PointType(enum.IntEnum):
    """Value of ``point_type`` (seed 000: -1 padding, 0 cell, 1 focused, 2 other track)."""

    PADDING = -1
    CELL = 0
    FOCUSED_TRACK = 1
    OTHER_TRACK = 2


class CellClass(enum.IntEnum):
    """Multi-class label: who deposited most of the cell's true energy."""

    FOCAL = 0
    OTHER_CHARGED = 1
    NEUTRAL = 2
    NOISE = 3


PER_POINT = (
    "X",
    "point_type",
    "energy",
    "label_mask",
    "y_energy",
    "y_fraction",
    "y_binary",
    "y_class",
    "y_total",
)

OPTIONAL_PER_POINT = ("cell_id", "d_eta", "d_phi", "sampling", "neighbours")

PER_SAMPLE = (
    "n_points",
    "event_number",
    "entry",
    "track_index",
    "file_index",
    "track_p",
    "track_pt",
    "track_eta",
    "track_phi",
    "truth_focal_total",
    "n_other_tracks",
    "min_dr_other",
)

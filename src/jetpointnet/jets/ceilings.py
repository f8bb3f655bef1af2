"""The two ceilings of ``jets`` that need no network: perfect attribution from truth.

Both take their truth from the cells' calibration hits (``cluster_cell_hitsTruthIndex`` /
``cluster_cell_hitsTruthE``, aggregated per (cell, truth particle) in
:class:`~jetpointnet.data.cells.Cells`) and the tracks' truth links
(``trackTruthParticleIndex``), on the whole event: every clustered cell, every track.

* ``oracle``: every track of :data:`ORACLE_SELECTION` (pT > 0.5 GeV, abs(eta) < 2.5,
  extrapolated to EMB2 or EME2, with a truth link: the tracks that ``configs/data/jets.yaml``
  turns into samples) is a charged object and claims its particle's true deposit in every
  cell (:func:`oracle_claims`). The claims go through the same reconciliation as every
  other algorithm (:mod:`.reconcile`). The energy scales differ: a cell's energy is EM
  scale (what the cell saw), a calibration hit is the true deposit (visible plus
  invisible). A cell that only the track's particle reached is therefore emptied exactly
  (its claim, larger than the cell, is clipped to the cell); in a cell shared with a
  neutral particle the claim exceeds what the charged particle showed by its invisible
  part, so the neutral remnant comes out low there. This is the ceiling of a network that
  predicts its regression label (the focal true deposit) exactly on every cell.
* ``oracle-calibrated``: the same charged objects and claims; then each cell's remnant is
  replaced by the true energy that particles without a charged object deposited there
  (:func:`calibrated_remnant`: neutral particles, charged particles without a selected
  track, contributors the file cannot link, pile-up included). Its neutral objects are
  perfectly attributed and calibrated to the true deposit; noise-only energy is gone.

Neither ceiling is the truth jet: neutral objects are massless four-vectors per topo-cluster,
true deposits exclude what was lost upstream, behind the calorimeter or as a baryon's rest
mass, and charged objects carry the pion mass. On events where every particle deposits
its whole energy in cells of its own (no noise, one neutral particle per cluster, every
charged particle tracked), both reproduce the truth jets (``tests/test_jets_ceilings.py``).
Units: GeV.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.samples import select_tracks
from jetpointnet.jets.events import JetEvents
from jetpointnet.jets.reconcile import Claims

__all__ = [
    "CEILINGS",
    "ORACLE_SELECTION",
    "calibrated_remnant",
    "oracle_claims",
    "oracle_tracks",
]

#: The algorithm names of the two ceilings.
CEILINGS = ("oracle", "oracle-calibrated")

#: The tracks that claim their particle's deposits (the jet data config's selection).
ORACLE_SELECTION = SelectionConfig(min_pt=0.5, max_abs_eta=2.5, require_truth=True, min_cells=0)


def oracle_tracks(ev: JetEvents, selection: SelectionConfig = ORACLE_SELECTION) -> np.ndarray:
    """Mask of the tracks that pass ``selection`` and have a truth link."""
    rows, _ = select_tracks(ev.tracks, selection)
    out = np.zeros(len(ev.tracks), dtype=bool)
    out[rows] = True
    return out & (ev.tracks.truth_row >= 0)


def _contributions(ev: JetEvents, tracks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (cell, truth particle) entry of ``ev.cells``: its cell row and the track row
    that claims it (-1: no track of ``tracks`` is linked to that particle)."""
    c = ev.cells
    stride = c.n_truth_rows + 1
    cell = c.agg_key // stride
    row = c.agg_key % stride - 1
    track_of_row = np.full(max(c.n_truth_rows, 1), -1, dtype=np.int64)
    rows = np.flatnonzero(tracks)
    track_of_row[ev.tracks.truth_row[rows]] = rows
    track = np.where(row >= 0, track_of_row[np.maximum(row, 0)], -1)
    return cell, track


def oracle_claims(ev: JetEvents, tracks: np.ndarray) -> Claims:
    """Each track of the mask ``tracks`` claims its particle's true deposit in every cell."""
    cell, track = _contributions(ev, tracks)
    ok = (track >= 0) & (ev.cells.agg_e > 0)
    return Claims(track=track[ok], cell=cell[ok], energy=ev.cells.agg_e[ok].astype(np.float64))


def calibrated_remnant(ev: JetEvents, tracks: np.ndarray) -> np.ndarray:
    """Per cell: the true energy (GeV) deposited by particles with no track in ``tracks``."""
    cell, track = _contributions(ev, tracks)
    free = track < 0
    return np.bincount(cell[free], weights=ev.cells.agg_e[free].astype(np.float64),
                       minlength=len(ev.cells))  # fmt: skip

"""The pointing baseline on simulated showers: photons from z0 = 0 and z0 = +-500 mm.

Single 50 GeV photons in the barrel (abs(eta) < 0.7) through the simulator's detector
(:mod:`photons_simulated`, no generator). The resolution is half the 16-84 % range of
(z0 reconstructed - z0 true); docs/photons-data.md gives the measured values.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from photons_simulated import photon_truth, write_photon_showers

from jetpointnet.data.geometry import CellTable
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.photons.build import build_chunk_photons
from jetpointnet.photons.config import PhotonPrepConfig
from jetpointnet.photons.preprocess import PHOTON_BRANCHES
from jetpointnet.photons.truth import TRUTH_BRANCHES_OPTIONAL

#: Documented resolution at z0 = 0 (50 GeV barrel photons; docs/photons-data.md: 77 mm on
#: 150 photons), with margin for the 40 photons of a test.
RESOLUTION_MM = 95.0
#: From z0 = +-500 mm the cell barycentres recover z0 with a gain of ~0.8 (median residual
#: about -+100 mm, resolution ~330 mm: docs/photons-data.md); the old cell-centre radii gave
#: 0.54. The test asks for the documented gain within 0.65-1.15.


def _z0(tmp_path, geo, mat, z0: float, n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truths = [photon_truth(50.0, float(rng.uniform(-0.7, 0.7)), float(rng.uniform(-3, 3)),
                           (0.0, 0.0, z0)) for _ in range(n)]  # fmt: skip
    path = write_photon_showers(tmp_path / f"z{z0:+.0f}.root", truths, geo, mat, seed=seed)
    ev = read_events(str(path), list(PHOTON_BRANCHES), optional=list(TRUTH_BRANCHES_OPTIONAL),
                     entry_start=0, entry_stop=None)  # fmt: skip
    table = CellTable.from_geometry(read_geometry(str(path)))
    got = build_chunk_photons(ev, table, SimpleNamespace(start=0, file_index=0),
                              config=PhotonPrepConfig(inputs={"prompt": ["x"]}), class_index=0)  # fmt: skip
    assert got.cutflow["matched"] == n  # every photon found at its impact point
    z = got.arrays["pointing_z0"]
    assert np.isfinite(z).all()
    return z - z0


def _resolution(dz: np.ndarray) -> float:
    lo, hi = np.percentile(dz, [16, 84])
    return float(hi - lo) / 2


def test_pointing_from_the_primary_vertex(tmp_path, geo, mat):
    dz = _z0(tmp_path, geo, mat, 0.0)
    assert abs(np.median(dz)) < RESOLUTION_MM / 2
    assert _resolution(dz) < RESOLUTION_MM


@pytest.mark.parametrize("z0", [-500.0, 500.0])
def test_pointing_recovers_a_displaced_z0(tmp_path, geo, mat, z0):
    dz = _z0(tmp_path, geo, mat, z0)
    gain = (z0 + np.median(dz)) / z0
    assert 0.65 < gain < 1.15
    assert _resolution(dz) < 500.0

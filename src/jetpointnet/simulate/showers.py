"""Parametrised showers: each particle becomes energy deposits ("spots") in layers.

The entry point of the detector step. Particles are dispatched by kind:

- electrons and photons: electromagnetic showers (:mod:`.em_showers`); photons first travel
  an exponential distance of mean 9/7 X0 before converting;
- muons: minimum ionisation in every layer crossed (:func:`.em_showers.mip_track`);
- everything else: hadron showers (:mod:`.hadron_showers`).

Every spot carries a true energy (what calibration hits record) and a visible energy at
the EM scale (what the cell measures); see :class:`.em_showers.Spots`.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.simulate.em_showers import Spots, _Tracks, em_showers, mip_track
from jetpointnet.simulate.hadron_showers import hadron_showers
from jetpointnet.simulate.material import MaterialTable
from jetpointnet.simulate.params import DETECTOR, DetectorParams

__all__ = ["Spots", "shower_particles"]

_EM_IDS = (11, 22)
_MUON = 13


def shower_particles(tr: _Tracks, pdg: np.ndarray, e: np.ndarray, m: np.ndarray, charge: np.ndarray,
                     mat: MaterialTable, rng, p: DetectorParams = DETECTOR) -> Spots:  # fmt: skip
    """Deposits of the particles on trajectories ``tr`` (arrays indexed by ``tr.idx``)."""
    apdg = np.abs(pdg[tr.idx])
    energy = e[tr.idx]
    k_all = np.arange(tr.idx.size)
    parts: list[Spots] = []
    em = np.isin(apdg, _EM_IDS)
    k = k_all[em]
    t_start = np.where(apdg[em] == 22, rng.exponential(p.photon_conversion_x0, size=k.size), 0.0)
    parts.append(em_showers(tr, k, energy[em], t_start, mat, rng, p))
    mu = apdg == _MUON
    parts.append(mip_track(tr, k_all[mu], np.full(mu.sum(), 1e9), mat, rng)[0])
    had = ~em & ~mu
    parts.append(hadron_showers(tr, k_all[had], pdg, e, m, charge, mat, rng, p))
    return Spots.concat(parts)

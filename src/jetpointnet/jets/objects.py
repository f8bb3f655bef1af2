"""Jet constituents: particle-flow objects, topo-clusters and truth particles.

* charged particle-flow objects: tracks, with their momentum, direction at the perigee and
  the charged-pion mass;
* neutral particle-flow objects: what the subtraction left in each topo-cluster, one
  massless four-vector per cluster with ``E = sum of the remnants of its cells`` (cells
  assigned to the cluster holding their largest share) plus the energy of the cluster's
  cells that the file does not list (``cluster_E`` minus its written cells: MLTree drops
  cells below 5 MeV, so the written cells alone carry only the positive side of the noise,
  ~100 GeV per JZ2 event in our simulation); direction from the positive-remnant-weighted
  mean cell position; kept when ``E > min_energy``;
* calorimeter-only objects: the file's topo-clusters at EM scale (``cluster_E``,
  ``cluster_Eta``, ``cluster_Phi``) with ``E > 0``, massless;
* truth: stable hard-scatter particles without neutrinos (:mod:`.events`).

Charged-hadron subtraction (CHS, as ATLAS particle-flow jets): a track whose
``|(z0 - z_PV) sin(theta)|`` exceeds ``max_dz`` (mm) comes from a pile-up vertex; its
energy is still subtracted from the calorimeter but it is not a jet constituent.
``z_PV`` is the pT^2-weighted mean z0 of the densest 1 mm window of tracks (pT capped at
20 GeV), a simple stand-in for ATLAS's vertex with the highest sum pT^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetpointnet.jets.events import JetEvents, TruthParticles

__all__ = [
    "PION_MASS",
    "Objects",
    "calo_objects",
    "charged_objects",
    "hard_scatter_tracks",
    "neutral_objects",
    "truth_objects",
]

#: Charged-pion mass (GeV), PDG 2024.
PION_MASS = 0.13957


@dataclass(frozen=True)
class Objects:
    """Four-vectors of a chunk, one row each: ``event`` (chunk-local), pt, eta, phi, mass
    (GeV, radians) and ``charged`` (True for tracks)."""

    event: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    charged: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)

    @classmethod
    def make(cls, event, pt, eta, phi, mass, charged: bool) -> Objects:
        n = len(pt)
        return cls(
            event=np.asarray(event, np.int64),
            pt=np.asarray(pt, np.float64),
            eta=np.asarray(eta, np.float64),
            phi=np.asarray(phi, np.float64),
            mass=np.broadcast_to(np.asarray(mass, np.float64), (n,)).copy(),
            charged=np.full(n, charged),
        )

    @classmethod
    def concat(cls, parts: list[Objects]) -> Objects:
        """Rows of all ``parts``, sorted by event (stable)."""
        cols = {k: np.concatenate([getattr(p, k) for p in parts])
                for k in ("event", "pt", "eta", "phi", "mass", "charged")}  # fmt: skip
        order = np.argsort(cols["event"], kind="stable")
        return cls(**{k: v[order] for k, v in cols.items()})


def charged_objects(ev: JetEvents, rows: np.ndarray) -> Objects:
    """Tracks ``rows`` (indices into ``ev.tracks``) as charged pions."""
    t = ev.tracks
    return Objects.make(t.event[rows], t.pt[rows], t.eta[rows], t.phi[rows], PION_MASS, True)


def neutral_objects(ev: JetEvents, remnant: np.ndarray, *, min_energy: float = 0.0,
                    unwritten: bool = True) -> Objects:  # fmt: skip
    """One massless object per (event, cluster) from the cells' ``remnant`` energies (GeV),
    plus the cluster's unwritten cells (``unwritten=False``: the remnant alone, for remnants
    that are true energies rather than what the calorimeter measured)."""
    c = ev.cells
    if len(c) == 0:
        return Objects.make([], [], [], [], 0.0, False)
    stride = int(c.cluster.max(initial=0)) + 1
    key = c.event * stride + c.cluster
    uniq, inv = np.unique(key, return_inverse=True)
    e = np.bincount(inv, weights=remnant, minlength=len(uniq))
    if unwritten and len(ev.cluster_unwritten):
        first = np.searchsorted(ev.cluster_event, np.arange(ev.n_events))
        e = e + ev.cluster_unwritten[first[uniq // stride] + uniq % stride]
    w = np.maximum(remnant, 0.0)
    pos = np.stack([np.bincount(inv, weights=w * ev.cell_xyz[:, k], minlength=len(uniq))
                    for k in range(3)], axis=1)  # fmt: skip
    event = uniq // stride
    rho = np.hypot(pos[:, 0], pos[:, 1])
    keep = (e > min_energy) & (rho > 0)
    eta = np.arcsinh(pos[keep, 2] / rho[keep])
    phi = np.arctan2(pos[keep, 1], pos[keep, 0])
    return Objects.make(event[keep], e[keep] / np.cosh(eta), eta, phi, 0.0, False)


def calo_objects(ev: JetEvents) -> Objects:
    """Topo-clusters with ``E > 0`` at EM scale, massless."""
    keep = ev.cluster_e > 0
    eta = ev.cluster_eta[keep]
    return Objects.make(ev.cluster_event[keep], ev.cluster_e[keep] / np.cosh(eta), eta,
                        ev.cluster_phi[keep], 0.0, False)  # fmt: skip


def truth_objects(truth: TruthParticles) -> Objects:
    """The truth particles (already stable, hard-scatter, without neutrinos)."""
    return Objects.make(truth.event, truth.pt, truth.eta, truth.phi, truth.mass, False)


def hard_scatter_tracks(ev: JetEvents, *, max_dz: float = 2.0, window: float = 1.0) -> np.ndarray:
    """Per track: True when compatible with the primary vertex (all True without z0)."""
    t = ev.tracks
    if ev.track_z0 is None or len(t) == 0:
        return np.ones(len(t), dtype=bool)
    z0 = ev.track_z0
    w = np.minimum(np.nan_to_num(t.pt.astype(np.float64)), 20.0) ** 2
    out = np.ones(len(t), dtype=bool)
    off = ev.track_offsets()
    for e in range(ev.n_events):
        a, b = off[e], off[e + 1]
        if b - a < 2:
            continue
        z, we = z0[a:b], w[a:b]
        near = np.abs(z[:, None] - z[None, :]) < window
        best = int(np.argmax(near @ we))
        sel = near[best]
        z_pv = float(np.sum(we[sel] * z[sel]) / max(np.sum(we[sel]), 1e-12))
        out[a:b] = np.abs((z - z_pv) / np.cosh(t.eta[a:b].astype(np.float64))) < max_dz
    return out

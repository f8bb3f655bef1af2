"""Tracks and truth particles of a chunk of events, flattened to numpy arrays.

Reads the MLTree track branches (awkward, one list per event) and returns one row per
track: kinematics, truth link, and the extrapolated (eta, phi) and intersection point
with every layer of ``TRACK_LAYERS`` (NaN where the track does not reach the layer:
MLTree writes -999999999 there; anything below -100000 counts as missing).
Truth is optional (real data has none): without the ``truthPart*`` branches
:func:`flat_truth` has no particles, and without ``trackTruthParticleIndex`` every
track's link is -1. Units: GeV, mm, radians.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.geometry import layer_points
from jetpointnet.data.pdg import charge_of
from jetpointnet.io.mltree_layout import MISSING_THRESHOLD, SAMPLING, TRACK_LAYERS

__all__ = [
    "REF_LAYERS",
    "TRACK_BRANCHES",
    "TRACK_OPTIONAL",
    "TRACK_TRUTH_BRANCHES",
    "TRUTH_BRANCHES",
    "Tracks",
    "Truth",
    "flat_tracks",
    "flat_truth",
]

#: The reference layers, in order of preference: EMB2, then EME2.
REF_LAYERS = ("EMB2", "EME2")
TRACK_BRANCHES = (
    "trackPt",
    "trackP",
    "trackEta",
    "trackPhi",
    "trackChiSquared",
    "trackNumberDOF",
    *(f"track{c}_{layer}" for layer in REF_LAYERS for c in ("Eta", "Phi")),
)
TRACK_OPTIONAL = tuple(
    f"track{c}_{layer}" for layer in TRACK_LAYERS if layer not in REF_LAYERS for c in ("Eta", "Phi")
)
#: The track's truth link (optional: absent in real data).
TRACK_TRUTH_BRANCHES = ("trackTruthParticleIndex",)
#: The truth particles (optional: absent in real data).
TRUTH_BRANCHES = ("truthPartPdgId", "truthPartE")

_REF_COLUMNS = tuple(TRACK_LAYERS.index(name) for name in REF_LAYERS)


def _flat(arr: ak.Array, dtype: type) -> np.ndarray:
    return np.asarray(ak.to_numpy(ak.flatten(arr, axis=None)), dtype=dtype)


@dataclass(frozen=True)
class Truth:
    """Truth particles of a chunk: ``offsets[e]`` is event e's first row."""

    offsets: np.ndarray  # int64 (events + 1,)
    pdg: np.ndarray  # int32
    energy: np.ndarray  # float32 GeV
    charge: np.ndarray  # float32 e

    def row(self, event: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Global row of (event, truth index), -1 where the index is out of range."""
        event = np.asarray(event, np.int64)
        index = np.asarray(index, np.int64)
        n = self.offsets[event + 1] - self.offsets[event]
        ok = (index >= 0) & (index < n)
        return np.where(ok, self.offsets[event] + index, -1)


def flat_truth(events: dict[str, ak.Array]) -> Truth:
    """:class:`Truth` from the ``truthPart*`` branches; no particles when they are absent."""
    if not all(b in events for b in TRUTH_BRANCHES):
        n_events = len(events["trackPt"])
        return Truth(
            offsets=np.zeros(n_events + 1, np.int64),
            pdg=np.zeros(0, np.int32),
            energy=np.zeros(0, np.float32),
            charge=np.zeros(0, np.float32),
        )
    counts = np.asarray(ak.to_numpy(ak.num(events["truthPartPdgId"], axis=1)), dtype=np.int64)
    pdg = _flat(events["truthPartPdgId"], np.int32)
    energy = _flat(events["truthPartE"], np.float32)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Truth(offsets=offsets, pdg=pdg, energy=energy, charge=charge_of(pdg))


@dataclass(frozen=True)
class Tracks:
    """All tracks of a chunk, one row each (``event`` is the chunk-local event index)."""

    event: np.ndarray  # int64
    index: np.ndarray  # int32, index within the event
    p: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    chi2ndof: np.ndarray  # NaN when ndof <= 0
    truth_index: np.ndarray  # int32, -1 without a (valid) link
    truth_row: np.ndarray  # int64 global truth row, -1 without
    layer_eta: np.ndarray  # (T, len(TRACK_LAYERS)) float32, NaN missing
    layer_phi: np.ndarray
    layer_x: np.ndarray  # mm
    layer_y: np.ndarray
    layer_z: np.ndarray
    ref_layer: np.ndarray  # int16 CaloSampling number, -1 when neither reference layer
    ref_eta: np.ndarray  # float32, NaN without reference
    ref_phi: np.ndarray

    def __len__(self) -> int:
        return len(self.p)

    @property
    def n_layer_points(self) -> np.ndarray:
        """Number of layers each track reaches (int32)."""
        return np.isfinite(self.layer_x).sum(axis=1).astype(np.int32)


def flat_tracks(events: dict[str, ak.Array], truth: Truth) -> Tracks:
    """:class:`Tracks` from the ``track*`` branches.

    Missing layer branches: not reached; missing ``trackTruthParticleIndex``: no links.
    """
    counts = np.asarray(ak.to_numpy(ak.num(events["trackPt"], axis=1)), dtype=np.int64)
    n = int(counts.sum())
    event = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    index = (np.arange(n, dtype=np.int64) - starts).astype(np.int32)

    eta = np.full((n, len(TRACK_LAYERS)), np.nan, dtype=np.float32)
    phi = np.full((n, len(TRACK_LAYERS)), np.nan, dtype=np.float32)
    for i, layer in enumerate(TRACK_LAYERS):
        be, bp = f"trackEta_{layer}", f"trackPhi_{layer}"
        if be in events and bp in events:
            e = _flat(events[be], np.float32)
            f = _flat(events[bp], np.float32)
            bad = (
                ~np.isfinite(e)
                | ~np.isfinite(f)
                | (e < MISSING_THRESHOLD)
                | (f < MISSING_THRESHOLD)
            )
            eta[:, i] = np.where(bad, np.nan, e)
            phi[:, i] = np.where(bad, np.nan, f)
    x, y, z = layer_points(eta, phi)

    ref_layer = np.full(n, -1, dtype=np.int16)
    ref_eta = np.full(n, np.nan, dtype=np.float32)
    ref_phi = np.full(n, np.nan, dtype=np.float32)
    for name, col in zip(reversed(REF_LAYERS), reversed(_REF_COLUMNS), strict=True):
        ok = np.isfinite(eta[:, col])
        ref_layer[ok] = SAMPLING[name]
        ref_eta[ok] = eta[ok, col]
        ref_phi[ok] = phi[ok, col]

    chi2 = _flat(events["trackChiSquared"], np.float64)
    ndof = _flat(events["trackNumberDOF"], np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2ndof = np.where(ndof > 0, chi2 / ndof, np.nan).astype(np.float32)
    if "trackTruthParticleIndex" in events:
        link = _flat(events["trackTruthParticleIndex"], np.int64)
    else:
        link = np.full(n, -1, np.int64)
    row = truth.row(event, link)
    return Tracks(
        event=event,
        index=index,
        p=_flat(events["trackP"], np.float32),
        pt=_flat(events["trackPt"], np.float32),
        eta=_flat(events["trackEta"], np.float32),
        phi=_flat(events["trackPhi"], np.float32),
        chi2ndof=chi2ndof,
        truth_index=np.where(row >= 0, link, -1).astype(np.int32),
        truth_row=row,
        layer_eta=eta,
        layer_phi=phi,
        layer_x=x,
        layer_y=y,
        layer_z=z,
        ref_layer=ref_layer,
        ref_eta=ref_eta,
        ref_phi=ref_phi,
    )

"""Model outputs of a batch of events -> rows of ``particles.parquet``.

Schema: :mod:`jetpointnet.io.particles` (/work/contracts/event.md). Per sample:

* every real track slot is a charged particle: its class is the most probable of the
  charged classes (charged hadron, electron, muon), its momentum the track's at the
  perigee with the class mass (``E = sqrt(p^2 + m^2)``, ``p = pT cosh eta``), its
  ``track_index`` the track's index in the ROOT event; all are written, with their
  existence probability (``jets`` drops those below its ``min_existence``);
* a neutral slot with existence probability >= ``min_existence`` is a neutral particle:
  class the more probable of neutral hadron and photon, energy, eta and phi the
  predicted kinematics (proxy + correction), massless, ``track_index`` -1.

A sample with a halo (:mod:`jetpointnet.data.event_samples`) writes only what its core
owns: the tracks of its own tile (``track_core``) and the neutral slots whose largest
predicted deposit (``argmax_c q_kc E_c``) lies in a core cell (``cell_core``); the halo's
particles are written by the samples whose core they are in. Without a halo every track
and cell is core and nothing changes.

Units: GeV, radians (phi folded into [-pi, pi)).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jetpointnet.data.event_particles import concat_tables
from jetpointnet.data.event_targets import CLASSES, class_mass

__all__ = ["CHARGED_CLASSES", "NEUTRAL_CLASSES", "particles_from_outputs"]

CHARGED_CLASSES = np.array([CLASSES.index(c) for c in ("charged_hadron", "electron", "muon")])
NEUTRAL_CLASSES = np.array([CLASSES.index(c) for c in ("neutral_hadron", "photon")])
_LINKS = ("file_index", "entry", "event_number", "region_index")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def particles_from_outputs(
    out: Mapping[str, np.ndarray], batch: Mapping[str, np.ndarray], *, min_existence: float = 0.5
) -> dict[str, np.ndarray]:
    """The particle rows of one batch: ``out`` the model's outputs, ``batch`` its inputs and
    links (numpy arrays; shapes as in :class:`~jetpointnet.models.event_pflow.EventPflow`)."""
    tm = np.asarray(batch["track_mask"], bool)  # (B, Nt)
    if "track_core" in batch:
        tm = tm & np.asarray(batch["track_core"], bool)
    nt = tm.shape[1]
    logits = np.asarray(out["class_logits"], np.float64)  # (B, S, 5)
    exist = _sigmoid(np.asarray(out["existence"], np.float64))  # (B, S)
    owned = _owned_neutrals(out, batch, nt)  # (B, K)
    parts = []
    for b in range(tm.shape[0]):
        links = {k: np.asarray(batch[k])[b] for k in _LINKS}
        t = np.flatnonzero(tm[b])
        cls = CHARGED_CLASSES[np.argmax(logits[b, t][:, CHARGED_CLASSES], axis=1)]
        pt = np.asarray(batch["track_pt"], np.float64)[b, t]
        eta = np.asarray(batch["track_eta"], np.float64)[b, t]
        m = class_mass(cls)
        p = pt * np.cosh(eta)
        parts.append(_rows(links, cls, np.sqrt(p * p + m * m), pt, eta,
                           np.asarray(batch["track_phi"], np.float64)[b, t], m,
                           np.asarray(batch["track_index"])[b, t], exist[b, t]))  # fmt: skip
        k = nt + np.flatnonzero((exist[b, nt:] >= min_existence) & owned[b])
        cls = NEUTRAL_CLASSES[np.argmax(logits[b, k][:, NEUTRAL_CLASSES], axis=1)]
        e = np.asarray(out["energy"], np.float64)[b, k]
        eta = np.asarray(out["eta"], np.float64)[b, k]
        phi = np.remainder(np.asarray(out["phi"], np.float64)[b, k] + np.pi, 2 * np.pi) - np.pi
        parts.append(_rows(links, cls, e, e / np.cosh(eta), eta, phi, np.zeros(len(k)),
                           np.full(len(k), -1), exist[b, k]))  # fmt: skip
    return concat_tables(parts)


def _owned_neutrals(out: Mapping[str, np.ndarray], batch: Mapping[str, np.ndarray],
                    nt: int) -> np.ndarray:  # fmt: skip
    """Per neutral slot ``(B, K)``: its largest predicted deposit is in a core cell."""
    inc = np.asarray(out["incidence"], np.float64)  # (B, Nc, S + 1) logits
    k = inc.shape[2] - 1 - nt
    if "cell_core" not in batch or not inc.shape[1]:
        return np.ones((inc.shape[0], k), bool)
    q = np.exp(inc - inc.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    e = np.maximum(np.asarray(batch["cell_energy"], np.float64), 0.0)
    e = e * np.asarray(batch["cell_mask"], bool)
    dep = q[:, :, nt:-1] * e[:, :, None]  # (B, Nc, K)
    top = np.argmax(dep, axis=1)  # (B, K)
    return np.take_along_axis(np.asarray(batch["cell_core"], bool), top, axis=1)


def _rows(links, cls, e, pt, eta, phi, m, track, existence) -> dict[str, np.ndarray]:
    n = len(cls)
    out: dict[str, np.ndarray] = {k: np.full(n, v) for k, v in links.items()}
    out.update({"class": np.asarray([CLASSES[int(c)] for c in cls], dtype=object), "E": e,
                "pt": pt, "eta": eta, "phi": phi, "m": m, "track_index": track,
                "existence": existence})  # fmt: skip
    return out

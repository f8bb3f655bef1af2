"""Event-level targets: the visible particles of one event, their classes, energies and the
incidence matrix q (each cell's deposit shared among them).

Rules (the ``rules`` entry of an event folder's metadata.json repeats them):

* **Visibility.** A truth particle is a target when it has a track in the sample
  (``trackTruthParticleIndex``), or when its true deposit in the event's clustered cells
  (sum of ``cluster_cell_hitsTruthE``) exceeds :data:`VISIBLE_FRACTION` (10 %) of its true
  energy. Every track is a charged target, also one without a truth link (a fake: class
  charged hadron, energy from the track momentum with the pion mass).
* **Classes** (:data:`CLASSES`, index = position): a tracked particle is an electron
  (|pdg| 11), a muon (13) or a charged hadron (anything else); an untracked visible
  particle is a photon (|pdg| 22 or 11: an untracked electron showers like one) or a
  neutral hadron (anything else, untracked charged hadrons included, as MLPF does).
* **Merging of neutrals.** First, untracked visible photons with the same mother when that
  mother is a pi0 (``truthPartParentBarcode``/``PdgId``, when the file has them); then,
  in decreasing energy, a neutral joins the first earlier group whose direction is within
  Delta-R < :data:`MERGE_DR` (0.05, two middle-layer cells) of its own, the group's
  direction being that of the sum of its members' massless momenta. Photons and neutral
  hadrons merge with each other (a group takes the class of its most energetic member).
* **Energies.** A charged target's energy is its particle's true energy; a neutral
  group's the sum of its members' true energies (``neutral_e``) and the sum of their
  deposits in the sample's cells (``neutral_e_vis``: visible EM-scale energy from
  ``cluster_cell_hitsTruthEVis`` when the file has it, else the true deposit
  ``hitsTruthE``).
* **Incidence.** ``q[c, k] = d_kc / sum_j d_jc`` with d the same deposit (visible when
  available, else true); contributors that are not targets (invisible particles, or cut
  away by a size limit) go to the last column, the noise slot, as do cells without any
  truth (``q = 1`` there). Every real cell sums to 1.

Pure numpy on one event's flat arrays; :mod:`jetpointnet.data.event_inputs` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLASSES",
    "MERGE_DR",
    "PION_MASS",
    "RULES",
    "VISIBLE_FRACTION",
    "EventInput",
    "EventTargets",
    "class_mass",
    "event_targets",
]

CLASSES = ("charged_hadron", "electron", "muon", "neutral_hadron", "photon")
CHARGED_HADRON, ELECTRON, MUON, NEUTRAL_HADRON, PHOTON = range(5)
VISIBLE_FRACTION = 0.1
MERGE_DR = 0.05
PION_MASS = 0.13957  # GeV, PDG 2024
_MASS = {CHARGED_HADRON: PION_MASS, ELECTRON: 0.000511, MUON: 0.10566}

RULES = {
    "visibility": f"tracked, or true deposit in clustered cells > {VISIBLE_FRACTION} x true E",
    "classes": "tracked: e (|pdg| 11), mu (13), else charged hadron; untracked: photon "
    "(|pdg| 22 or 11), else neutral hadron",
    "merging": f"pi0 photons by parent (when the file has parents), then neutrals within "
    f"Delta-R < {MERGE_DR} (truth directions), in decreasing energy",
    "incidence": "deposit share per cell (visible energy when the file has it, else true); "
    "non-target contributors and cells without truth -> noise slot",
}


def class_mass(cls: np.ndarray) -> np.ndarray:
    """Mass (GeV) of each class index: pion, electron, muon for charged, 0 for neutrals."""
    cls = np.asarray(cls)
    out = np.zeros(cls.shape, np.float64)
    for k, m in _MASS.items():
        out[cls == k] = m
    return out


@dataclass(frozen=True)
class EventInput:
    """One event (or region) as flat arrays (GeV, radians).

    Cells: distinct clustered cells. Contributions: one row per (cell, particle) with the
    deposit ``contrib_dep`` (visible if known, else true) and the true deposit
    ``contrib_true``. Particles: the event's truth record (rows = truth indices); the
    parent arrays are None when the file lacks them. Tracks: ``track_part`` (truth row or
    -1) and the perigee kinematics.
    """

    cell_e: np.ndarray
    contrib_cell: np.ndarray  # int64 row into the cells
    contrib_part: np.ndarray  # int64 truth row
    contrib_dep: np.ndarray
    contrib_true: np.ndarray
    part_pdg: np.ndarray
    part_e: np.ndarray
    part_pt: np.ndarray
    part_eta: np.ndarray
    part_phi: np.ndarray
    part_parent: np.ndarray | None
    part_parent_pdg: np.ndarray | None
    track_part: np.ndarray  # int64
    track_pt: np.ndarray
    track_eta: np.ndarray


@dataclass(frozen=True)
class EventTargets:
    """Targets of one event: charged per track, neutral groups, incidence (cells x slots)."""

    charged_class: np.ndarray  # int64 (n_tracks,)
    charged_e: np.ndarray  # float64 GeV
    neutral_class: np.ndarray  # int64 (K,)
    neutral_e: np.ndarray
    neutral_e_vis: np.ndarray
    neutral_eta: np.ndarray
    neutral_phi: np.ndarray
    q: np.ndarray  # float64 (n_cells, n_tracks + K + 1)
    particle_slot: np.ndarray  # int64 per truth row: slot (track or n_tracks + group), -1


def _dphi(a, b):
    return np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b))))


def _charged(ev: EventInput) -> tuple[np.ndarray, np.ndarray]:
    n = len(ev.track_part)
    cls = np.full(n, CHARGED_HADRON, np.int64)
    e = np.sqrt((ev.track_pt * np.cosh(ev.track_eta)) ** 2 + PION_MASS**2)
    linked = ev.track_part >= 0
    apdg = np.abs(ev.part_pdg[ev.track_part[linked]])
    cls[np.flatnonzero(linked)[apdg == 11]] = ELECTRON
    cls[np.flatnonzero(linked)[apdg == 13]] = MUON
    e[linked] = ev.part_e[ev.track_part[linked]]
    return cls, e


def _groups(ev: EventInput, rows: np.ndarray) -> list[list[int]]:
    """Merged groups of the untracked visible truth rows (see the module docstring)."""
    seeds: list[list[int]] = []
    if ev.part_parent is not None and ev.part_parent_pdg is not None:
        by_parent: dict[int, list[int]] = {}
        for r in rows.tolist():
            if ev.part_parent_pdg[r] == 111 and ev.part_parent[r] >= 0 and ev.part_pdg[r] == 22:
                by_parent.setdefault(int(ev.part_parent[r]), []).append(r)
            else:
                seeds.append([r])
        seeds += list(by_parent.values())
    else:
        seeds = [[r] for r in rows.tolist()]
    e = np.array([ev.part_e[g].sum() for g in seeds]) if seeds else np.zeros(0)
    groups: list[list[int]] = []
    mom = np.zeros((len(seeds), 3))  # summed momenta of the groups made so far
    g_eta, g_phi = np.zeros(len(seeds)), np.zeros(len(seeds))
    for i in np.argsort(-e, kind="stable"):
        g = seeds[i]
        p = _momentum(ev, g)
        eta, phi = _direction(p)
        n = len(groups)
        dr = np.hypot(eta - g_eta[:n], _dphi(phi, g_phi[:n]))
        near = np.flatnonzero(dr < MERGE_DR)
        if len(near):
            j = int(near[0])
            groups[j] += g
            mom[j] += p
            g_eta[j], g_phi[j] = _direction(mom[j])
        else:
            groups.append(list(g))
            mom[n] = p
            g_eta[n], g_phi[n] = eta, phi
    return groups


def _momentum(ev: EventInput, rows: list[int]) -> np.ndarray:
    """Sum of the massless momenta (px, py, pz) of truth ``rows`` (E along the direction)."""
    e, eta, phi = ev.part_e[rows], ev.part_eta[rows], ev.part_phi[rows]
    pt = e / np.cosh(eta)
    return np.array([np.sum(pt * np.cos(phi)), np.sum(pt * np.sin(phi)), np.sum(pt * np.sinh(eta))])


def _direction(p: np.ndarray) -> tuple[float, float]:
    pt = float(np.hypot(p[0], p[1]))
    return float(np.arcsinh(p[2] / max(pt, 1e-12))), float(np.arctan2(p[1], p[0]))


def event_targets(ev: EventInput, *, max_neutral: int | None = None) -> EventTargets:
    """The targets of one event under the rules of the module docstring.

    ``max_neutral``: keep at most this many neutral groups (the most energetic); the
    deposits of the others go to the noise slot.
    """
    n_tr, n_cells, n_part = len(ev.track_part), len(ev.cell_e), len(ev.part_e)
    charged_class, charged_e = _charged(ev)
    slot = np.full(n_part, -1, np.int64)
    for i, r in enumerate(ev.track_part.tolist()):
        if r >= 0 and slot[r] < 0:
            slot[r] = i
    true_dep = np.bincount(ev.contrib_part, weights=ev.contrib_true, minlength=n_part)
    visible = (true_dep > VISIBLE_FRACTION * ev.part_e) & (slot < 0)
    groups = _groups(ev, np.flatnonzero(visible))
    if max_neutral is not None:
        groups = groups[:max_neutral]  # _groups returns them in decreasing seed energy
    k = len(groups)
    dep = np.bincount(ev.contrib_part, weights=ev.contrib_dep, minlength=n_part)
    n_cls = np.zeros(k, np.int64)
    n_e, n_vis, n_eta, n_phi = (np.zeros(k) for _ in range(4))
    for j, g in enumerate(groups):
        slot[g] = n_tr + j
        lead = g[int(np.argmax(ev.part_e[g]))]
        n_cls[j] = PHOTON if abs(int(ev.part_pdg[lead])) in (11, 22) else NEUTRAL_HADRON
        n_e[j] = ev.part_e[g].sum()
        n_vis[j] = dep[g].sum()
        n_eta[j], n_phi[j] = _direction(_momentum(ev, g))
    q = np.zeros((n_cells, n_tr + k + 1))
    col = slot[ev.contrib_part]
    col = np.where(col >= 0, col, n_tr + k)
    np.add.at(q, (ev.contrib_cell, col), np.maximum(ev.contrib_dep, 0.0))
    tot = q.sum(axis=1)
    q[tot <= 0, :] = 0.0
    q[tot <= 0, -1] = 1.0
    q[tot > 0] /= tot[tot > 0, None]
    return EventTargets(charged_class, charged_e, n_cls, n_e, n_vis, n_eta, n_phi, q, slot)

"""Particle-flow templates: <E/p>, sigma(E/p) and ring profiles from single charged pions.

Binning (PFLOW.md step 3): track energy E (pion mass; eflowRec's variable, not pT) at
nodes 1, 3.5, 10, 25, 32.5, 40 GeV (a track falls in the node nearest in ln E), |eta| at
EM1 (EMB1, else EME1, else EM2, as eflowRec) in bins of 0.5 up to 2.5, and the LHED
category (EM1, EM2, EM3, HEC, Tile). The measured E/p of a track is the energy of the
clusters whose centre lies within Delta-R 0.2 of the track at the reference layer, plus
the matched cluster, over E; tracks without a matched cluster are counted but not used
(eflowRec does not subtract them either).

<E/p> and sigma(E/p) of a bin are the mean and width of a Gaussian fitted to the core of
its E/p distribution (:func:`gaussian_core`: an unbinned fit of a Gaussian truncated to
+-2 sigma around the peak, iterated), as eflowRec's templates are Gaussian fits; bins with
fewer than ``MIN_FIT`` tracks use the plain mean and standard deviation. Templates from
fewer than ``MIN_TRACKS`` (20,000) tracks carry a one-line warning, stored in the file.

Lookup (:meth:`Templates.expect`) interpolates linearly in ln E between the nodes of the
track's (|eta|, LHED) bin that hold at least ``min_count`` tracks, clamped at the ends;
an empty (|eta|, LHED) bin falls back to all LHED categories pooled at that |eta|, then
to the nearest |eta| bin with data, then to the eflowRec reference values.

Ring profiles: per LHED category and layer group, the mean energy density (fraction of
the track energy per unit eta-phi area) in each ring, fitted with
``p0 exp(-r / p1) + p2 exp(-r / p3)`` (a single exponential where fewer than four rings
have energy). Stored with the counts as JSON (:func:`save_templates`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.errors import UserError
from jetpointnet.evaluation.pflow.fits import MIN_FIT, fit_profile, gaussian_core
from jetpointnet.evaluation.pflow.layers import GROUPS, LHED_CATEGORIES, RING_WIDTH

__all__ = [
    "EFLOWREC_REFERENCE",
    "ENERGY_NODES",
    "ETA_EDGES",
    "MIN_FIT",
    "MIN_TRACKS",
    "TemplateAccumulator",
    "Templates",
    "eflowrec_reference",
    "fit_profile",
    "gaussian_core",
    "load_templates",
    "save_templates",
]

FORMAT_VERSION = 1
ENERGY_NODES: tuple[float, ...] = (1.0, 3.5, 10.0, 25.0, 32.5, 40.0)
ETA_EDGES: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)

#: eflowRec <E/p> (sigma) at EM scale for |eta| < 0.5 (eflowCellEOverPTool, Run-2 mc20):
#: (LHED category, track energy in GeV) -> (mean, sigma).
EFLOWREC_REFERENCE: dict[tuple[str, float], tuple[float, float]] = {
    ("EM1", 1.0): (0.273, 0.273),
    ("EM2", 1.0): (0.469, 0.237),
    ("EM3", 1.0): (0.523, 0.287),
    ("Tile", 1.0): (0.549, 0.225),
    ("EM3", 40.0): (0.686, 0.127),
    ("Tile", 40.0): (0.837, 0.095),
}

N_RINGS = int(np.ceil(0.75 / min(RING_WIDTH.values())))
#: Tracks a template set needs before it is used without a warning (eflowRec-like statistics).
MIN_TRACKS = 20_000


def _default_profile(group: str) -> list[float]:
    return [1.0, 2.0 * RING_WIDTH[group], 0.0, 1.0]


@dataclass
class Templates:
    """Binned <E/p> and sigma(E/p) (arrays ``(n_energy, n_eta, n_category)``) and profiles."""

    mean: np.ndarray
    sigma: np.ndarray
    count: np.ndarray
    profiles: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    energy_nodes: tuple[float, ...] = ENERGY_NODES
    eta_edges: tuple[float, ...] = ETA_EDGES
    categories: tuple[str, ...] = LHED_CATEGORIES
    min_count: int = 10
    n_unmatched: int = 0
    source: str = ""
    warning: str = ""
    fallback: Templates | None = None

    # ---------------------------------------------------------------- lookup
    def eta_bin(self, abs_eta: float) -> int:
        """Index of the |eta| bin (the last bin takes everything beyond)."""
        return int(
            np.clip(
                np.searchsorted(self.eta_edges, abs_eta, side="right") - 1,
                0,
                len(self.eta_edges) - 2,
            )
        )

    def _interp(self, mean: np.ndarray, sigma: np.ndarray, count: np.ndarray, e: float):
        ok = count >= self.min_count
        if not ok.any():
            return None
        x = np.log(np.asarray(self.energy_nodes))[ok]
        le = np.log(max(e, 1e-3))
        return float(np.interp(le, x, mean[ok])), float(np.interp(le, x, sigma[ok]))

    def _pooled(self, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.count[:, h, :].astype(np.float64)
        tot = n.sum(axis=1)
        safe = np.maximum(tot, 1)
        m = (n * self.mean[:, h, :]).sum(axis=1) / safe
        second = (n * (self.sigma[:, h, :] ** 2 + self.mean[:, h, :] ** 2)).sum(axis=1) / safe
        return m, np.sqrt(np.maximum(second - m**2, 0.0)), tot

    def expect(self, energy: float, abs_eta: float, category: str) -> tuple[float, float]:
        """(<E/p>, sigma(E/p)) for a track of ``energy`` GeV at ``abs_eta`` with this LHED."""
        h = self.eta_bin(abs_eta)
        k = self.categories.index(category) if category in self.categories else -1
        if k >= 0:
            hit = self._interp(self.mean[:, h, k], self.sigma[:, h, k], self.count[:, h, k], energy)
            if hit:
                return hit
        for hh in sorted(range(len(self.eta_edges) - 1), key=lambda i: (abs(i - h), i)):
            hit = self._interp(*self._pooled(hh), energy)
            if hit:
                return hit
        if self.fallback is not None:
            return self.fallback.expect(energy, abs_eta, category)
        return 0.6, 0.2

    def profile(self, category: str, group: str, r: np.ndarray) -> np.ndarray:
        """Expected energy density (fraction of p per unit eta-phi area) at Delta-R ``r``."""
        pars = self.profiles.get(category, {}).get(group) or self.profiles.get("all", {}).get(group)
        p0, p1, p2, p3 = pars if pars else _default_profile(group)
        r = np.asarray(r, dtype=np.float64)
        return p0 * np.exp(-r / p1) + p2 * np.exp(-r / p3)

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "jetpointnet-pflow-templates",
            "version": FORMAT_VERSION,
            "source": self.source,
            "energy_nodes_gev": list(self.energy_nodes),
            "abs_eta_edges": list(self.eta_edges),
            "lhed_categories": list(self.categories),
            "min_count": self.min_count,
            "n_unmatched": self.n_unmatched,
            "warning": self.warning,
            "eop_mean": self.mean.tolist(),
            "eop_sigma": self.sigma.tolist(),
            "count": self.count.tolist(),
            "ring_profiles": self.profiles,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, where: str = "templates") -> Templates:
        if raw.get("format") != "jetpointnet-pflow-templates":
            raise UserError(f"{where}: not a jetpointnet pflow templates file")
        if raw.get("version") != FORMAT_VERSION:
            raise UserError(
                f"{where}: templates format version {raw.get('version')!r}, "
                f"expected {FORMAT_VERSION}"
            )
        try:
            return cls(
                mean=np.asarray(raw["eop_mean"], dtype=np.float64),
                sigma=np.asarray(raw["eop_sigma"], dtype=np.float64),
                count=np.asarray(raw["count"], dtype=np.int64),
                profiles=raw["ring_profiles"],
                energy_nodes=tuple(raw["energy_nodes_gev"]),
                eta_edges=tuple(raw["abs_eta_edges"]),
                categories=tuple(raw["lhed_categories"]),
                min_count=int(raw["min_count"]),
                n_unmatched=int(raw.get("n_unmatched", 0)),
                source=str(raw.get("source", "")),
                warning=str(raw.get("warning", "")),
                fallback=eflowrec_reference(),
            )
        except KeyError as exc:
            raise UserError(f"{where}: templates file lacks {exc.args[0]!r}") from None


def eflowrec_reference() -> Templates:
    """The eflowRec values of PFLOW.md as templates (|eta| < 0.5 values used at every |eta|;
    no ring profiles: the default exponential of each group's ring width)."""
    shape = (len(ENERGY_NODES), len(ETA_EDGES) - 1, len(LHED_CATEGORIES))
    mean, sigma, count = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=np.int64)
    for (cat, e), (m, s) in EFLOWREC_REFERENCE.items():
        i, k = ENERGY_NODES.index(e), LHED_CATEGORIES.index(cat)
        mean[i, :, k], sigma[i, :, k], count[i, :, k] = m, s, 1
    return Templates(mean=mean, sigma=sigma, count=count, min_count=1, source="eflowRec reference")


class TemplateAccumulator:
    """Collects one entry per single-pion track, then builds :class:`Templates`."""

    def __init__(self, *, fit_rmax: float = 0.2) -> None:
        self.p: list[float] = []
        self.abs_eta: list[float] = []
        self.category: list[int] = []
        self.eop: list[float] = []
        self.n_unmatched = 0
        self.fit_rmax = fit_rmax
        shape = (len(LHED_CATEGORIES) + 1, len(GROUPS), N_RINGS)
        self.ring_sum = np.zeros(shape)
        self.ring_tracks = np.zeros(len(LHED_CATEGORIES) + 1)

    def add(
        self, *, energy: float, abs_eta: float, category: int, eop: float, ring_energy: np.ndarray
    ) -> None:
        """One matched track of ``energy`` GeV at ``abs_eta`` (EM1) with E/p ``eop``;
        ``ring_energy`` (n_groups, N_RINGS) in GeV around the track."""
        self.p.append(energy)
        self.abs_eta.append(abs_eta)
        self.category.append(category)
        self.eop.append(eop)
        width = np.array([RING_WIDTH[g] for g in GROUPS])[:, None]
        k = np.arange(N_RINGS)[None, :]
        area = np.pi * width**2 * (2 * k + 1)
        dens = np.asarray(ring_energy) / area / max(energy, 1e-9)
        for c in (category, len(LHED_CATEGORIES)):
            self.ring_sum[c] += dens
            self.ring_tracks[c] += 1

    def build(self, *, min_count: int = 10, source: str = "") -> Templates:
        n_e, n_h, n_k = len(ENERGY_NODES), len(ETA_EDGES) - 1, len(LHED_CATEGORIES)
        mean, sigma = np.zeros((n_e, n_h, n_k)), np.zeros((n_e, n_h, n_k))
        count = np.zeros((n_e, n_h, n_k), dtype=np.int64)
        if self.p:
            logn = np.log(ENERGY_NODES)
            mids = (logn[1:] + logn[:-1]) / 2
            ie = np.searchsorted(mids, np.log(np.maximum(self.p, 1e-3)))
            ih = np.clip(np.searchsorted(ETA_EDGES, self.abs_eta, side="right") - 1, 0, n_h - 1)
            ik = np.asarray(self.category)
            eop = np.asarray(self.eop)
            flat = (ie * n_h + ih) * n_k + ik
            count = np.bincount(flat, minlength=n_e * n_h * n_k).reshape(n_e, n_h, n_k)
            for b in np.flatnonzero(count.ravel()):
                m, s, _ = gaussian_core(eop[flat == b])
                mean.flat[b], sigma.flat[b] = m, s
        profiles: dict[str, dict[str, list[float]]] = {}
        for c, name in enumerate((*LHED_CATEGORIES, "all")):
            if self.ring_tracks[c] < min_count:
                continue
            profiles[name] = {}
            for g, group in enumerate(GROUPS):
                w = RING_WIDTH[group]
                centres = (np.arange(N_RINGS) + 0.5) * w
                use = centres < self.fit_rmax
                dens = self.ring_sum[c, g] / self.ring_tracks[c]
                if np.any(dens[use] > 0):
                    profiles[name][group] = fit_profile(centres[use], dens[use])
        n = len(self.p)
        warning = (
            f"templates from {n} pion tracks, fewer than the {MIN_TRACKS} they need: "
            "<E/p> and sigma per bin are noisy"
            if n < MIN_TRACKS
            else ""
        )
        return Templates(
            mean=mean,
            sigma=sigma,
            count=count,
            profiles=profiles,
            min_count=min_count,
            n_unmatched=self.n_unmatched,
            source=source,
            warning=warning,
            fallback=eflowrec_reference(),
        )


def save_templates(
    templates: Templates, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``templates`` as JSON (atomically)."""
    from jetpointnet.io.atomic import atomic_output
    from jetpointnet.io.jsonio import strict_dumps

    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(strict_dumps(templates.to_dict(), indent=1))
    return Path(path)


def load_templates(path: str | os.PathLike[str]) -> Templates:
    """Read a templates JSON file; a missing or malformed file is a :class:`UserError`."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: templates file not found")
    try:
        raw = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path}: not a JSON file") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a jetpointnet pflow templates file")
    return Templates.from_dict(raw, where=str(path))

"""Adaptive cone radius: Delta-R containing a fraction of a single particle's deposit.

Seed 000 recommends choosing the cone per track from its momentum so that a given
fraction (e.g. 90 %) of the particle's expected deposit is inside, instead of a fixed
0.2. :func:`containment_radius` measures, for every sample of single-particle (pion
gun) events, the smallest Delta-R around the reference point that holds ``fraction`` of
the particle's true deposit; :func:`fit_radius` fits R(p) = a + b / sqrt(p) (p in GeV)
to the medians in momentum bins; :class:`RadiusModel` evaluates it, clamped to
[min, max]. The parameters live in a small JSON file that the data config points to
(``radius.params``), written by ``jetpointnet preprocess --measure-radius``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.config import RadiusConfig
from jetpointnet.errors import UserError

__all__ = ["RadiusModel", "containment_radius", "fit_radius", "make_radius"]


@dataclass(frozen=True)
class RadiusModel:
    """R(p) = a + b / sqrt(p), clamped to [r_min, r_max] (p in GeV)."""

    a: float
    b: float
    r_min: float
    r_max: float

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.maximum(np.asarray(p, dtype=np.float64), 1e-3)
        return np.clip(self.a + self.b / np.sqrt(p), self.r_min, self.r_max)


def make_radius(cfg: RadiusConfig) -> float | Callable[[np.ndarray], np.ndarray]:
    """The fixed radius, or the adaptive :class:`RadiusModel` read from ``cfg.params``."""
    if cfg.mode == "fixed":
        return float(cfg.fixed)
    from jetpointnet.io.sample_files import read_json

    path = cfg.params
    if path is None or not os.path.isfile(path):
        raise UserError(f"{path}: radius parameters not found (make them with --measure-radius)")
    raw = read_json(path)
    try:
        return RadiusModel(a=float(raw["a"]), b=float(raw["b"]), r_min=cfg.min, r_max=cfg.max)  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{path}: not a radius parameter file (needs 'a' and 'b')") from None


def containment_radius(samples: ak.Array, *, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(p, R) per sample: the Delta-R holding ``fraction`` of the focused particle's deposit.

    Only samples whose particle has a truth link and deposited energy count; a sample
    whose cone holds less than ``fraction`` of the deposit gets R = NaN (cone too small).
    """
    deposit = np.asarray(samples.track.truth_deposit, dtype=np.float64)
    p = np.asarray(samples.track.p, dtype=np.float64)
    counts = np.asarray(ak.num(samples.cells), dtype=np.int64)
    dr = np.asarray(ak.flatten(samples.cells.dr), dtype=np.float64)
    focal = np.asarray(ak.flatten(samples.cells.truth_focal), dtype=np.float64)
    owner = np.repeat(np.arange(len(samples)), counts)
    order = np.lexsort((dr, owner))
    cum = np.cumsum(focal[order])
    starts = np.cumsum(counts) - counts
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    cum = cum - np.repeat(before, counts)
    reached = cum >= fraction * deposit[owner] - 1e-9
    big = np.iinfo(np.int64).max
    pos = np.where(reached, np.arange(len(order)), big)
    first = np.full(len(samples), big)
    np.minimum.at(first, owner, pos)
    radius = np.where(first < big, dr[order][np.minimum(first, len(order) - 1)], np.nan)
    use = deposit > 0
    return p[use], radius[use]


def fit_radius(p: np.ndarray, radius: np.ndarray, *, bins: int = 8) -> dict[str, object]:
    """Fit R(p) = a + b / sqrt(p) to the median R in quantile bins of p; returns the JSON."""
    ok = np.isfinite(radius) & (p > 0)
    p, radius = p[ok], radius[ok]
    if len(p) < 2 * bins:
        raise UserError(f"--measure-radius: {len(p)} usable samples, need at least {2 * bins}")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    centres, medians, weights = [], [], []
    for k in range(len(edges) - 1):
        sel = idx == k
        if sel.sum() >= 3:
            centres.append(float(np.median(p[sel])))
            medians.append(float(np.median(radius[sel])))
            weights.append(float(sel.sum()))
    x = 1.0 / np.sqrt(np.array(centres))
    w = np.sqrt(np.array(weights))
    design = np.stack([np.ones_like(x), x], axis=1) * w[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.array(medians) * w, rcond=None)
    return {
        "form": "R(p) = a + b / sqrt(p / GeV)",
        "a": float(a),
        "b": float(b),
        "bins": [
            {"p": c, "radius": m, "n": int(n)}
            for c, m, n in zip(centres, medians, weights, strict=True)
        ],
        "n_samples": len(p),
    }

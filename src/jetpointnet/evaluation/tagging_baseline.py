"""The cut-based W/Z tagger: a jet-mass window, alone or with tau21 or D2 (seed 004's bar).

Fitted on the training jets, applied to the test jets, scored like a network so that the
same metrics (:mod:`jetpointnet.evaluation.tagging_metrics`) apply:

- the window ``[lo, hi]`` is the narrowest interval of the reco jet mass ``jet_m``
  (trimmed, GeV) holding ``containment`` (default 80 %) of the training signal jets,
  its centre ``(lo + hi) / 2``;
- ``mass``: score ``-|m - centre|``: cutting on it scans windows of every width around
  the centre, so the ROC is that of a mass window;
- ``mass+tau21`` and ``mass+d2``: jets inside the window score ``2 - tau21`` or
  ``1 + 1 / (1 + D2)`` (both in [1, 2], larger for two-prong jets), jets outside score
  ``-|m - centre| / 1000 GeV`` (below every jet inside): a cut on the score is the
  window plus an upper cut on tau21 or D2 for signal efficiencies below the window's,
  and a wider window above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BASELINES", "MassWindow", "baseline_scores", "fit_mass_window"]

#: The cut-based taggers, by name.
BASELINES = ("mass", "mass+tau21", "mass+d2")


@dataclass(frozen=True)
class MassWindow:
    """A jet-mass window in GeV and the share of training signal it holds."""

    lo: float
    hi: float
    containment: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.lo + self.hi)


def fit_mass_window(mass_signal: np.ndarray, *, containment: float = 0.8) -> MassWindow:
    """The narrowest interval holding ``containment`` of the signal jets' masses (GeV)."""
    m = np.sort(np.asarray(mass_signal, dtype=np.float64))
    m = m[np.isfinite(m)]
    if m.size < 2:
        raise ValueError("fit_mass_window needs at least two signal jets")
    k = max(1, int(np.ceil(containment * m.size)) - 1)
    widths = m[k:] - m[: m.size - k]
    i = int(np.argmin(widths))
    return MassWindow(float(m[i]), float(m[i + k]), containment)


def baseline_scores(
    name: str, window: MassWindow, *, mass: np.ndarray, tau21: np.ndarray, d2: np.ndarray
) -> np.ndarray:
    """Scores of the cut-based tagger ``name`` (one of :data:`BASELINES`) per jet."""
    mass = np.asarray(mass, dtype=np.float64)
    dist = np.abs(mass - window.centre)
    if name == "mass":
        return -dist
    inside = (mass >= window.lo) & (mass <= window.hi)
    if name == "mass+tau21":
        shape = 2.0 - np.clip(np.nan_to_num(np.asarray(tau21, np.float64), nan=1.0), 0.0, 1.0)
    elif name == "mass+d2":
        d = np.clip(np.nan_to_num(np.asarray(d2, np.float64), nan=np.inf), 0.0, np.inf)
        shape = 1.0 + 1.0 / (1.0 + d)
    else:
        raise ValueError(f"unknown baseline {name!r} (one of {', '.join(BASELINES)})")
    return np.where(inside, shape, -dist / 1000.0)

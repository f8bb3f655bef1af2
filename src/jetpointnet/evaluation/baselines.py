"""Seed 001's reference classifiers, scored on the same cells as every model.

- ``dumb``: always the majority class of the cells it is given;
- ``random``: focal with probability 1/2;
- ``smart_random``: focal with probability equal to the focal fraction of those cells.

Expected values on a focal fraction ``f`` (large samples): ``random`` has recall 1/2,
precision ``f`` and F1 ``2f / (2f + 1)``; ``smart_random`` has precision = recall = F1 = ``f``
and accuracy ``f^2 + (1 - f)^2``; ``dumb`` (with ``f < 1/2``) has accuracy ``1 - f`` and F1 0.

A baseline's energy answer for a cell is the whole cell energy when it says focal, so
track-level figures exist for baselines too.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from jetpointnet.errors import UserError, did_you_mean

__all__ = ["BASELINES", "Baseline", "baseline_predictions"]

Baseline = Literal["dumb", "random", "smart_random"]
BASELINES: tuple[str, ...] = get_args(Baseline)


def baseline_predictions(name: str, y_true: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """0/1 (int8) predictions of baseline ``name`` for cells with binary labels ``y_true``.

    The random baselines draw from ``numpy.random.default_rng(seed)``, so a seed gives
    the same answer every time.
    """
    y = np.asarray(y_true).ravel().astype(bool)
    n = y.size
    frac = float(y.mean()) if n else 0.0
    if name == "dumb":
        return np.full(n, 1 if frac > 0.5 else 0, dtype=np.int8)
    rng = np.random.default_rng(seed)
    if name == "random":
        return (rng.random(n) < 0.5).astype(np.int8)
    if name == "smart_random":
        return (rng.random(n) < frac).astype(np.int8)
    raise UserError(f"unknown baseline {name!r}" + did_you_mean(name, BASELINES))

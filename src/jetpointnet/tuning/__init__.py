"""Hyperparameter search: Optuna with the Hyperband pruner, epochs as the resource.

- ``space``: the search space of ``configs/tune/*.yaml`` (:class:`SearchSpace`);
- ``study``: :func:`tune` (a resumable, shareable SQLite study; best config written out).
"""

from __future__ import annotations

from jetpointnet.tuning.space import SearchSpace, load_space
from jetpointnet.tuning.study import TuneResult, tune

__all__ = ["SearchSpace", "TuneResult", "load_space", "tune"]

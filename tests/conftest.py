"""Shared fixtures: small simulated MLTree files, made once per test session.

Test data is generated, never committed. ``simulated(preset, events, seed, **options)``
returns the list of ROOT files that ``jetpointnet simulate`` wrote for those arguments;
the same arguments within one session reuse the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[Path]]:
    from jetpointnet.simulate.run import SimulateConfig, simulate

    cache: dict[tuple, list[Path]] = {}

    def make(preset: str = "rho", events: int = 50, seed: int = 1, **options) -> list[Path]:
        key = (preset, events, seed, tuple(sorted(options.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"sim-{preset}-{seed}")
            cfg = SimulateConfig(preset=preset, events=events, seed=seed, out=out, **options)
            cache[key] = simulate(cfg, progress=False)
        return cache[key]

    return make

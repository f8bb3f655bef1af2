"""Shared fixtures: small simulated MLTree files, made once per test session, and the
simulator's detector description (``geo``, ``mat``).

Test data is generated, never committed. ``simulated(preset, events, seed, **options)``
returns the list of ROOT files that ``jetpointnet simulate`` wrote for those arguments;
the same arguments within one session reuse the same files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Under pytest-xdist (``scripts/test.sh`` runs one worker per core) each worker, and every
# process it starts, keeps to one thread: PyTorch's and OpenMP's default of one thread per
# core would put cores x workers threads on the machine and slow every worker down.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")


# The test files that take longest, longest first (``--durations=0`` on the 2 CI cores,
# 2026-12-03: 390 s down to 110 s each; together half of the suite's 31 CPU-minutes).
# ``scripts/test.sh`` hands whole files to the workers in collection order
# (``--dist loadfile --no-loadscope-reorder``), so these start first and the short files fill
# in around them; in pytest-xdist's own order (most tests first) the demo's single test
# started last and ran alone for minutes at the end.
LONGEST_FIRST = (
    "test_demo.py",
    "test_training_rho.py",
    "test_event_run.py",
    "test_simulate_physics.py",
    "test_gpu_check.py",
    "test_notebooks.py",
    "test_jets.py",
    "test_tagging_run.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the files of :data:`LONGEST_FIRST` first, in that order; every other file keeps
    its place, and the tests within a file keep theirs."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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


@pytest.fixture(scope="session")
def geo():
    """The simulated calorimeter's cell geometry (:func:`build_geometry`, cached)."""
    from jetpointnet.simulate.geometry import build_geometry

    return build_geometry()


@pytest.fixture(scope="session")
def mat():
    """The material table between calorimeter layers (:func:`material_table`, cached)."""
    from jetpointnet.simulate.material import material_table

    return material_table()

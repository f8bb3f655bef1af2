"""benchmarks/bench_event_regions.py and bench_event_jets.py: what they measure and print."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import bench_event_jets
import bench_event_regions

from jetpointnet.data.event_samples import RegionConfig


@pytest.fixture(scope="module")
def events(simulated):
    files = simulated("rho", events=6, seed=7)
    return bench_event_regions._events([Path(f) for f in files], 6, perigee=False)


def test_a_halo_holds_more_of_the_showers(events):
    small = {"mode": "region", "deta": 0.3, "dphi": 0.3}
    bare = bench_event_regions.measure(events, RegionConfig(**small))
    halo = bench_event_regions.measure(events, RegionConfig(halo=0.2, **small))
    whole = bench_event_regions.measure(events, RegionConfig(mode="region", deta=10.0,
                                                             dphi=2 * math.pi))  # fmt: skip
    assert 0 < bare["charged_outside"] <= 1 and 0 < bare["neutral_outside"] <= 1
    assert halo["charged_outside"] < bare["charged_outside"]
    assert halo["neutral_outside"] < bare["neutral_outside"]
    assert halo["cells_mean"] > bare["cells_mean"]
    assert halo["samples_per_event"] == bare["samples_per_event"]
    assert whole["charged_outside"] == pytest.approx(0.0, abs=1e-6)
    assert whole["neutral_outside"] == pytest.approx(0.0, abs=1e-6)


def _row(b: str, q68: float, median: float = 0.9) -> dict:
    return {"bin": b, "n_truth": 10, "e": {"n": 10, "q68": q68, "q68_err": 0.01,
                                           "median": median}}  # fmt: skip


def test_the_jet_table_gives_multiples_of_classical():
    summary = {"events": 3, "mean_mu": None, "algorithms": ["calo", "classical", "event:r"],
               "response": {"calo": [_row("20-40", 0.3)], "classical": [_row("20-40", 0.2)],
                            "event:r": [_row("20-40", 0.1), _row("40-60", 0.1)]}}  # fmt: skip
    text = bench_event_jets.table("nopu", summary)
    assert "| event:r | 0.100 ± 0.010 (0.50x) | 0.100 ± 0.010 |" in text
    assert "| calo | 0.300 ± 0.010 (1.50x) | - |" in text
    assert "20-40 GeV (10)" in text

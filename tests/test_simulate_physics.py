"""The ATLAS figures the simulation reproduces (CALO.md, PFLOW.md, the simulate issue).

These run the generator and the detector on a few hundred single particles each; the
branches are exactly what the files hold (``stack_events`` is the writer's input).
"""

from __future__ import annotations

import numpy as np
import pytest

from jetpointnet.simulate.assemble import stack_events
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import SourceOptions, make_source
from jetpointnet.simulate.geometry import build_geometry
from jetpointnet.simulate.material import material_table
from jetpointnet.simulate.validation import (
    em_design_resolution,
    fit_resolution,
    photon_response,
    pion_e_over_p,
)

pytestmark = pytest.mark.slow


def _sample(particle: str, energy: float, n: int, seed: int):
    geo, mat = build_geometry(), material_table()
    src = iter(
        make_source(
            SourceOptions(preset="gun", particle=particle, energy=energy, eta_range=(-0.5, 0.5)),
            seed,
        )
    )
    rng = np.random.default_rng(seed)
    return stack_events([simulate_event(next(src), geo, mat, rng) for _ in range(n)])


@pytest.fixture(scope="module")
def photon_points():
    energies = (5.0, 10.0, 20.0, 50.0, 100.0)
    return [photon_response(_sample("gamma", e, 250, 100 + i)) for i, e in enumerate(energies)]


def test_photon_response_close_to_one(photon_points):
    for p in photon_points:
        # EM scale: upstream material (~2 X0) and leakage cost a few per cent
        assert 0.93 < p["response"] < 1.01, p


def test_photon_resolution_matches_atlas_design(photon_points):
    e = np.array([p["energy"] for p in photon_points])
    fit = fit_resolution(
        e,
        np.array([p["resolution"] for p in photon_points]),
        np.array([p["error"] for p in photon_points]),
    )
    # the stochastic and constant terms (noise term removed) within 20 % of
    # 10 %/sqrt(E) (+) 0.7 % at 10, 50 and 100 GeV
    for energy in (10.0, 50.0, 100.0):
        ours = float(fit(energy, with_noise=False))
        target = float(em_design_resolution(energy))
        assert ours == pytest.approx(target, rel=0.2), (energy, ours, target, fit)
    # the noise term of ATLAS EM clusters at mu = 0 is a few hundred MeV
    assert 0.05 < fit.noise < 0.5, fit
    # measured points (with noise) follow the fit
    for p in photon_points:
        assert p["resolution"] == pytest.approx(float(fit(p["energy"])), rel=0.25)


@pytest.mark.parametrize(
    ("energy", "lo", "hi"), [(2.0, 0.35, 0.65), (10.0, 0.50, 0.80), (40.0, 0.60, 0.90)]
)
def test_pion_e_over_p_within_eflowrec_span(energy, lo, hi):
    r = pion_e_over_p(_sample("pi+", energy, 250, int(energy)))
    assert lo <= r["mean"] <= hi, r
    # the hadronic resolution is of the order of 50 %/sqrt(E) (+) 3 %
    target = np.hypot(0.5 / np.sqrt(energy), 0.03)
    if energy >= 10:
        assert 0.5 * target < r["resolution_nonzero"] < 2.0 * target, r
    if energy == 2.0:
        # some low-energy tracks leave no cluster in the cone (ATLAS: 20-30 % at 1-2 GeV)
        assert 0.03 < r["no_cluster_fraction"] < 0.4, r

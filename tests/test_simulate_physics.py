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
    ATLAS_PION_EOP,
    EFLOWREC_EOP_25GEV,
    EFLOWREC_TAIL_SLOPES,
    clusters_for_fraction,
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
    if energy == 2.0:
        # some low-energy tracks leave no cluster in the cone (ATLAS: 20-30 % at 1-2 GeV)
        assert 0.02 < r["no_cluster_fraction"] < 0.4, r


@pytest.mark.parametrize("energy", sorted(ATLAS_PION_EOP))
def test_pion_e_over_p_matches_atlas(energy):
    """<E/p> (clusters within Delta-R 0.2, EM scale) within 10 % of ATLAS (CALO.md)."""
    n = 800 if energy < 10 else 300  # cheap low-energy events, the widest E/p spread
    r = pion_e_over_p(_sample("pi+", energy, n, 200 + int(energy)))
    assert r["mean"] == pytest.approx(ATLAS_PION_EOP[energy], rel=0.10), r


@pytest.fixture(scope="module")
def pion_templates(tmp_path_factory):
    """Templates measured by the classical algorithm's own code on 20-25 GeV pions."""
    from jetpointnet.evaluation.pflow.build import build_templates
    from jetpointnet.evaluation.pflow.templates import ENERGY_NODES
    from jetpointnet.simulate.run import SimulateConfig, simulate

    cfg = SimulateConfig(preset="gun", particle="pi+", energy_range=(20.0, 25.0),
                         eta_range=(-0.5, 0.5), events=1200, seed=31, events_per_file=1200,
                         out=tmp_path_factory.mktemp("pions-20-25"))  # fmt: skip
    files = simulate(cfg, progress=False)
    return build_templates([str(f) for f in files], progress=False), ENERGY_NODES.index(25.0)


# With eflowRec's depth-normalised LHED (density gradient over the depth at the back of each
# layer) the thin EM3 layer wins for most late showers: 25 GeV pions are ~60 % EM3 and only
# ~4 % Tile (49 of 1,200 here), and those few spread more than eflowRec's Tile category.
_TILE_FEW = pytest.mark.xfail(
    strict=True,
    reason="Tile LHED: ~50 of 1,200 pions, spread 0.22-0.26 against eflowRec's 0.177 (issue 12)",
)


@pytest.mark.parametrize("cat", ["EM1", "EM2", "EM3", pytest.param("Tile", marks=_TILE_FEW)])
def test_e_over_p_spread_per_lhed_matches_eflowrec(pion_templates, cat):
    """sigma(E/p)/<E/p> at 25 GeV per LHED within 20 % of eflowRec mc20 (0.18-0.28)."""
    tpl, node = pion_templates
    k = tpl.categories.index(cat)
    assert tpl.count[node, 0, k] >= 100
    mean, sigma = EFLOWREC_EOP_25GEV[cat]
    ours = tpl.sigma[node, 0, k] / tpl.mean[node, 0, k]
    assert ours == pytest.approx(sigma / mean, rel=0.20), (cat, ours, sigma / mean)


def test_two_cluster_pions_are_common():
    """20 GeV pions: ATLAS-like showers often need two clusters for 90 % (was 14 %)."""
    needed, lead = clusters_for_fraction(_sample("pi+", 20.0, 200, 77), fraction=0.9)
    assert np.mean(needed >= 2) > 0.3
    assert np.mean(lead) < 0.88  # the leading cluster held 93 % before


@pytest.mark.parametrize(("group", "name"), [("EM2", "EM2"), ("Tile1", "Tile")])
def test_ring_profile_tail_slopes_within_eflowrec_range(pion_templates, group, name):
    """The fitted tail slope (longer exponential, eta-phi) of the ring profiles of the
    LHED categories with enough tracks, within eflowRec's fitted range."""
    tpl, _ = pion_templates
    lo, hi = EFLOWREC_TAIL_SLOPES[name]
    slopes = []
    for cat in ("EM1", "EM2", "EM3", "Tile"):
        p0, p1, p2, p3 = tpl.profiles.get(cat, {}).get(group, (0, 0, 0, 0))
        if p0 > 0:
            slopes.append(max(p1, p3) if p2 > 0 else p1)
    assert len(slopes) >= 3
    assert lo <= np.median(slopes) <= hi, slopes

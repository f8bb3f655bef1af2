"""The classical algorithm's steps on hand-made cell patterns (GeV)."""

from __future__ import annotations

import numpy as np
import pytest
from pflow_helpers import cells_concat, shower, track

from jetpointnet.evaluation.pflow.algorithm import (
    PflowParams,
    TrackStatus,
    run_event,
    subtract_rings,
)
from jetpointnet.evaluation.pflow.layers import GROUPS
from jetpointnet.evaluation.pflow.templates import eflowrec_reference

PION = {"EMB2": 2.0, "EMB3": 0.5, "TileBar0": 2.0, "TileBar1": 1.0}  # 5.5 GeV


def const(mean: float, sigma: float):
    return lambda p, eta, cat: (mean, sigma)


def flat_profile(category, group, r):
    return np.exp(-np.asarray(r) / 0.05)


def run(cells, tracks, expect, **params):
    return run_event(
        cells, tracks, expect=expect, profile=flat_profile, params=PflowParams(**params)
    )


def check_bounds(cells, res):
    a = res.attribution
    assert np.all(a >= 0)
    assert np.all(a.sum(axis=0) <= np.maximum(cells.energy, 0) + 1e-12)


def test_whole_cluster_when_consistent():
    cells = shower(0.1, 0.2, PION)
    res = run(cells, track([10.0], [0.1], [0.2]), const(0.55, 0.1))
    assert res.status[0] == TrackStatus.WHOLE_CLUSTER
    assert res.attribution.sum() == pytest.approx(cells.energy.sum())
    check_bounds(cells, res)


def test_rings_remove_expected_energy_only():
    cells = cells_concat(shower(0.1, 0.2, PION), shower(0.13, 0.22, {"EMB2": 20.0}))
    res = run(cells, track([10.0], [0.1], [0.2]), const(0.5, 0.05), veto=False)
    assert res.status[0] == TrackStatus.RINGS
    assert res.e_exp[0] == pytest.approx(5.0)
    assert res.attribution.sum() == pytest.approx(5.0)
    assert not res.remnant_removed[0]
    check_bounds(cells, res)


def test_never_more_than_cell_energy_with_negative_cells_and_two_tracks():
    cells = shower(0.1, 0.2, PION)
    cells.energy[::7] = -0.05  # noise cells with negative energy
    res = run(cells, track([30.0, 20.0], [0.1, 0.12], [0.2, 0.21]), const(0.9, 0.05), veto=False)
    check_bounds(cells, res)
    assert res.attribution[:, cells.energy < 0].sum() == 0.0
    # the harder track went first and took everything it could
    assert res.attribution[0].sum() == pytest.approx(np.maximum(cells.energy, 0).sum())


def test_ring_order_follows_expected_density():
    # two rings: EM2 ring 0 (dR 0.005) and Tile0 ring 0 (dR 0.02), 1 GeV each
    energy = np.array([1.0, 1.0])
    r = np.array([0.005, 0.02])
    group = np.array([GROUPS.index("EM2"), GROUPS.index("Tile0")])

    def prefer(tile_first: bool):
        def profile(category, g, rr):
            big = (g == "Tile0") == tile_first
            return np.full(np.shape(rr), 10.0 if big else 1.0)

        return profile

    take = subtract_rings(energy, r, group, 0.5, category="EM1", profile=prefer(False))
    assert take.tolist() == [0.5, 0.0]
    take = subtract_rings(energy, r, group, 0.5, category="EM1", profile=prefer(True))
    assert take.tolist() == [0.0, 0.5]
    # the LHED's innermost ring goes first whatever the profile says
    take = subtract_rings(energy, r, group, 0.5, category="Tile", profile=prefer(False))
    assert take.tolist() == [0.0, 0.5]
    # a ring below what is needed goes whole, the next is scaled
    take = subtract_rings(energy, r, group, 1.5, category="EM1", profile=prefer(False))
    assert take.tolist() == [1.0, 0.5]
    # rings run out: cells by increasing dR, never more than they hold
    take = subtract_rings(
        np.array([1.0, 1.0]),
        np.array([0.9, 0.8]),
        group,
        1.5,
        category="EM1",
        profile=prefer(False),
    )
    assert take.tolist() == [0.5, 1.0]


def test_remnant_rule_when_tracks_share_a_cluster():
    cells = shower(0.1, 0.2, {"EMB2": 11.8})
    trk = track([10.0, 9.0], [0.1, 0.11], [0.2, 0.2])

    def expect(p, eta, cat):  # E_exp 5 GeV, sigma 1 GeV for each track
        return 5.0 / p, 1.0 / p

    res = run(cells, trk, expect, veto=False)
    assert list(res.status) == [TrackStatus.RINGS, TrackStatus.RINGS]
    assert res.remnant_removed.tolist() == [False, True]  # 1.8 < 1.5 * sqrt(2)
    assert res.attribution.sum() == pytest.approx(11.8)
    off = run(cells, trk, expect, veto=False, remnant_sigma=0.0)
    assert off.attribution.sum() == pytest.approx(10.0)
    check_bounds(cells, res)


def test_dense_environment_veto():
    cells = shower(0.1, 0.2, {"EMB2": 2.0})
    trk = track([2.0], [0.1], [0.2])  # pT ~ 2 GeV: threshold 33.2 log10(20) = 43.2
    res = run(cells, trk, const(0.5, 0.01))  # pull = (2 - 1) / 0.02 = 50
    assert res.status[0] == TrackStatus.VETOED and res.attribution.sum() == 0.0
    res = run(cells, trk, const(0.5, 0.05))  # pull = 10: subtracted
    assert res.status[0] != TrackStatus.VETOED and res.attribution.sum() > 0
    res = run(cells, trk, const(0.5, 0.01), veto=False)
    assert res.attribution.sum() > 0


def test_split_shower_recovery():
    core = shower(0.1, 0.2, {"EMB2": 2.0}, cluster=0)
    split = shower(0.2, 0.25, {"TileBar0": 3.0}, cluster=1)  # centre within 0.2, dR' > 1.64
    cells = cells_concat(core, split)
    trk = track([10.0], [0.1], [0.2])
    res = run(cells, trk, const(0.5, 0.1))  # S = (2 - 5) / 1 = -3 < -1
    assert res.split_recovery[0] and res.n_matched[0] == 2
    assert res.attribution[0, cells.cluster == 1].sum() > 0
    off = run(cells, trk, const(0.5, 0.1), split_shower=False)
    assert off.n_matched[0] == 1 and off.attribution[0, cells.cluster == 1].sum() == 0
    check_bounds(cells, res)


def test_unmatched_and_unselected_tracks():
    cells = shower(0.1, 0.2, {"EMB2": 0.3})
    res = run(cells, track([10.0, 0.3, 10.0], [0.1, 0.1, 1.5], [0.2, 0.2, 2.5]), const(0.5, 0.1))
    # 0.3 GeV cluster < 0.1 p; 0.3 GeV track below pT 0.5; far track matches nothing
    assert res.status.tolist() == [
        TrackStatus.NO_MATCH,
        TrackStatus.NOT_SELECTED,
        TrackStatus.NO_MATCH,
    ]
    assert res.attribution.sum() == 0


def test_reference_templates_run():
    cells = shower(0.1, 0.2, PION)
    t = eflowrec_reference()
    res = run_event(cells, track([10.0], [0.1], [0.2]), expect=t.expect, profile=t.profile)
    assert res.e_exp[0] > 0 and res.lhed[0] >= 0
    check_bounds(cells, res)

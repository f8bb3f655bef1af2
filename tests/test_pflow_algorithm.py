"""The classical algorithm's rules on hand-made cell patterns (GeV), one test per rule."""

from __future__ import annotations

import numpy as np
import pytest
from pflow_helpers import cells_concat, shower, track

from jetpointnet.evaluation.pflow.algorithm import PflowParams, TrackStatus, run_event
from jetpointnet.evaluation.pflow.layers import (
    GROUPS,
    LHED_GROUPS,
    RING_WIDTH,
    density_conversion,
    depth_ends,
    lhed_group,
)
from jetpointnet.evaluation.pflow.subtraction import ring_ranks, subtract_rings
from jetpointnet.evaluation.pflow.templates import eflowrec_reference
from jetpointnet.io.mltree_layout import TRACK_LAYERS

PION = {"EMB2": 2.0, "EMB3": 0.5, "TileBar0": 2.0, "TileBar1": 1.0}  # 5.5 GeV


def const(mean: float, sigma: float):
    return lambda e, eta, cat: (mean, sigma)


def per_track(values: dict[float, tuple[float, float]]):
    """E_exp and sigma (GeV) by track energy (rounded to 0.1 GeV)."""

    def expect(e, eta, cat):
        m, s = values[round(e, 1)]
        return m / e, s / e

    return expect


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
    assert res.e_exp[0] == pytest.approx(0.5 * np.hypot(10.0, 0.13957))
    assert res.attribution.sum() == pytest.approx(res.e_exp[0])
    assert not res.remnant_removed[0]
    check_bounds(cells, res)


def test_templates_see_track_energy_and_eta_at_em1():
    cells = shower(0.1, 0.2, PION)
    trk = track([0.6], [0.1], [0.2])
    trk.layer_eta[0, TRACK_LAYERS.index("EMB1")] = 0.04
    seen = []

    def expect(e, eta, cat):
        seen.append((e, eta))
        return 0.5, 0.1

    run(cells, trk, expect, veto=False)
    assert seen[0] == pytest.approx((np.hypot(0.6, 0.13957), 0.04))


def test_upper_pt_cut_is_configurable_default_100_gev():
    cells = shower(0.1, 0.2, {"EMB2": 40.0, "TileBar0": 15.0})
    trk = track([60.0], [0.1], [0.2])
    # (no veto: above 40 GeV its threshold 33.2 log10(40 / pT) is negative)
    res = run(cells, trk, const(0.9, 0.1), veto=False)
    assert res.status[0] == TrackStatus.WHOLE_CLUSTER
    res = run(cells, trk, const(0.9, 0.1), veto=False, max_pt=40.0)
    assert res.status[0] == TrackStatus.NOT_SELECTED


def test_group_sums_drive_the_whole_cluster_removal():
    # one 11.8 GeV cluster, two tracks with E_exp 5 and sigma 1 each: alone, each would go to
    # rings (11.8 - 5 > 1.5); as a group, 11.8 - 10 < 1.5 sqrt(2), so the cluster goes whole,
    # shared in proportion to E_exp
    cells = shower(0.1, 0.2, {"EMB2": 11.8})
    trk = track([10.0, 9.0], [0.1, 0.11], [0.2, 0.2])
    expect = per_track({10.0: (5.0, 1.0), 9.0: (5.0, 1.0)})
    res = run(cells, trk, expect, veto=False)
    assert res.status.tolist() == [TrackStatus.WHOLE_CLUSTER] * 2
    assert res.attribution.sum(axis=1) == pytest.approx([5.9, 5.9])
    check_bounds(cells, res)


def test_group_sums_drive_the_eop_check():
    # 8 GeV for two tracks of E_exp 5: each alone passes (8 > 5 - 1), the group fails
    # (8 < 10 - sqrt(2)): both go to the recovery pass, the harder one first
    cells = shower(0.1, 0.2, {"EMB2": 8.0})
    trk = track([10.0, 9.0], [0.1, 0.11], [0.2, 0.2])
    expect = per_track({10.0: (5.0, 1.0), 9.0: (5.0, 1.0)})
    res = run(cells, trk, expect, veto=False)
    assert res.split_recovery.tolist() == [True, True]
    assert res.status.tolist() == [TrackStatus.RINGS, TrackStatus.WHOLE_CLUSTER]
    assert res.attribution.sum(axis=1) == pytest.approx([5.0, 3.0])
    off = run(cells, trk, expect, veto=False, split_shower=False)
    assert off.attribution.sum() == 0 and off.status.tolist() == [TrackStatus.NO_MATCH] * 2


def test_tracks_match_the_original_clusters():
    # two tracks on one 5.5 GeV cluster with 27 and 18 GeV expected: matched to the original
    # cluster, the group fails E/p; in recovery the harder track removes the cluster whole
    # and the softer one, matched to the same cluster before that, has nothing left
    cells = shower(0.1, 0.2, PION)
    cells.energy[::7] = -0.05  # noise cells with negative energy
    res = run(cells, track([30.0, 20.0], [0.1, 0.12], [0.2, 0.21]), const(0.9, 0.05), veto=False)
    check_bounds(cells, res)
    assert res.attribution[:, cells.energy < 0].sum() == 0.0
    assert res.attribution[0].sum() == pytest.approx(np.maximum(cells.energy, 0).sum())
    assert res.status.tolist() == [TrackStatus.WHOLE_CLUSTER] * 2
    assert res.split_recovery.all() and res.attribution[1].sum() == 0.0


def test_remnant_rule_uses_the_tracks_own_sigma():
    # a lone track: 7 GeV, E_exp 5, sigma 1; rings take 5, the 2 GeV left go with a 3 sigma
    # remnant cut but stay with eflowRec's 1.5 sigma
    cells = shower(0.1, 0.2, {"EMB2": 7.0})
    expect = per_track({10.0: (5.0, 1.0), 9.0: (5.0, 1.0), 8.0: (5.0, 2.0)})
    lone = track([10.0], [0.1], [0.2])
    assert run(cells, lone, expect, veto=False).attribution.sum() == pytest.approx(5.0)
    res = run(cells, lone, expect, veto=False, remnant_sigma=3.0)
    assert res.remnant_removed[0] and res.attribution.sum() == pytest.approx(7.0)
    # two tracks (sigma 2 and 1) on 14 GeV: the second leaves 4 GeV, above 3 x its own
    # sigma (the quadrature sum 3 sqrt(5) = 6.7 would have removed it)
    cells = shower(0.1, 0.2, {"EMB2": 14.0})
    two = track([8.0, 9.0], [0.1, 0.11], [0.2, 0.2])
    two.pt[:] = [9.5, 9.0]  # the sigma-2 track is the harder one
    res = run(cells, two, expect, veto=False, remnant_sigma=3.0)
    assert res.status.tolist() == [TrackStatus.RINGS, TrackStatus.RINGS]
    assert not res.remnant_removed.any()
    assert res.attribution.sum() == pytest.approx(10.0)


def test_dense_environment_veto():
    cells = shower(0.1, 0.2, {"EMB2": 2.0})
    trk = track([2.0], [0.1], [0.2])  # pT ~ 2 GeV: threshold 33.2 log10(20) = 43.2
    res = run(cells, trk, const(0.5, 0.01))  # pull = (2 - 1) / 0.02 = 50
    assert res.status[0] == TrackStatus.VETOED and res.attribution.sum() == 0.0
    assert res.pull[0] == pytest.approx((2.0 - res.e_exp[0]) / res.sigma[0])
    res = run(cells, trk, const(0.5, 0.05))  # pull = 10: subtracted
    assert res.status[0] != TrackStatus.VETOED and res.attribution.sum() > 0
    res = run(cells, trk, const(0.5, 0.01), veto=False)
    assert res.attribution.sum() > 0


def test_veto_pull_before_subtraction_on_positive_clusters():
    big = shower(0.1, 0.2, {"EMB2": 18.0}, cluster=0)  # the hard track's cluster
    small = shower(0.16, 0.26, {"EMB2": 1.0}, cluster=1)  # the soft track's
    neg = shower(0.2, 0.2, {"EMB2": -3.0}, cluster=2)  # a cluster of negative energy
    cells = cells_concat(big, small, neg)
    trk = track([20.0, 2.0], [0.1, 0.16], [0.2, 0.26])
    expect = per_track({20.0: (18.0, 1.0), 2.0: (1.8, 0.1)})
    res = run(cells, trk, expect)
    # the hard track removes its cluster whole, yet the soft track's pull counts it:
    # (18 + 1 - 1.8) / 0.1 = 172 (the negative cluster left out) > 43
    assert res.status[0] == TrackStatus.WHOLE_CLUSTER
    assert res.status[1] == TrackStatus.VETOED
    assert res.pull[1] == pytest.approx((19.0 - 1.8) / 0.1, rel=1e-6)
    assert res.attribution[1].sum() == 0.0


def test_split_shower_recovery_is_a_second_pass():
    core = shower(0.1, 0.2, {"EMB2": 2.0}, cluster=0)
    split = shower(0.2, 0.25, {"TileBar0": 3.0}, cluster=1)  # centre within 0.2 of track A
    cells = cells_concat(core, split)
    lone = track([10.0], [0.1], [0.2])
    res = run(cells, lone, const(0.5, 0.1), veto=False)  # S = (2 - 5) / 1 < -1: recovery
    assert res.split_recovery[0] and res.n_matched[0] == 2
    assert res.attribution[0, cells.cluster == 1].sum() == pytest.approx(3.0)
    # a softer track B on the split cluster subtracts in the first pass, before A recovers
    trk = track([10.0, 3.0], [0.1, 0.2], [0.2, 0.25])
    expect = per_track({10.0: (5.0, 1.0), 3.0: (1.5, 0.3)})
    res = run(cells, trk, expect, veto=False)
    assert res.status.tolist() == [TrackStatus.WHOLE_CLUSTER, TrackStatus.RINGS]
    assert res.split_recovery.tolist() == [True, False]
    assert res.attribution.sum(axis=1) == pytest.approx([3.5, 1.5])
    check_bounds(cells, res)


def test_unmatched_and_unselected_tracks():
    cells = shower(0.1, 0.2, {"EMB2": 0.3})
    res = run(cells, track([10.0, 0.3, 10.0], [0.1, 0.1, 1.5], [0.2, 0.2, 2.5]), const(0.5, 0.1))
    # 0.3 GeV cluster < 0.1 E; 0.3 GeV track below pT 0.5; far track matches nothing
    assert res.status.tolist() == [
        TrackStatus.NO_MATCH,
        TrackStatus.NOT_SELECTED,
        TrackStatus.NO_MATCH,
    ]
    assert res.attribution.sum() == 0


def test_lhed_is_the_largest_depth_normalised_gradient():
    depth = depth_ends(0.0)
    assert np.all(np.diff(depth) > 0)
    assert depth_ends(1.0)[2] == pytest.approx(depth[2] * np.cosh(1.0))
    barrel = np.array([not n.startswith("HEC") for n in LHED_GROUPS])
    x0 = density_conversion()
    dens = np.zeros(len(LHED_GROUPS))
    em2, tile0 = LHED_GROUPS.index("EM2"), LHED_GROUPS.index("Tile0")
    dens[em2] = 1.0 / x0[em2]  # 1 GeV per X0^3 ...
    dens[tile0] = 1.5 / x0[tile0]  # ... and 1.5 deeper: the larger plain increase
    # EM2: 1 / 0.87 lambda; Tile0: 1.5 / (0.08 + 0.47 + 1.5) lambda
    assert lhed_group(dens, depth, barrel) == em2
    assert int(np.argmax(np.diff(np.r_[0.0, dens * x0]))) == tile0  # plain differences
    dens[tile0] = 3.0 / x0[tile0]
    assert lhed_group(dens, depth, barrel) == tile0
    assert lhed_group(np.zeros(len(LHED_GROUPS)), depth, barrel) == 0  # EM1, as eflowRec
    only_tile = np.array([n.startswith("Tile") for n in LHED_GROUPS])
    dens[:] = 0.0
    dens[em2] = 5.0
    assert lhed_group(dens, depth, only_tile) == tile0  # groups the track misses are skipped


def test_ring_rank_is_the_mean_of_the_profile_over_the_ring():
    w = RING_WIDTH["EM2"]
    got = ring_ranks("EM1", GROUPS.index("EM2"), 3, lambda c, g, r: 2.0 * np.exp(-r / 0.03))
    a, b = np.arange(3) * w, (np.arange(3) + 1) * w
    want = 2.0 * 0.03 * (np.exp(-a / 0.03) - np.exp(-b / 0.03)) / w
    assert got == pytest.approx(want, rel=1e-9)


def test_rings_of_all_layers_ordered_together():
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
    # no ring is first by rule: the Tile LHED's own first ring waits for the denser EM2 one
    take = subtract_rings(energy, r, group, 0.5, category="Tile", profile=prefer(False))
    assert take.tolist() == [0.5, 0.0]
    # a ring below what is needed goes whole, the next is scaled
    take = subtract_rings(energy, r, group, 1.5, category="EM1", profile=prefer(False))
    assert take.tolist() == [1.0, 0.5]
    # rings run out (beyond r_max): cells by increasing dR, never more than they hold
    take = subtract_rings(
        np.array([1.0, 1.0]), np.array([0.9, 0.8]), group, 1.5,
        category="EM1", profile=prefer(False),
    )  # fmt: skip
    assert take.tolist() == [0.5, 1.0]


def test_reference_templates_run():
    cells = shower(0.1, 0.2, PION)
    t = eflowrec_reference()
    res = run_event(cells, track([10.0], [0.1], [0.2]), expect=t.expect, profile=t.profile)
    assert res.e_exp[0] > 0 and res.lhed[0] >= 0
    check_bounds(cells, res)

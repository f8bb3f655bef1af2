"""The W' -> WZ signal preset, the JZ5 slice on large-R jets, and the status-2 bosons."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jetpointnet.errors import UserError
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import SourceOptions, make_source

_QUARKS = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def wprime():
    """The source and three events, with Pythia's full record of each."""
    source = make_source(SourceOptions(preset="wprime-wz"), seed=11)
    it = iter(source)
    events, records = [], []
    for _ in range(3):
        events.append(next(it))
        ev = source.pythia.event
        records.append([(p.id(), p.daughterList(), p.isFinal()) for p in ev])
    return events, records


def test_wprime_decays_to_w_and_z_with_quark_daughters(wprime):
    events, records = wprime
    for ev, rec in zip(events, records, strict=True):
        wp = [r for r in rec if abs(r[0]) == 34]
        assert wp, "no W' in the event"
        last = wp[-1]  # the decaying copy
        assert sorted(abs(rec[d][0]) for d in last[1]) == [23, 24]
        assert ev.decayed is not None
        assert sorted(np.abs(ev.decayed.pdg).tolist()) == [23, 24]
        for pdg in ev.decayed.pdg:
            # the decaying copy of each boson: daughters are quarks only
            copies = [r for r in rec if r[0] == pdg and r[1]]
            daughters = {abs(rec[d][0]) for d in copies[-1][1]}
            assert daughters <= set(_QUARKS), daughters
        assert np.all(ev.decayed.e > 0) and np.all((ev.decayed.m > 40) & (ev.decayed.m < 140))
        assert not np.isin(np.abs(ev.pdg), (23, 24, 34)).any()  # final state only


def test_bosons_are_status_2_after_the_final_state_and_never_deposit(wprime, geo, mat):
    ev = wprime[0][0]
    rec = simulate_event(ev, geo, mat, np.random.default_rng(4), keep_spots=True)
    bare = simulate_event(dataclasses.replace(ev, decayed=None), geo, mat,
                          np.random.default_rng(4))  # fmt: skip
    n = ev.size
    v = rec.values
    assert v["nTruthPart"] == n + 2
    assert v["truthPartStatus"][:n].tolist() == [1] * n
    assert v["truthPartStatus"][n:].tolist() == [2, 2]
    assert sorted(np.abs(v["truthPartPdgId"][n:]).tolist()) == [23, 24]
    pt = np.hypot(ev.decayed.px, ev.decayed.py)
    np.testing.assert_allclose(v["truthPartPt"][n:], pt, rtol=1e-5)
    # nothing of the detector refers to them, and the detector output is unchanged
    assert rec.spots.particle.max() < n
    assert rec.nested["cluster_cell_hitsTruthIndex"][0].max() < n
    assert np.max(v["trackTruthParticleIndex"], initial=-1) < n
    for name, val in bare.values.items():
        if not name.startswith(("truthPart", "truthVertex", "nTruthPart")):
            np.testing.assert_array_equal(np.asarray(val), np.asarray(v[name]), err_msg=name)
    for name, parts in bare.nested.items():
        for a, b in zip(parts, rec.nested[name], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_event_truth_branches_cover_the_status_2_bosons(wprime, geo, mat):
    """Per-particle event-truth branches have one entry per truth row, bosons included."""
    ev = wprime[0][0]
    rec = simulate_event(ev, geo, mat, np.random.default_rng(4), event_truth=True)
    v, n = rec.values, ev.size
    for name in ("truthPartCaloETrue", "truthPartCaloEVis"):
        assert len(v[name]) == v["nTruthPart"] == n + 2, name
        assert v[name][n:].tolist() == [0.0, 0.0], name  # the bosons deposit nothing
    assert "cluster_cell_hitsTruthEVis" in rec.nested


def test_jz5_on_large_r_jets_and_bad_radius():
    import pythia8mc

    src = make_source(SourceOptions(preset="dijet-jz5", slice_radius=1.0), seed=3)
    next(iter(src))
    jets = pythia8mc.SlowJet(-1, 1.0, 5.0, 4.9, 2, 2)
    jets.analyze(src.pythia.event)
    assert 800.0 <= jets.pT(0) < 1300.0
    with pytest.raises(UserError, match="slice-radius"):
        make_source(SourceOptions(preset="dijet-jz5", slice_radius=0.8), seed=3)

"""ALP events (issue 15): the ``alp`` gun, ``h2aa`` in Pythia 8, and their truth record."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import uproot
from scipy import stats

from jetpointnet.cli import main
from jetpointnet.errors import UserError
from jetpointnet.simulate.alp_sources import (
    ALP_ID,
    check_only_alp_decays_change,
    h2aa_settings,
    two_photon_decay,
)
from jetpointnet.simulate.generators import SourceOptions, make_source
from jetpointnet.simulate.pythia_record import new_pythia


def _gun(n: int, seed: int = 5, **kw) -> list:
    opts = {"preset": "alp", "alp_mass": 2.0, "energy_range": (10.0, 200.0),
            "decay_length": (100.0, 3000.0), **kw}  # fmt: skip
    it = iter(make_source(SourceOptions(**opts), seed))
    return [next(it) for _ in range(n)]


def _mass(px, py, pz, e) -> float:
    return float(np.sqrt(max(0.0, np.sum(e) ** 2 - np.sum(px) ** 2 - np.sum(py) ** 2
                                  - np.sum(pz) ** 2)))  # fmt: skip


# ----------------------------------------------------------------------------- the gun
def test_gun_decay_lengths_uniform_and_vertices_on_the_alp_line():
    events = _gun(1500)
    lengths = []
    for ev in events:
        a = ev.decayed
        assert ev.pdg.tolist() == [22, 22] and a.pdg.tolist() == [ALP_ID]
        assert (a.vx[0], a.vy[0], a.vz[0]) == (0.0, 0.0, 0.0)  # produced at the origin
        v = np.array([ev.vx[0], ev.vy[0], ev.vz[0]])
        np.testing.assert_array_equal(v, [ev.vx[1], ev.vy[1], ev.vz[1]])
        p = np.array([a.px[0], a.py[0], a.pz[0]])
        length = float(np.linalg.norm(v))
        # the decay vertex lies on the ALP's flight line, ahead of the origin
        np.testing.assert_allclose(v, length * p / np.linalg.norm(p), atol=1e-9 * length)
        lengths.append(length)
    lengths = np.asarray(lengths)
    assert lengths.min() >= 100.0 and lengths.max() <= 3000.0
    assert stats.kstest(lengths, stats.uniform(100.0, 2900.0).cdf).pvalue > 1e-3


def test_gun_photons_make_the_alp_mass_and_decay_isotropically():
    events = _gun(1500)
    cos_star = []
    for ev in events:
        a = ev.decayed
        assert _mass(ev.px, ev.py, ev.pz, ev.e) == pytest.approx(2.0, rel=1e-7)
        np.testing.assert_allclose(
            [ev.px.sum(), ev.py.sum(), ev.pz.sum(), ev.e.sum()],
            [a.px[0], a.py[0], a.pz[0], a.e[0]], rtol=1e-10, atol=1e-9,
        )  # fmt: skip
        assert np.all(ev.m == 0) and np.all(ev.e > 0)
        # angle of photon 1 to the flight direction in the ALP's rest frame
        p, e = np.array([a.px[0], a.py[0], a.pz[0]]), a.e[0]
        u = p / np.linalg.norm(p)
        beta, gamma = np.linalg.norm(p) / e, e / 2.0
        k_par = gamma * (ev.px[0] * u[0] + ev.py[0] * u[1] + ev.pz[0] * u[2] - beta * ev.e[0])
        cos_star.append(k_par)  # over |k*| = m / 2 = 1 GeV
    cos_star = np.asarray(cos_star)
    assert np.all(np.abs(cos_star) <= 1 + 1e-9)
    assert stats.kstest(cos_star, stats.uniform(-1.0, 2.0).cdf).pvalue > 1e-3
    eta = np.array([np.arcsinh(ev.decayed.pz[0] / np.hypot(ev.decayed.px[0], ev.decayed.py[0]))
                    for ev in events])  # fmt: skip
    assert np.abs(eta).max() < 2.5 and eta.std() > 1.2  # flat in (-2.5, 2.5)


def test_two_photon_decay_at_rest_is_back_to_back():
    g1, g2 = two_photon_decay(np.random.default_rng(1), np.zeros(3), 0.4)
    np.testing.assert_allclose(g1[:3], -g2[:3])
    np.testing.assert_allclose([g1[3], g2[3], np.linalg.norm(g1[:3])], [0.2, 0.2, 0.2])


def test_prompt_sample_decays_at_the_primary_vertex_and_is_reproducible():
    events = _gun(50, decay_length=(0.0, 0.0), energy=40.0, energy_range=None)
    for ev in events:
        assert np.all(ev.vx == 0) and np.all(ev.vy == 0) and np.all(ev.vz == 0)
        assert ev.decayed.e[0] == 40.0
    again = _gun(50, decay_length=(0.0, 0.0), energy=40.0, energy_range=None)
    other = _gun(50, seed=6, decay_length=(0.0, 0.0), energy=40.0, energy_range=None)
    np.testing.assert_array_equal(np.concatenate([e.px for e in events]),
                                  np.concatenate([e.px for e in again]))  # fmt: skip
    assert not np.array_equal(events[0].px, other[0].px)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"preset": "alp", "energy": 50.0}, "needs --alp-mass"),
        ({"preset": "alp", "alp_mass": 1.0}, "exactly one of --energy"),
        ({"preset": "alp", "alp_mass": 60.0, "energy": 50.0}, "must exceed --alp-mass"),
        ({"preset": "alp", "alp_mass": 1.0, "energy": 5.0, "decay_length": (10.0, 1.0)},
         "--decay-length needs 0 <= LO <= HI"),
        ({"preset": "alp", "alp_mass": 1.0, "energy": 5.0, "alp_ctau": 10.0}, "--alp-ctau is for"),
        ({"preset": "h2aa", "alp_mass": 70.0, "alp_ctau": 10.0}, "--alp-mass must be in (0, 62.5)"),
        ({"preset": "h2aa", "alp_mass": 10.0}, "needs --alp-ctau"),
        ({"preset": "h2aa", "alp_mass": 10.0, "alp_ctau": -1.0}, "--alp-ctau must be >= 0"),
        ({"preset": "h2aa", "alp_mass": 10.0, "alp_ctau": 1.0, "decay_length": (0.0, 5.0)},
         "--decay-length is for --preset alp"),
        ({"preset": "rho", "alp_mass": 1.0}, "apply to --preset h2aa or alp, not rho"),
    ],
)  # fmt: skip
def test_bad_alp_options_are_one_line_user_errors(kw, needle):
    with pytest.raises(UserError) as info:
        make_source(SourceOptions(**kw), 1)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_written_file_holds_the_status_2_alp_and_the_decay_vertices(capsys, tmp_path):
    code = main(["simulate", "--quiet", "--preset", "alp", "--alp-mass", "0.5", "--energy-range",
                 "20", "80", "--decay-length", "0", "2000", "--events", "4", "--seed", "9",
                 "--out", str(tmp_path)])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    (path,) = tmp_path.glob("alp_seed9_*.root")
    names = ["truthPartPdgId", "truthPartStatus", "truthPartBarcode", "truthPartE",
             "truthPartEta", "truthPartPhi", "truthVertexX", "truthVertexY", "truthVertexZ",
             "truthPartParentBarcode", "truthPartParentPdgId", "truthPartCaloETrue",
             "mcChannelNumber"]  # fmt: skip
    with uproot.open(path) as f:
        t = f["EventTree"].arrays(names, library="np")
    assert len(t["truthPartPdgId"]) == 4
    for i in range(4):
        r = {k: np.asarray(v[i]) for k, v in t.items() if k != "mcChannelNumber"}
        assert r["truthPartPdgId"].tolist() == [22, 22, ALP_ID]
        assert r["truthPartStatus"].tolist() == [1, 1, 2]
        alp_bc = r["truthPartBarcode"][2]
        assert r["truthPartParentBarcode"][:2].tolist() == [alp_bc, alp_bc]
        assert r["truthPartParentPdgId"][:2].tolist() == [ALP_ID, ALP_ID]
        v = np.stack([r["truthVertexX"], r["truthVertexY"], r["truthVertexZ"]], axis=1)
        np.testing.assert_array_equal(v[2], 0.0)  # the ALP's production vertex: the PV
        np.testing.assert_array_equal(v[0], v[1])
        length = np.linalg.norm(v[0])
        assert 0.0 <= length <= 2000.0 * (1 + 1e-6)
        # the decay vertex lies along the ALP's direction (eta, phi)
        eta, phi = r["truthPartEta"][2], r["truthPartPhi"][2]
        if length > 1.0:
            assert np.arctan2(v[0, 1], v[0, 0]) == pytest.approx(phi, abs=1e-5)
            assert np.arcsinh(v[0, 2] / np.hypot(v[0, 0], v[0, 1])) == pytest.approx(eta, abs=1e-5)
        assert r["truthPartE"][:2].sum() == pytest.approx(r["truthPartE"][2], rel=1e-6)
        assert r["truthPartCaloETrue"][2] == 0.0  # the ALP itself is never simulated
    assert set(t["mcChannelNumber"].tolist()) == {900021}


# ----------------------------------------------------------------------------- h2aa
@pytest.fixture(scope="module")
def h2aa():
    """80 h2aa events (m_a = 10 GeV, c tau = 500 mm) and the parents of their particles."""
    src = make_source(SourceOptions(preset="h2aa", alp_mass=10.0, alp_ctau=500.0), seed=21)
    it = iter(src)
    out = []
    for _ in range(80):
        ev = next(it)
        out.append((ev, *src.parents(ev.barcode)))
    return out


def test_h2aa_alps_decay_to_photons_at_exponential_lengths(h2aa):
    proper = []
    for ev, parent, parent_pdg in h2aa:
        a = ev.decayed
        assert a.pdg.tolist() == [ALP_ID, ALP_ID]
        np.testing.assert_allclose(a.m, 10.0)
        pv = np.array([a.vx[0], a.vy[0], a.vz[0]])
        np.testing.assert_allclose([a.vx[1], a.vy[1], a.vz[1]], pv)  # both from the PV
        assert abs(pv[0]) < 1e-6 and abs(pv[1]) < 1e-6  # beam line; z smeared
        for j in range(2):
            sel = parent == a.barcode[j]
            assert sel.sum() == 2 and np.all(ev.pdg[sel] == 22)
            assert np.all(parent_pdg[sel] == ALP_ID)
            assert _mass(ev.px[sel], ev.py[sel], ev.pz[sel], ev.e[sel]) == pytest.approx(
                10.0, rel=1e-5
            )
            v = np.stack([ev.vx[sel], ev.vy[sel], ev.vz[sel]], axis=1)
            np.testing.assert_allclose(v[0], v[1])
            d = v[0] - pv
            p = np.array([a.px[j], a.py[j], a.pz[j]])
            length = float(np.linalg.norm(d))
            np.testing.assert_allclose(d, length * p / np.linalg.norm(p), atol=1e-6 * length + 1e-9)
            proper.append(length * a.m[j] / np.linalg.norm(p))  # L / (beta gamma), mm
        assert (parent_pdg == ALP_ID).sum() == 4  # nothing else comes from an ALP
    proper = np.asarray(proper)
    assert stats.kstest(proper, stats.expon(scale=500.0).cdf).pvalue > 1e-3
    assert proper.mean() == pytest.approx(500.0, rel=4 / np.sqrt(proper.size))


def test_raising_tau0max_is_refused_if_another_particle_would_start_decaying():
    import pythia8mc

    p = pythia8mc.Pythia("", False)
    for s in [*h2aa_settings(10.0, 5000.0), "321:mayDecay = on"]:  # K+- (c tau 3.7 m)
        assert p.readString(s), s
    with pytest.raises(RuntimeError, match=r"\[321\]"):
        check_only_alp_decays_change(p, 50_000.0)
    p.readString("321:mayDecay = off")
    ids = check_only_alp_decays_change(p, 50_000.0)
    assert {211, 321, 130, 13, 2112, 310, 3122, 511} <= set(ids)


def _composition(settings: list[str], n: int, seed: int):
    """Per-event counts of final-state species (ALPs and their photons left out), the
    species decayed at hadron level, and the full records (ids, statuses, momenta)."""
    p = new_pythia(settings, seed)
    per_event, decayed, records = [], set(), []
    for _ in range(n):
        while not p.next():
            pass
        ev, c = p.event, collections.Counter()
        for prt in ev:
            a = prt.idAbs()
            if a == ALP_ID or (prt.isFinal() and a == 22 and ev[prt.mother1()].idAbs() == ALP_ID):
                continue
            if prt.isFinal():
                c[a] += 1
            elif prt.daughter1() > 0 and 91 <= ev[prt.daughter1()].statusAbs() <= 99:
                decayed.add(a)
        per_event.append(c)
        records.append([(q.id(), q.status(), round(q.px(), 9), round(q.zProd(), 6)) for q in ev])
    return per_event, decayed, records


def test_tau0max_alone_changes_no_event():
    """c tau = 500 mm decays under the default tau0Max = 1000 too: raising it (to 5000)
    must leave every event identical, particle by particle."""
    n = 25
    raised = _composition(h2aa_settings(10.0, 500.0), n, seed=3)[2]
    default = _composition([*h2aa_settings(10.0, 500.0), "ParticleDecays:tau0Max = 1000"],
                           n, seed=3)[2]  # fmt: skip
    assert raised == default


@pytest.mark.slow
def test_final_state_composition_unchanged_by_the_alp_settings():
    """c tau = 5 m (tau0Max 50 m) against the same events with a stable ALP (tau0Max 1 m):
    the same species decay, the same stay stable, at the same rates per event."""
    n = 250
    a_ev, a_dec, _ = _composition(h2aa_settings(10.0, 5000.0), n, seed=7)
    b_ev, b_dec, _ = _composition(
        [*h2aa_settings(10.0, 5000.0), "36:mayDecay = off", "ParticleDecays:tau0Max = 1000"],
        n, seed=8,
    )  # fmt: skip
    a_fin = set().union(*a_ev)
    b_fin = set().union(*b_ev)
    assert not (a_fin & b_dec) and not (b_fin & a_dec)
    assert {211, 321, 130, 2212, 2112, 22, 11} <= a_fin & b_fin
    assert {111, 310, 3122, 411, 421, 511, 521} <= a_dec & b_dec
    for pdg in sorted(a_fin | b_fin):
        x = np.array([c[pdg] for c in a_ev], float)
        y = np.array([c[pdg] for c in b_ev], float)
        if x.sum() + y.sum() < 20:
            continue
        se = np.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)
        assert abs(x.mean() - y.mean()) < 4.5 * se, (pdg, x.mean(), y.mean())


@pytest.mark.slow
def test_h2aa_prompt_alps_decay_at_the_primary_vertex():
    src = make_source(SourceOptions(preset="h2aa", alp_mass=10.0, alp_ctau=0.0), seed=2)
    it = iter(src)
    for _ in range(5):
        ev = next(it)
        _, parent_pdg = src.parents(np.concatenate([ev.barcode, ev.decayed.barcode]))
        photons = parent_pdg[: ev.size] == ALP_ID
        assert photons.sum() == 4 and parent_pdg[ev.size :].tolist() == [25, 25]  # H -> a a
        a = ev.decayed
        np.testing.assert_allclose(ev.vz[photons], a.vz[0], atol=1e-9)
        np.testing.assert_allclose(np.hypot(ev.vx[photons], ev.vy[photons]), 0.0, atol=1e-9)

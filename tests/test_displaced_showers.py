"""Particles born away from the interaction point shower from their birth point, along
their own line (simulate/lines.py, simulate/detector.py)."""

from __future__ import annotations

import numpy as np
import pytest

from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import TruthEvent
from jetpointnet.simulate.geometry import layer_index
from jetpointnet.simulate.lines import LinePath, envelope, line_table
from jetpointnet.simulate.material import DEAD
from jetpointnet.simulate.params import LAYERS

_LAYER = layer_index()


def _particles(rows: list[tuple]) -> TruthEvent:
    """One event of particles (pdg, E GeV, eta, phi, vx, vy, vz mm) built by hand: eta and
    phi are the momentum's direction."""
    a = np.array(rows, dtype=np.float64)
    pdg = a[:, 0].astype(np.int32)
    e, eta, phi = a[:, 1], a[:, 2], a[:, 3]
    m = np.where(np.abs(pdg) == 211, 0.13957, 0.0)
    pt = np.sqrt(e**2 - m**2) / np.cosh(eta)
    charge = np.where(np.abs(pdg) == 211, np.sign(pdg), 0.0).astype(np.float64)
    return TruthEvent(
        pdg=pdg, px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=e, m=m,
        vx=a[:, 4], vy=a[:, 5], vz=a[:, 6], charge=charge,
        barcode=np.arange(1, len(rows) + 1, dtype=np.int32),
    )  # fmt: skip


def _direction(eta: float, phi: float) -> np.ndarray:
    return np.array([np.cos(phi) / np.cosh(eta), np.sin(phi) / np.cosh(eta), np.tanh(eta)])


def _spots(geo, mat, truth, seed):
    rng = np.random.default_rng(seed)
    rec = simulate_event(truth, geo, mat, rng, keep_spots=True, event_truth=True)
    return rec, rec.spots


def _line_at(v, u, layer: int, spots_xyz) -> tuple[float, float]:
    """(eta, phi) of the line v + s u where it reaches the deposits' mean depth in
    ``layer`` (their mean r in a barrel layer, mean abs(z) in an end-cap one)."""
    x, y, z = spots_xyz
    if LAYERS[layer].kind == "r":
        r = np.hypot(x, y).mean()
        a, b = u[0] ** 2 + u[1] ** 2, v[0] * u[0] + v[1] * u[1]
        s = (-b + np.sqrt(b * b - a * (v[0] ** 2 + v[1] ** 2 - r * r))) / a
    else:
        s = (np.sign(u[2]) * np.abs(z).mean() - v[2]) / u[2]
    p = v + s * u
    return float(np.arcsinh(p[2] / np.hypot(p[0], p[1]))), float(np.arctan2(p[1], p[0]))


def test_a_line_along_a_projective_ray_crosses_the_projective_table(mat):
    # born 300 mm out on its own ray from the origin, before the upstream material: the
    # same segments and depths as the table's row, counted from the birth point
    for eta in (0.3012, 0.8123, 1.3123, 1.4537, 2.0037):
        u = _direction(eta, 0.4)
        b = tuple(300.0 * u[:, None])
        lt = line_table(mat, LinePath(b, b, tuple(u[:, None]), radius=envelope(mat)))
        row = mat.row(np.array([eta]))
        ahead = mat.cum_x0[row[0], -1] - mat.depth_at(row, np.array([300.0]), unit="x0")[0]
        assert lt.cum_x0[0, -1] == pytest.approx(ahead, abs=1e-3)
        mine = (lt.s1[0] > lt.s0[0]) & (lt.layer[0] != DEAD)
        its = (mat.s1[row[0]] > mat.s0[row[0]]) & (mat.layer[row[0]] != DEAD)
        assert lt.layer[0][mine].tolist() == mat.layer[row[0]][its].tolist()
        assert lt.s0[0][mine] + 300.0 == pytest.approx(mat.s0[row[0]][its], abs=1e-3)
        assert lt.s1[0][mine] + 300.0 == pytest.approx(mat.s1[row[0]][its], abs=1e-3)


def test_the_material_crossed_along_a_line_that_is_not_projective(mat):
    # born at (800, 0, 0) mm, flying along y (eta 0): the upstream slab (r 410-1410 mm at
    # eta 0) from the birth point to r = 1410 mm, then each barrel layer where the line
    # crosses its radii: s = sqrt(r^2 - 800^2), longer than the radial thickness
    lt = line_table(mat, LinePath((np.array([800.0]), np.zeros(1), np.zeros(1)),
                                  (np.array([800.0]), np.zeros(1), np.zeros(1)),
                                  (np.zeros(1), np.ones(1), np.zeros(1)), radius=envelope(mat)))  # fmt: skip

    def cross(r):
        return np.sqrt(r * r - 800.0**2)

    seg = {
        int(li): (a, b_)
        for a, b_, li in zip(lt.s0[0], lt.s1[0], lt.layer[0], strict=True)
        if b_ > a
    }
    for name in ("PreSamplerB", "EMB1", "EMB2", "EMB3"):
        spec = LAYERS[_LAYER[name]]
        # (to 0.01 mm: the table's radii are those of its row's central eta, 0.0025)
        assert seg[_LAYER[name]] == pytest.approx((cross(spec.lo), cross(spec.hi)), abs=1e-2)
    first = lt.layer[0] != DEAD
    up = lt.cum_x0[0, np.argmax(first)]  # depth crossed before the presampler
    assert up == pytest.approx(cross(1410.0) * mat.x0_per_mm[0, 0], rel=1e-3)
    assert lt.cum_x0[0, 0] == 0.0 and lt.s0[0, 0] == 0.0  # depth 0 at the birth point


def test_a_photon_born_inside_emb2_deposits_nothing_before_it(geo, mat):
    # born at r = 1700 mm (EMB2: 1587-1930 mm), on a projective ray and across one
    rows = [(22, 40.0, 0.3, ph, *(1700.0 * np.array([np.cos(ph), np.sin(ph), np.sinh(0.3)])))
            for ph in 0.2 + 0.5 * np.arange(4)]  # fmt: skip
    rows += [(22, 40.0, 0.5, -1.0 - 0.5 * k, 1700.0 * np.cos(-1.0 - 0.5 * k),
              1700.0 * np.sin(-1.0 - 0.5 * k), 0.0) for k in range(4)]  # fmt: skip
    truth = _particles(rows)
    _, sp = _spots(geo, mat, truth, 3)
    assert sp.particle.size > 0 and np.unique(sp.particle).size == truth.size
    assert not np.isin(sp.layer, [_LAYER["PreSamplerB"], _LAYER["EMB1"]]).any()
    # no deposit before the birth point along the photon's direction
    v = np.stack([truth.vx, truth.vy, truth.vz])[:, sp.particle]
    p = np.stack([truth.px, truth.py, truth.pz])[:, sp.particle] / truth.e[sp.particle]
    along = ((np.stack([sp.x, sp.y, sp.z]) - v) * p).sum(axis=0)
    assert along.min() >= 0.0
    # and the shower is there: mostly in EMB2 (~12 X0 of it ahead), some in EMB3 and the
    # Tile calorimeter, some lost in the cryostat between them
    true = np.bincount(sp.particle, weights=sp.e_true, minlength=truth.size)
    assert np.all(true <= truth.e * (1 + 1e-9)) and np.all(true > 0.5 * truth.e)
    assert sp.e_true[sp.layer == _LAYER["EMB2"]].sum() > 0.5 * true.sum()


# (eta, phi, vertex): barrel at r = 800 and 1600 mm, vertices at z = +-500 mm, end-caps
_VERTICES = [
    (0.2, 0.7, (800.0, 0.0, 0.0)),
    (-0.3, 2.5, (-500.0, 620.0, 0.0)),
    (0.5, 0.0, (1600.0, 0.0, 0.0)),
    (0.4, -2.0, (0.0, 0.0, 500.0)),
    (-0.6, 1.2, (0.0, 0.0, -500.0)),
    (0.9, -0.8, (400.0, -400.0, 500.0)),
    (2.0, 0.3, (200.0, 0.0, 2000.0)),
    (-2.2, 1.5, (0.0, 500.0, -3000.0)),
]


def test_displaced_photons_deposit_along_their_true_line(geo, mat):
    # in every layer holding at least 1 % of a photon's energy, the energy-weighted centre
    # of its cells lies within two cells of the photon's line, where the line reaches the
    # deposits' mean depth
    truth = _particles([(22, 50.0, eta, phi, *v) for eta, phi, v in _VERTICES])
    _, sp = _spots(geo, mat, truth, 5)
    cell = geo.lookup(sp.layer, np.arcsinh(sp.z / np.hypot(sp.x, sp.y)), np.arctan2(sp.y, sp.x))
    off = []  # (photon, layer, offset in eta cells, in phi cells)
    for k, (eta, phi, v) in enumerate(_VERTICES):
        mine = (sp.particle == k) & (cell >= 0)
        for layer in np.unique(sp.layer[mine]):
            m = mine & (sp.layer == layer)
            w = sp.e_true[m]
            if w.sum() < 0.01 * truth.e[k] or m.sum() < 5:
                continue
            c = cell[m]
            eta_c = np.average(geo.eta[c], weights=w)
            phi_c = np.angle(np.average(np.exp(1j * geo.phi[c]), weights=w))
            eta_l, phi_l = _line_at(np.array(v), _direction(eta, phi), layer,
                                    (sp.x[m], sp.y[m], sp.z[m]))  # fmt: skip
            off.append((k, LAYERS[layer].name, (eta_c - eta_l) / np.median(geo.deta[c]),
                        np.angle(np.exp(1j * (phi_c - phi_l))) / np.median(geo.dphi[c])))  # fmt: skip
    assert {o[0] for o in off} == set(range(len(_VERTICES)))
    assert len(off) >= len(_VERTICES) + 6
    worst = max(off, key=lambda o: max(abs(o[2]), abs(o[3])))
    assert max(abs(worst[2]), abs(worst[3])) <= 2.0, worst
    # barrel photons stay in the barrel, end-cap photons in the end-caps
    endcap = np.array([LAYERS[li].kind == "z" for li in sp.layer])
    assert not endcap[sp.particle < 6].any() and endcap[sp.particle >= 6].all()


@pytest.mark.parametrize("z0", [-500.0, 500.0])
def test_pointing_from_emb1_to_emb2_recovers_the_vertex(geo, mat, z0):
    # 30 photons of 50 GeV from (0, 0, z0), abs(eta) < 0.8: the line through the deposits'
    # energy-weighted centres in EMB1 and EMB2 meets the beam at z0 (resolution ~50-60 mm
    # per photon; cells place deposits at their layer's mid radius, so a pointing from
    # cell centres needs the showers' mean radii instead: ~1557 mm in EMB1, ~1670 in EMB2)
    rng = np.random.default_rng(int(z0) + 1000)
    rows = [(22, 50.0, rng.uniform(-0.8, 0.8), ph, 0.0, 0.0, z0)
            for ph in np.linspace(-3.0, 3.0, 30)]  # fmt: skip
    truth = _particles(rows)
    _, sp = _spots(geo, mat, truth, 19)
    z_est = []
    for k in range(truth.size):
        rz = []
        for name in ("EMB1", "EMB2"):
            m = (sp.particle == k) & (sp.layer == _LAYER[name])
            w = sp.e_vis[m]
            rz.append((np.average(np.hypot(sp.x[m], sp.y[m]), weights=w),
                       np.average(sp.z[m], weights=w)))  # fmt: skip
        (r1, z1), (r2, z2) = rz
        z_est.append(z1 - r1 * (z2 - z1) / (r2 - r1))
    z_est = np.array(z_est)
    assert abs(np.median(z_est) - z0) < 40.0
    assert np.percentile(np.abs(z_est - z0), 68) < 100.0


def test_the_issue_photon_deposits_near_its_own_eta(geo, mat):
    # born at (1600, 0, 0) mm with eta = 0.5: its line reaches eta ~ 0.05 in EMB2, where
    # the front of the end-cap plane (eta 0.41 seen from the origin) once put it
    truth = _particles([(22, 50.0, 0.5, 0.0, 1600.0, 0.0, 0.0)])
    _, sp = _spots(geo, mat, truth, 7)
    emb2 = sp.layer == _LAYER["EMB2"]
    assert sp.e_true[emb2].sum() > 0.6 * truth.e[0]
    eta = np.average(np.arcsinh(sp.z / np.hypot(sp.x, sp.y)), weights=sp.e_true)
    assert 0.02 < eta < 0.08
    assert all(LAYERS[li].kind == "r" for li in np.unique(sp.layer))


def test_displaced_photons_conserve_energy_like_prompt_ones(geo, mat):
    # 30 photons at the origin and 30 born 300 mm out on the same rays, before the
    # upstream material: the same material ahead, so the same deposits (true, visible,
    # per layer) within the statistics; true deposits never exceed the photon energy
    n, eta = 30, 0.4
    phis = np.linspace(-np.pi, np.pi, n, endpoint=False)
    prompt = [(22, 20.0, eta, ph, 0.0, 0.0, 0.0) for ph in phis]
    out = [(22, 20.0, eta, ph + 0.1, *(300.0 * _direction(eta, ph + 0.1))) for ph in phis]
    truth = _particles(prompt + out)
    rec, sp = _spots(geo, mat, truth, 11)
    true = np.bincount(sp.particle, weights=sp.e_true, minlength=truth.size)
    assert np.all(true <= truth.e * (1 + 1e-9))
    calo = rec.values["truthPartCaloETrue"]  # the same energy, seen in cells
    assert np.allclose(calo, true, rtol=1e-5)
    vis = np.bincount(sp.particle, weights=sp.e_vis, minlength=truth.size)
    for name, x in (("true", true), ("visible", vis)):
        a, b = x[:n] / 20.0, x[n:] / 20.0
        err = np.hypot(a.std(), b.std()) / np.sqrt(n)
        assert abs(a.mean() - b.mean()) < 4 * err + 0.005, (name, a.mean(), b.mean(), err)
    for layer in ("PreSamplerB", "EMB1", "EMB2"):
        m = sp.layer == _LAYER[layer]
        f = np.bincount(sp.particle[m], weights=sp.e_true[m], minlength=truth.size) / 20.0
        err = np.hypot(f[:n].std(), f[n:].std()) / np.sqrt(n)
        assert abs(f[:n].mean() - f[n:].mean()) < 4 * err + 0.005, layer


def test_particles_born_beyond_the_calorimeter_deposit_nothing(geo, mat):
    # decays far down the beam pipe (Pythia decays K0S and Lambda wherever they fly):
    # nothing ahead of them, where they once showered from the calorimeter front
    truth = _particles([
        (22, 50.0, 3.0, 0.0, 0.0, 0.0, 8000.0),
        (211, 80.0, -3.0, 1.0, 700.0, 0.0, -11000.0),
        (22, 30.0, 1.0, 0.5, 4500.0, 2500.0, 5000.0),
    ])  # fmt: skip
    rec, sp = _spots(geo, mat, truth, 13)
    assert sp.particle.size == 0
    assert np.all(rec.values["truthPartCaloETrue"] == 0)


def test_charged_particles_born_beyond_the_tracker_have_no_track(geo, mat):
    # the tracker's vertex cut (DetectorParams.track_vertex_r_max, 300 mm); the pions shower
    # from their birth points either way
    rows = [(211, 20.0, 0.1, 0.4 * k, *(r * _direction(0.1, 0.4 * k)))
            for k, r in enumerate([100.0] * 4 + [250.0] * 4 + [800.0] * 4 + [1700.0] * 4)]  # fmt: skip
    truth = _particles(rows)
    rec, sp = _spots(geo, mat, truth, 17)
    tracked = set(rec.values["trackTruthParticleIndex"].tolist())
    assert tracked & {0, 1, 2, 3} and tracked & {4, 5, 6, 7}
    assert not tracked & set(range(8, 16))
    assert set(np.unique(sp.particle)) == set(range(16))
    born_in_emb2 = sp.particle >= 12
    assert not np.isin(sp.layer[born_in_emb2], [_LAYER["PreSamplerB"], _LAYER["EMB1"]]).any()

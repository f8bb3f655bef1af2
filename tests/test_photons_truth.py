"""photons.truth: the ALP photons (with and without the parent branches), the impact point."""

from __future__ import annotations

import numpy as np
import pytest
from photons_handmade import AlpEvent, Photon, alp_event, crossing, write_alp_events

from jetpointnet.io.mltree_reader import read_events
from jetpointnet.photons.truth import (
    FRONT_R_MM,
    FRONT_Z_MM,
    TRUTH_BRANCHES,
    TRUTH_BRANCHES_OPTIONAL,
    impact_point,
    truth_photons,
)


def test_impact_point_barrel_endcap_and_born_beyond():
    v = np.array([[0.0, 0, 0], [800.0, 0, 0], [0.0, 0, 500.0], [1600.0, 0, 0], [0, 0, 0]])
    eta = np.array([0.0, 0.0, 0.0, 0.5, 3.0])
    phi = np.array([0.0, np.pi / 2, 0.0, 0.0, 0.0])
    p = impact_point(v, eta, phi)
    np.testing.assert_allclose(p[0], [FRONT_R_MM, 0, 0], atol=1e-9)
    # born at x = 800 mm flying along +y: reaches r = 1500 at y = sqrt(1500^2 - 800^2)
    np.testing.assert_allclose(p[1], [800, np.sqrt(FRONT_R_MM**2 - 800**2), 0], atol=1e-6)
    np.testing.assert_allclose(p[2], [FRONT_R_MM, 0, 500], atol=1e-9)  # straight out from z = 500
    np.testing.assert_allclose(p[3], v[3])  # born beyond the front: its birth point
    assert p[4, 2] == pytest.approx(FRONT_Z_MM)  # eta = 3: the end-cap plane first
    assert np.hypot(p[4, 0], p[4, 1]) == pytest.approx(FRONT_Z_MM / np.sinh(3.0))


def _read(path):
    return read_events(str(path), list(TRUTH_BRANCHES), optional=list(TRUTH_BRANCHES_OPTIONAL),
                       entry_start=0, entry_stop=None)  # fmt: skip


@pytest.mark.parametrize("parents", [True, False])
def test_alp_photons_by_parent_or_by_decay_kinematics(tmp_path, parents):
    ev = alp_event(600.0, eta=0.4, phi=1.0)
    ev.photons.append(Photon(20.0, -0.5, -2.0))  # a prompt photon without a parent
    path = write_alp_events(tmp_path / "a.root", [ev, alp_event(0.0)], parents=parents)
    t = truth_photons(_read(path), gun_photons=True)
    # event 0: the two ALP photons only (it has an ALP, so no gun rule); event 1: two
    assert t.event.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(t.lxy[:2], 600.0, rtol=1e-5)
    np.testing.assert_allclose(t.z_decay[:2], 600.0 * np.sinh(0.4), rtol=1e-5)
    assert np.all(t.lxy[2:] == 0)
    # the impact point seen from the origin, not the momentum direction
    eta, phi = crossing(ev.photons[0], FRONT_R_MM)
    assert t.eta[0] == pytest.approx(eta, abs=1e-5) and t.phi[0] == pytest.approx(phi, abs=1e-5)
    assert abs(t.phi[0] - ev.photons[0].phi) > 0.1


def test_gun_rule_takes_every_photon_of_an_event_without_alp(tmp_path):
    gun = AlpEvent([Photon(50.0, 0.2, 0.3)], n_alps=0)
    path = write_alp_events(tmp_path / "g.root", [gun], parents=False)
    assert len(truth_photons(_read(path), gun_photons=True)) == 1
    assert len(truth_photons(_read(path), gun_photons=False)) == 0

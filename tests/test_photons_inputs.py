"""photons: the three input forms (image, graph, cells) and the pointing z0, on known cells."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from photons_handmade import LAYER_SHARES, alp_event, write_alp_events

from jetpointnet.data.geometry import CellTable
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.photons.build import build_chunk_photons
from jetpointnet.photons.config import PhotonPrepConfig
from jetpointnet.photons.graph import object_edges
from jetpointnet.photons.image import object_image
from jetpointnet.photons.layers import IMAGE_LAYERS, depth_of, group_of_depth
from jetpointnet.photons.preprocess import PHOTON_BRANCHES
from jetpointnet.photons.truth import TRUTH_BRANCHES_OPTIONAL


def _build(path, cls=0, **kw):
    ev = read_events(str(path), list(PHOTON_BRANCHES), optional=list(TRUTH_BRANCHES_OPTIONAL),
                     entry_start=0, entry_stop=None)  # fmt: skip
    table = CellTable.from_geometry(read_geometry(str(path)))
    cfg = PhotonPrepConfig(inputs={"prompt": ["x"]}, **kw)
    return build_chunk_photons(ev, table, SimpleNamespace(start=0, file_index=0), config=cfg,
                               class_index=cls)  # fmt: skip


def test_layer_groups_are_seed_003s():
    assert len(IMAGE_LAYERS) == 12
    assert depth_of(np.array([0, 1, 2, 3, 4, 8, 18, 20, 9, 12, 21])).tolist() == \
        [0, 1, 2, 3, 4, 8, 9, 11, -1, -1, -1]  # fmt: skip
    assert group_of_depth(np.arange(12)).tolist() == [0] * 4 + [1] * 5 + [2] * 3


def test_image_pixels_centred_and_normalised():
    img = object_image(np.array([0.0, 0.026, -0.2, 0.0]), np.array([0.0, -0.03, 0.0, 0.0]),
                       np.array([2, 1, 2, -1]), np.array([0.5, 0.3, 0.1, 0.1]))  # fmt: skip
    assert img.shape == (12, 15, 15) and img.dtype == np.float32
    assert img[2, 7, 7] == pytest.approx(0.5) and img[1, 8, 6] == pytest.approx(0.3)
    assert img.sum() == pytest.approx(0.8)  # one cell out of the window, one in no layer


def test_edges_within_a_layer_and_between_consecutive_layers_of_a_group():
    nodes = np.array([[0, 0, 0.4, 2], [0.05, 0, 0.2, 2], [0, 0.02, 0.2, 1], [0, 0, 0.1, 4],
                      [0.5, 0, 0.1, 2]], np.float32)  # fmt: skip
    e, n = object_edges(nodes, same_layer_dr=0.1, next_layer_dr=0.1, max_edges=100)
    got = {tuple(x) for x in e.tolist()}
    assert got == {(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)} and n == 6
    # EMB3 (depth 3) and PreSamplerE (4) are consecutive depths of two groups: no edge
    assert object_edges(nodes, same_layer_dr=0.1, next_layer_dr=0.1, max_edges=2)[0].shape == (2, 2)


def test_cells_graph_image_of_a_hand_made_photon(tmp_path):
    path = write_alp_events(tmp_path / "p.root", [alp_event(0.0, e=40.0, eta=0.3, phi=0.5)])
    got = _build(path)
    a = got.arrays
    assert got.cutflow == {"all": 2, "eta": 2, "matched": 2, "lxy": 2}
    assert a["obj_e"].tolist() == pytest.approx([24.0, 16.0], rel=1e-5)
    assert a["truth_e"].tolist() == pytest.approx([24.0, 16.0], rel=1e-5)
    n_cells = sum(len(o) for _, _, o in LAYER_SHARES)
    assert a["n_cells"].tolist() == [n_cells] * 2 and a["mask"].sum(1).tolist() == [n_cells] * 2
    x = a["X"][0][a["mask"][0]]
    assert x[:, 2].sum() == pytest.approx(1.0) and x[0, 2] == pytest.approx(0.45)  # EMB2 core
    assert x[0, 3] == 2 and x[0, 4] == pytest.approx(np.log(0.45 * 24))
    assert a["image"][0].sum() == pytest.approx(1.0)  # every cell within the window
    assert a["image"][0, 2].sum() == pytest.approx(0.55)
    # nodes: one per layer reached (PS, EMB1, EMB2, EMB3), energy fractions of the layers
    nodes = a["node_x"][0][a["node_mask"][0]]
    assert sorted(nodes[:, 3].tolist()) == [0, 1, 2, 3]
    assert nodes[:, 2].tolist() == pytest.approx([0.55, 0.30, 0.10, 0.05])
    p4 = a["p4"][0][a["mask"][0]]
    assert p4[:, 3].sum() == pytest.approx(24.0, rel=1e-5)
    assert np.hypot(p4[:, 0], p4[:, 1]) == pytest.approx(p4[:, 3] / np.cosh(np.arcsinh(
        p4[:, 2] / np.hypot(p4[:, 0], p4[:, 1]))), rel=1e-5)  # massless  # fmt: skip


@pytest.mark.parametrize("z0", [-500.0, 0.0, 500.0])
def test_pointing_z0_of_an_object_written_and_read_back(tmp_path, z0):
    # hand-made cells on the photon's line from (0, 0, z0) at their cells' own radii: the
    # pointing places each layer at the shower's radius instead, so z0 = 0 comes back
    # exactly and a displaced z0 with its sign and most of its size
    ev = alp_event(0.0, e=40.0, eta=0.2, phi=-1.0, z=z0)
    got = _build(write_alp_events(tmp_path / "z.root", [ev]))
    z = got.arrays["pointing_z0"]
    if z0 == 0.0:
        np.testing.assert_allclose(z, 0.0, atol=0.5)  # float32 geometry
    else:
        assert np.all(np.sign(z) == np.sign(z0)) and np.all(np.abs(z) > 0.3 * abs(z0))
    assert got.arrays["z_decay"].tolist() == [z0, z0]


@pytest.mark.parametrize("z0", [-500.0, 0.0, 500.0])
def test_pointing_recovers_z0_from_barycentres_at_the_shower_radii(z0):
    from jetpointnet.io.mltree_layout import SAMPLING
    from jetpointnet.photons.pointing import LAYER_FRONT_MM, SHOWER_DEPTH_MM, pointing_z0

    theta = 1.2  # polar angle of a photon line from (0, 0, z0)
    r = {n: LAYER_FRONT_MM[n] + SHOWER_DEPTH_MM[n] * np.sin(theta) for n in LAYER_FRONT_MM}
    eta = {n: np.arcsinh((z0 + r[n] / np.tan(theta)) / r[n]) for n in r}
    # two cells per layer either side of the barycentre, energies 1 and 3: weighted eta
    sampling = np.array([SAMPLING[n] for n in r for _ in range(2)])
    cell_eta = np.array([eta[n] + d for n in r for d in (0.003, -0.001)])
    e = np.array([1.0, 3.0, 1.0, 3.0])
    got = pointing_z0(sampling, np.zeros(4), cell_eta, e)
    assert got == pytest.approx(z0, abs=1.0)

"""Stage 1 on the hand-made MLTree file: exact samples, labels and provenance."""

from __future__ import annotations

import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.data.cone import cone_pairs, delta_phi, pair_order
from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.geometry import CellTable, layer_points
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.data.schema import CellClass
from jetpointnet.data.splits import assign_splits
from jetpointnet.io.mltree_layout import TRACK_LAYERS
from jetpointnet.io.mltree_reader import read_events, read_geometry

F, O, N, Z = CellClass.FOCAL, CellClass.OTHER_CHARGED, CellClass.NEUTRAL, CellClass.NOISE


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_handmade(tmp_path_factory.mktemp("hand") / "hand.root")


def _build(path: Path, **selection) -> tuple[ak.Array, dict[str, int]]:
    events = read_events(
        path, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL, entry_start=0, entry_stop=2
    )
    table = CellTable.from_geometry(read_geometry(path))
    return build_samples(events, table, selection=SelectionConfig(**selection), source=str(path))


def test_handmade_samples_exact(handmade: Path) -> None:
    s, drops = _build(handmade)
    # four usable tracks; the one without any extrapolation is dropped and counted
    assert drops["no_extrapolation"] == 1
    assert drops["cell_nan_energy"] == 1  # cell 2001 of event 1001
    assert drops["cell_not_in_geometry"] == 1  # cell 5001
    assert s.event_number.tolist() == [1000, 1000, 1000, 1001]
    assert s.entry.tolist() == [0, 0, 0, 1]
    assert s.track_index.tolist() == [0, 1, 2, 0]
    assert s.source.tolist() == [str(handmade)] * 4
    assert s.cells.id.tolist() == [
        [1001, 1002, 1003, 1004, 1005],
        [1001, 1002, 1003, 1004, 1005],
        [3001],
        [1006],  # across phi = +-pi: 3.1 vs -3.1
    ]
    # a cell in two clusters is one point with its full energy, from the larger share
    c0 = s.cells[0]
    assert np.allclose(c0.energy.to_numpy(), [2.0, 1.5, 0.8, 1.0, 0.05])
    assert c0.n_clusters.tolist() == [1, 1, 2, 1, 1]
    assert c0.cluster.tolist() == [0, 0, 0, 1, 1]
    # truth: focal share only, truth of the shared cell counted once, extra hit lists ignored
    assert np.allclose(c0.truth_focal.to_numpy(), [1.8, 0.5, 0.0, 0.0, 0.0])
    assert np.allclose(c0.truth_total.to_numpy(), [1.8, 1.2, 0.4, 0.9, 0.0])
    assert np.allclose(c0.truth_neutral.to_numpy(), [0, 0, 0.4, 0, 0])
    assert np.allclose(c0.truth_charged_other.to_numpy(), [0, 0.7, 0, 0.9, 0])
    assert c0.truth_lead_class.tolist() == [F, O, N, O, Z]
    assert c0.truth_lead_index.tolist() == [0, 1, 2, 1, -1]
    # the same cells seen from the second track: the shared 1002 is now focal (0.7 > 0.5)
    c1 = s.cells[1]
    assert np.allclose(c1.truth_focal.to_numpy(), [0.0, 0.7, 0.0, 0.9, 0.0])
    assert c1.truth_lead_class.tolist() == [O, F, N, F, Z]
    # focused track record
    t = s.track
    assert t.ref_layer.tolist() == [2, 2, 6, 2]
    assert t.truth_pdg.tolist() == [211, -211, 0, 211]
    assert np.allclose(t.truth_deposit.to_numpy(), [2.3, 1.6, 0.0, 0.9])
    assert np.isnan(t.truth_e[2])
    # the end-cap track at eta < 0 sits at z = -|z_EME2|, not mirrored
    eme2 = TRACK_LAYERS.index("EME2")
    assert t.layer_z[2][eme2] == pytest.approx(-3983.68, rel=1e-6)
    assert np.isnan(t.layer_x[0][TRACK_LAYERS.index("HEC0")])
    # neighbours: the two barrel tracks see each other
    assert s.others.index.tolist() == [[1], [0], [], []]
    assert s.others.dr[0][0] == pytest.approx(np.hypot(0.05, 0.1), rel=1e-5)
    # n_points = cells + focused layer points + others' layer points
    assert s.n_points.tolist() == [5 + 3 + 1, 5 + 1 + 3, 1 + 1, 1 + 1]
    # cell geometry: z = rPerp sinh(eta), Delta-R and 3-D distance to the track
    assert c0.z[0] == pytest.approx(1700 * np.sinh(0.1), rel=1e-5)
    assert c0.dr[2] == pytest.approx(np.hypot(0.05, 0.05), rel=1e-4)
    emb2 = TRACK_LAYERS.index("EMB2")
    pt = np.array([t.layer_x[0][emb2], t.layer_y[0][emb2], t.layer_z[0][emb2]])
    cell = np.array([c0.x[0], c0.y[0], c0.z[0]])
    assert c0.dist_track[0] <= np.linalg.norm(cell - pt) + 1e-3


def test_selection_windows_and_truth_requirement(handmade: Path) -> None:
    s, drops = _build(handmade, min_pt=4.0, require_truth=True, min_cells=2)
    assert drops["pt_window"] == 1  # the 2 GeV end-cap track (the 1 GeV one has no extrapolation)
    assert drops["no_truth_link"] == 0
    assert s.track_index.tolist() == [0, 1]
    assert drops["too_few_cells"] == 1  # event 1001's track has one cell
    s2, drops2 = _build(handmade, require_truth=True)
    assert drops2["no_truth_link"] == 1
    assert len(s2) == 3


def test_shuffled_geometry_lookup(handmade: Path) -> None:
    table = CellTable.from_geometry(read_geometry(handmade))
    rows, found = table.lookup(np.array([1005, 3001, 7777, 1001], dtype=np.uint64))
    assert found.tolist() == [True, True, False, True]
    assert table.ids[rows[found]].tolist() == [1005, 3001, 1001]
    assert table.layer[rows[1]] == 6


def test_layer_points_sides() -> None:
    eta = np.full((2, len(TRACK_LAYERS)), np.nan, np.float32)
    phi = np.zeros_like(eta)
    e2, b2 = TRACK_LAYERS.index("EME2"), TRACK_LAYERS.index("EMB2")
    eta[0, e2], eta[1, e2], eta[0, b2] = 2.0, -2.0, 0.5
    x, _, z = layer_points(eta, phi)
    assert z[0, e2] == pytest.approx(3983.68, rel=1e-6)
    assert z[1, e2] == pytest.approx(-3983.68, rel=1e-6)
    assert x[0, e2] == pytest.approx(x[1, e2], rel=1e-6)  # mirrored in z only, not through 0
    assert x[0, b2] == pytest.approx(1723.89, rel=1e-6)
    assert np.isnan(x[0, 0])


def test_grouped_samples_are_the_same_samples_grouped(handmade: Path) -> None:
    # group = each event's split: the samples come split by split, each in event order
    events = read_events(
        handmade,
        EVENT_BRANCHES_REQUIRED,
        optional=EVENT_BRANCHES_OPTIONAL,
        entry_start=0,
        entry_stop=2,
    )
    table = CellTable.from_geometry(read_geometry(handmade))
    plain, drops = build_samples(events, table, selection=SelectionConfig(), source="h")
    grouped, drops_g = build_samples(
        events, table, selection=SelectionConfig(), source="h", group=np.array([1, 0], np.int8)
    )
    assert drops_g == drops
    assert grouped.entry.tolist() == [1, 0, 0, 0]
    order = np.argsort(np.array([1, 0])[plain.entry.to_numpy()], kind="stable")
    assert grouped.type == plain.type
    assert ak.array_equal(grouped, plain[order], equal_nan=True)  # truth NaN where unknown


def test_cone_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    n_ev, nq, npt = 4, 60, 3000
    q_ev, p_ev = rng.integers(0, n_ev, nq), rng.integers(0, n_ev, npt)
    q_eta, p_eta = rng.uniform(-2.5, 2.5, nq), rng.uniform(-2.7, 2.7, npt)
    q_phi, p_phi = rng.uniform(-np.pi, np.pi, nq), rng.uniform(-np.pi, np.pi, npt)
    q_phi[:5] = [np.pi - 0.01, -np.pi + 0.01, 3.14, -3.14, 0.0]
    radius = rng.uniform(0.05, 0.4, nq)
    qi, pj, dr = cone_pairs(q_ev, q_eta, q_phi, radius, p_ev, p_eta, p_phi)
    dphi = (q_phi[:, None] - p_phi[None, :] + np.pi) % (2 * np.pi) - np.pi
    full = np.hypot(q_eta[:, None] - p_eta[None, :], dphi)
    want = np.argwhere((full < radius[:, None]) & (q_ev[:, None] == p_ev[None, :]))
    assert np.array_equal(np.stack([qi, pj], axis=1), want)
    assert np.allclose(dr, full[qi, pj], atol=1e-6)


def test_cone_pairs_grouped_events_match_brute_force() -> None:
    # points grouped by event, as the chunk's cells are: the pairs are ordered through the
    # position within the event (the radix keys stay small)
    rng = np.random.default_rng(4)
    q_ev, p_ev = rng.integers(0, 3, 40), np.sort(rng.integers(0, 3, 5000))
    q_eta, p_eta = rng.uniform(-1, 1, 40), rng.uniform(-1.2, 1.2, 5000)
    q_phi, p_phi = rng.uniform(-np.pi, np.pi, 40), rng.uniform(-np.pi, np.pi, 5000)
    qi, pj, _ = cone_pairs(q_ev, q_eta, q_phi, np.full(40, 0.3), p_ev, p_eta, p_phi)
    dphi = (q_phi[:, None] - p_phi[None, :] + np.pi) % (2 * np.pi) - np.pi
    full = np.hypot(q_eta[:, None] - p_eta[None, :], dphi)
    want = np.argwhere((full < 0.3) & (q_ev[:, None] == p_ev[None, :]))
    assert len(want) > 1000 and np.array_equal(np.stack([qi, pj], axis=1), want)


def test_delta_phi_is_the_modulo_bit_for_bit() -> None:
    # the conditional shifts give the same bits as (a - b + pi) % 2 pi - pi, edges included
    rng = np.random.default_rng(7)
    pi = np.pi
    edge = np.array([0.0, pi, -pi, 2 * pi, -2 * pi, 3 * pi, -3 * pi, 7 * pi, 1e-300, np.nan])
    edge = np.concatenate([edge, np.nextafter(edge, 0.0), np.nextafter(edge, 10.0)])
    cases = [
        (np.add.outer(edge, edge).ravel(), np.zeros(len(edge) ** 2)),
        (rng.uniform(-pi, pi, 100_000).astype(np.float32), rng.uniform(-pi, pi, 100_000)),
        (rng.uniform(0, 2 * pi, 100_000), rng.uniform(0, 2 * pi, 100_000)),
        (rng.uniform(-30, 30, 100_000), 0.4),
    ]
    for a, b in cases:
        want = (np.asarray(a, np.float64) - b + pi) % (2 * pi) - pi
        got = delta_phi(a, b)
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    assert delta_phi(np.float64(3.0), -3.0) == (6.0 + pi) % (2 * pi) - pi


@pytest.mark.parametrize("top", [10, 70_000, 5_000_000_000])
def test_pair_order_is_lexsort(top: int) -> None:
    rng = np.random.default_rng(top)
    major, minor = rng.integers(0, 90_000, 20_000), rng.integers(0, top, 20_000)
    minor[:50] = minor[50:100]  # equal pairs keep their order (stable)
    major[:50] = major[50:100]
    assert np.array_equal(pair_order(major, minor), np.lexsort((minor, major)))


def test_splits_reproducible_and_chunk_independent() -> None:
    ev = np.arange(20000)
    a = assign_splits(ev, seed=5, file_key="f.root")
    b = np.concatenate(
        [assign_splits(ev[i : i + 777], seed=5, file_key="f.root") for i in range(0, len(ev), 777)]
    )
    assert np.array_equal(a, b)
    frac = np.bincount(a, minlength=3) / len(a)
    assert np.allclose(frac, [0.8, 0.1, 0.1], atol=0.01)
    c = assign_splits(ev, seed=6, file_key="f.root")
    assert (a != c).mean() > 0.2  # another seed gives another split


def test_infinite_cell_energies_are_counted_apart_from_nan(handmade: Path) -> None:
    events = read_events(
        handmade, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL, entry_start=0,
        entry_stop=2,
    )  # fmt: skip
    table = CellTable.from_geometry(read_geometry(handmade))
    nan_samples, _ = build_samples(events, table, selection=SelectionConfig(), source="h")
    events["cluster_cell_E"] = ak.nan_to_num(events["cluster_cell_E"], nan=np.inf)
    s, drops = build_samples(events, table, selection=SelectionConfig(), source="h")
    assert drops["cell_inf_energy"] == 1 and drops["cell_nan_energy"] == 0
    assert ak.to_list(s.cells) == ak.to_list(nan_samples.cells)  # dropped all the same


def test_distance_to_track_is_the_nearest_layer_point_of_any_order() -> None:
    """Grouped by the layers each track reaches, the distance is still the minimum over
    all of its layer points (brute force), in any order of the points; inf without any."""
    from types import SimpleNamespace

    from jetpointnet.data.records import _dist_to_track

    rng = np.random.default_rng(3)
    n_tracks, n_layers, n = 40, len(TRACK_LAYERS), 3000
    lx, ly, lz = (rng.normal(0, 1500, (n_tracks, n_layers)).astype(np.float32) for _ in "xyz")
    reach = rng.random((n_tracks, n_layers)) < 0.35
    reach[0] = False  # a track that reaches no layer
    for layer in (lx, ly, lz):
        layer[~reach] = np.nan
    tr = SimpleNamespace(layer_x=lx, layer_y=ly, layer_z=lz)
    rows = np.sort(rng.integers(0, n_tracks, n))
    x, y, z = (rng.normal(0, 1500, n).astype(np.float32) for _ in "xyz")
    d = np.stack([x[:, None] - lx[rows], y[:, None] - ly[rows], z[:, None] - lz[rows]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: track 0
        brute = np.nanmin(np.sqrt((d.astype(np.float64) ** 2).sum(axis=0)), axis=1)
    brute[rows == 0] = np.inf
    got = _dist_to_track(tr, rows, x, y, z)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, brute, rtol=1e-5)
    assert np.isinf(got[rows == 0]).all() and np.isfinite(got[rows != 0]).all()
    shuffled = rng.permutation(n)
    again = _dist_to_track(tr, rows[shuffled], x[shuffled], y[shuffled], z[shuffled])
    assert np.array_equal(again, got[shuffled])
    assert len(_dist_to_track(tr, rows[:0], x[:0], y[:0], z[:0])) == 0

"""Stage 2 on the hand-made file: exact points, labels, truncation, both layouts."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.data.arrays import build_arrays, iter_samples
from jetpointnet.data.config import ArraysConfig, Scaling, SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.data.schema import IGNORE, PER_POINT, PER_SAMPLE, CellClass, PointType
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.prep_folder import load_arrays
from jetpointnet.io.sample_files import read_parquet, write_npz, write_parquet

F, O, N, Z = CellClass.FOCAL, CellClass.OTHER_CHARGED, CellClass.NEUTRAL, CellClass.NOISE
RAW = ArraysConfig(features=["energy", "dist_track", "type", "layer"], scaling={})


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> ak.Array:
    tmp = tmp_path_factory.mktemp("hand")
    path = write_handmade(tmp / "hand.root")
    events = read_events(
        path, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL, entry_start=0, entry_stop=2
    )
    table = CellTable.from_geometry(read_geometry(path))
    s, _ = build_samples(events, table, selection=SelectionConfig(), source=str(path))
    # through parquet and back, as stage 2 reads it
    return read_parquet(write_parquet(s, tmp / "s.parquet"))


def test_ragged_points_and_labels_exact(samples: ak.Array) -> None:
    a, stats = build_arrays(samples, config=RAW, length=100)
    assert stats == {"too_few_cells": 0, "samples_truncated": 0, "points_dropped": 0}
    assert a["offsets"].tolist() == [0, 9, 18, 20, 22]
    assert a["n_points"].tolist() == [9, 9, 2, 2]
    s0 = slice(0, 9)
    T, OT, C = PointType.FOCUSED_TRACK, PointType.OTHER_TRACK, PointType.CELL
    assert a["point_type"][s0].tolist() == [T, T, T, OT, C, C, C, C, C]
    assert np.allclose(a["energy"][s0], [10.05] * 3 + [5.06, 2.0, 1.5, 0.8, 1.0, 0.05])
    assert a["label_mask"][s0].tolist() == [False] * 4 + [True] * 5
    assert np.allclose(a["y_energy"][s0], [IGNORE] * 4 + [1.8, 0.5, 0, 0, 0])
    assert np.allclose(a["y_total"][s0], [IGNORE] * 4 + [1.8, 1.2, 0.4, 0.9, 0])
    assert np.allclose(a["y_fraction"][s0], [IGNORE] * 4 + [1.0, 0.5 / 1.2, 0, 0, 0])
    assert a["y_class"][s0].tolist() == [IGNORE] * 4 + [F, O, N, O, Z]
    assert a["y_binary"][s0].tolist() == [IGNORE] * 4 + [1, 0, 0, 0, 0]
    # the features are the raw values when no scaling is configured
    assert np.allclose(a["X"][s0, 0], a["energy"][s0])
    assert a["X"][s0, 1][:3].tolist() == [0, 0, 0]  # focused track points: distance 0
    assert a["X"][s0, 3].tolist() == [1, 2, 3, 2, 2, 2, 2, 2, 2]  # EMB1-3, then EMB2 cells
    # per-sample ids and summaries
    assert a["event_number"].tolist() == [1000, 1000, 1000, 1001]
    assert a["track_index"].tolist() == [0, 1, 2, 0]
    assert a["n_other_tracks"].tolist() == [1, 1, 0, 0]
    assert np.allclose(a["truth_focal_total"], [2.3, 1.6, 0.0, 0.9])
    assert a["min_dr_other"][0] == pytest.approx(np.hypot(0.05, 0.1), rel=1e-5)
    assert np.isinf(a["min_dr_other"][2])
    for name in (*PER_POINT, *PER_SAMPLE, "offsets"):
        assert name in a
    assert a["X"].dtype == np.float32 and a["y_class"].dtype == np.int8


def test_truncation_keeps_nearest_points(samples: ak.Array) -> None:
    a, stats = build_arrays(samples, config=RAW, length=6)
    assert stats == {"too_few_cells": 0, "samples_truncated": 2, "points_dropped": 6}
    assert a["n_points"].tolist() == [6, 6, 2, 2]
    # sample 0 keeps its 3 track points and the 3 cells nearest to the track
    s0 = slice(0, 6)
    assert a["point_type"][s0].tolist() == [1, 1, 1, 0, 0, 0]
    assert np.allclose(a["energy"][s0][3:], [2.0, 1.5, 0.8])
    kept = a["X"][s0, 1]
    dropped = samples.cells.dist_track[0][3:].to_numpy()
    assert kept.max() <= dropped.min()


def test_padded_matches_ragged(samples: ak.Array) -> None:
    cfg = ArraysConfig(layout="padded", features=RAW.features, scaling={})
    p, _ = build_arrays(samples, config=cfg, length=7)
    r, _ = build_arrays(samples, config=RAW, length=7)
    assert p["X"].shape == (4, 7, 4) and p["mask"].shape == (4, 7)
    assert p["mask"].sum(axis=1).tolist() == r["n_points"].tolist()
    for i in range(4):
        n = r["n_points"][i]
        sl = slice(r["offsets"][i], r["offsets"][i + 1])
        for name in PER_POINT:
            assert np.array_equal(p[name][i, :n], r[name][sl]), name
        assert (p["point_type"][i, n:] == PointType.PADDING).all()
        assert (p["y_class"][i, n:] == IGNORE).all() and not p["label_mask"][i, n:].any()
        assert (p["X"][i, n:] == 0).all()
    assert [len(s["energy"]) for s in iter_samples(p)] == r["n_points"].tolist()


def test_scaling_and_track_labels(samples: ak.Array) -> None:
    cfg = ArraysConfig(
        features=["energy", "x"],
        add_tracks_as_labels=True,
        scaling={
            "energy": Scaling(transform="asinh", scale=2.0),
            "x": Scaling(shift=100.0, scale=1e-3),
        },
    )
    a, _ = build_arrays(samples, config=cfg, length=100)
    assert np.allclose(a["X"][:, 0], 2.0 * np.arcsinh(a["energy"]), rtol=1e-6)
    assert a["label_mask"].all()
    s0 = slice(0, 9)
    assert np.allclose(a["y_energy"][s0][:4], [10.05, 10.05, 10.05, 0.0])
    assert a["y_class"][s0][:4].tolist() == [F, F, F, O]
    assert a["y_binary"][s0][:4].tolist() == [1, 1, 1, 0]
    cut, stats = build_arrays(samples, config=ArraysConfig(min_cells=2), length=100)
    assert stats["too_few_cells"] == 2 and len(cut["n_points"]) == 2


def test_npz_bytes_are_reproducible(samples: ak.Array, tmp_path: Path) -> None:
    a, _ = build_arrays(samples, config=ArraysConfig(), length=50)
    write_npz(tmp_path / "a.npz", a)
    write_npz(tmp_path / "b.npz", a)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back = load_arrays(tmp_path / "a.npz")
    assert set(back) == set(a)
    assert all(np.array_equal(back[k], a[k]) for k in a)


# ---- the per-point cell_id (stage 2 -> stage 1 alignment)


def test_cell_id_matches_stage1_cells(samples: ak.Array) -> None:
    a, _ = build_arrays(samples, config=RAW, length=100)
    assert a["cell_id"].dtype == np.uint64
    ids = ak.to_list(samples.cells.id)
    for i in range(len(a["n_points"])):
        sl = slice(a["offsets"][i], a["offsets"][i + 1])
        cells = a["point_type"][sl] == PointType.CELL
        assert sorted(a["cell_id"][sl][cells].tolist()) == sorted(ids[i])
        assert np.all(a["cell_id"][sl][~cells] == 0)
        assert len(set(ids[i])) == len(ids[i]) > 0


def test_cell_id_padded_layout_and_truncation(samples: ak.Array) -> None:
    ragged, _ = build_arrays(samples, config=RAW, length=6)
    cfg = ArraysConfig(features=RAW.features, scaling={}, layout="padded")
    padded, _ = build_arrays(samples, config=cfg, length=6)
    assert padded["cell_id"].shape == padded["mask"].shape
    assert np.all(padded["cell_id"][~padded["mask"]] == 0)
    assert padded["cell_id"][padded["mask"]].tolist() == ragged["cell_id"].tolist()


def test_evaluation_aligns_by_cell_id(samples: ak.Array, tmp_path) -> None:
    from jetpointnet.errors import UserError
    from jetpointnet.evaluation.inputs import load_stage1, point_cells
    from jetpointnet.io.prep_folder import stage1_rows

    a, _ = build_arrays(samples, config=RAW, length=100)
    path = write_parquet(samples, tmp_path / "s.parquet")
    stage1 = load_stage1(files=[path])
    rows = stage1_rows(a, stage1.sample)
    assert rows.tolist() == list(range(len(samples)))
    with_id = point_cells(a, stage1, rows)
    is_cell = a["point_type"] == PointType.CELL
    assert np.all(with_id[is_cell] >= 0) and np.all(with_id[~is_cell] == -1)
    assert np.array_equal(stage1.cells["id"][with_id[is_cell]], a["cell_id"][is_cell])
    # every cell point is a cell of its own stage-1 sample
    owner = np.repeat(np.arange(stage1.n), np.diff(stage1.cell_offsets))
    point_sample = np.repeat(np.arange(len(rows)), np.diff(a["offsets"]))
    assert np.array_equal(owner[with_id[is_cell]], rows[point_sample[is_cell]])
    # files without cell_id (an older preprocess) are refused, not matched by energy
    with pytest.raises(UserError, match=r"no 'cell_id'.*re-run preprocess"):
        point_cells({k: v for k, v in a.items() if k != "cell_id"}, stage1, rows)

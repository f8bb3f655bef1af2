"""Stage 2's optional ``cell_id`` per point: equal to the stage-1 cell ids, used by evaluation."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.data.arrays import build_arrays
from jetpointnet.data.config import ArraysConfig, SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.data.schema import PointType
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.sample_files import read_parquet, write_parquet

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
    return read_parquet(write_parquet(s, tmp / "s.parquet"))


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
    from jetpointnet.evaluation.inputs import align_points, load_stage1

    a, _ = build_arrays(samples, config=RAW, length=100)
    path = write_parquet(samples, tmp_path / "s.parquet")
    stage1 = load_stage1(files=[path])
    with_id = align_points(a, stage1)
    is_cell = a["point_type"] == PointType.CELL
    assert np.all(with_id[is_cell] >= 0) and np.all(with_id[~is_cell] == -1)
    assert np.array_equal(stage1.cells["id"][with_id[is_cell]], a["cell_id"][is_cell])
    # the float-matching fallback (files without cell_id) finds the same cells
    without = align_points({k: v for k, v in a.items() if k != "cell_id"}, stage1)
    assert np.array_equal(without, with_id)

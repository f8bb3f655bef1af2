"""The reader of a preprocess output folder (io/prep_folder.py) on the hand-made file."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.data.arrays import build_arrays
from jetpointnet.data.config import ArraysConfig, SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.data.schema import PER_SAMPLE
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.prep_folder import (
    read_chunk,
    read_metadata,
    read_stage1_keys,
    split_files,
    stage1_path,
    stage1_rows,
    stage_files,
)
from jetpointnet.io.sample_files import read_samples, write_npz, write_parquet, write_samples

POINTS = ("point_type", "energy", "label_mask", "y_energy", "y_binary", "y_class")
#: stage-1 rows in a shuffled order, so that the link cannot be the row position
ORDER = [2, 0, 3, 1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A preprocess-shaped folder: stage 1 (4 tracks), stage 2 without the 2 tracks that
    have too few cells, a partial file from an interrupted writer, metadata.json."""
    tmp = tmp_path_factory.mktemp("prep")
    path = write_handmade(tmp / "hand.root")
    events = read_events(
        path, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL, entry_start=0, entry_stop=2
    )
    table = CellTable.from_geometry(read_geometry(path))
    samples, _ = build_samples(events, table, selection=SelectionConfig(), source=str(path))
    out = tmp / "data"
    s1 = write_samples(samples[ORDER], out / "samples" / "test" / "c0.arrow")
    cfg = ArraysConfig(features=["energy", "dist_track"], scaling={}, min_cells=2)
    arrays, stats = build_arrays(read_samples(s1), config=cfg, length=100)
    assert stats["too_few_cells"] == 2
    write_npz(out / "arrays" / "test" / "c0.npz", arrays)
    write_npz(out / "arrays" / "test" / "c1.partial-12345.npz", arrays)  # interrupted
    (out / "samples" / "test" / "c1.partial-12345.arrow").write_bytes(b"half")
    (out / "metadata.json").write_text(json.dumps({"layout": "ragged", "features": cfg.features}))
    return out


def test_split_listing_ignores_partial_files(folder: Path) -> None:
    assert split_files(folder, "test") == [folder / "arrays" / "test" / "c0.npz"]
    assert split_files(folder, "test", stage="samples") == [
        folder / "samples" / "test" / "c0.arrow"
    ]
    assert stage_files(folder, stage="samples") == [folder / "samples" / "test" / "c0.arrow"]
    with pytest.raises(UserError, match=r"split 'tset'.*closest: 'test'"):
        split_files(folder, "tset")
    assert read_metadata(folder)["features"] == ["energy", "dist_track"]
    with pytest.raises(UserError, match=r"metadata.json: not found"):
        read_metadata(folder / "arrays")


def test_chunk_stage1_keys_lead_back_to_the_stage1_row(folder: Path) -> None:
    path = split_files(folder, "test")[0]
    chunk = read_chunk(path, points=POINTS, per_sample=PER_SAMPLE)
    assert chunk.n == 2 and chunk.x.shape == (chunk.offsets[-1], 2)
    assert stage1_path(path) == folder / "samples" / "test" / "c0.arrow"
    rows = stage1_rows(chunk.keys, read_stage1_keys(stage1_path(path)))
    assert rows.tolist() == [1, 3]  # stage-1 rows of the two tracks kept
    stage1 = read_samples(stage1_path(path))
    for i, r in enumerate(rows):
        assert int(stage1.event_number[r]) == int(chunk.per_sample["event_number"][i])
        assert int(stage1.track_index[r]) == int(chunk.per_sample["track_index"][i])
        assert np.float32(stage1.track.p[r]) == chunk.per_sample["track_p"][i]
        assert int(stage1.n_cells[r]) >= 2
    # a sample of another event (or a stage-1 file that lost it) has no row
    other = {k: v + (100 if k == "entry" else 0) for k, v in chunk.keys.items()}
    assert stage1_rows(other, read_stage1_keys(stage1_path(path))).tolist() == [-1, -1]


def test_a_folder_with_parquet_stage1_files_still_reads(folder: Path, tmp_path: Path) -> None:
    """Folders written before stage 1 moved to Arrow IPC hold ``.parquet`` samples."""
    old = tmp_path / "old"
    arrays = split_files(folder, "test")[0]
    samples = read_samples(folder / "samples" / "test" / "c0.arrow")
    write_parquet(samples, old / "samples" / "test" / "c0.parquet")
    write_npz(old / "arrays" / "test" / "c0.npz", dict(np.load(arrays)))
    path = old / "arrays" / "test" / "c0.npz"
    assert stage_files(old, stage="samples") == [old / "samples" / "test" / "c0.parquet"]
    assert stage1_path(path) == old / "samples" / "test" / "c0.parquet"
    chunk = read_chunk(path, points=POINTS, per_sample=PER_SAMPLE)
    assert stage1_rows(chunk.keys, read_stage1_keys(stage1_path(path))).tolist() == [1, 3]
    back = read_samples(stage1_path(path), columns=["n_cells", "track.p", "cells.energy"])
    assert back.fields == ["n_cells", "track", "cells"] and back.track.fields == ["p"]
    assert back.cells.fields == ["energy"]
    assert back.n_cells.tolist() == samples.n_cells.tolist()
    # the same projection of the Arrow IPC file gives the same arrays
    new = read_samples(folder / "samples" / "test" / "c0.arrow",
                       columns=["n_cells", "track.p", "cells.energy"])  # fmt: skip
    assert new.to_list() == back.to_list()
    # a chunk redone after the upgrade: the Arrow IPC file is the one listed
    write_samples(samples, old / "samples" / "test" / "c0.arrow")
    assert stage_files(old, stage="samples") == [old / "samples" / "test" / "c0.arrow"]
    assert stage1_path(path) == old / "samples" / "test" / "c0.arrow"


def test_stage1_arrow_files_are_byte_reproducible(folder: Path, tmp_path: Path) -> None:
    samples = read_samples(folder / "samples" / "test" / "c0.arrow")
    a = write_samples(samples, tmp_path / "a.arrow").read_bytes()
    assert a == write_samples(samples, tmp_path / "b.arrow").read_bytes()


def test_stage1_writer_is_feather_without_pandas(folder: Path, tmp_path: Path) -> None:
    """``write_samples`` writes the bytes of ``ak.to_feather(..., compression="lz4")``
    without importing pandas (``pyarrow.feather.write_feather`` does: ~0.5 s of each
    stage-1 process)."""
    src, dst = folder / "samples" / "test" / "c0.arrow", tmp_path / "c0.arrow"
    out = _fresh_process_without_pandas(
        "from jetpointnet.io.sample_files import read_samples, write_samples\n"
        f"write_samples(read_samples({str(src)!r}), {str(dst)!r})\n"
    )
    assert out == ""
    ak.to_feather(read_samples(src), tmp_path / "ref.arrow", compression="lz4")
    assert dst.read_bytes() == (tmp_path / "ref.arrow").read_bytes()


def test_chunk_without_x_reads_labels_only(folder: Path) -> None:
    path = split_files(folder, "test")[0]
    full = read_chunk(path, points=POINTS, optional=("cell_id", "y_nope"), per_sample=PER_SAMPLE)
    labels = read_chunk(path, points=POINTS, per_sample=("n_points",), with_x=False)
    assert (
        labels.x.shape == (full.offsets[-1], 0)
        and "cell_id" in full.points
        and "y_nope" not in full.points
    )
    assert np.array_equal(labels.points["y_energy"], full.points["y_energy"])
    assert list(labels.per_sample) == ["n_points"]
    with pytest.raises(UserError, match=r"c0.npz: no array 'd_eta' \(preprocess with arrays.extra"):
        read_chunk(path, points=POINTS, extras=("d_eta",))


def test_stage1_key_columns_read_without_pandas(folder: Path) -> None:
    """pyarrow's ``to_numpy`` imports pandas (~0.8 s of each stage's start-up) on
    awkward's columns; the key reader takes the data buffers instead."""
    out = _fresh_process_without_pandas(
        "from jetpointnet.io.prep_folder import read_stage1_keys\n"
        f"keys = read_stage1_keys({str(folder / 'samples' / 'test' / 'c0.arrow')!r})\n"
        "print(sorted(keys), len(keys['entry']))\n"
    )
    assert out.split() == ["['entry',", "'file_index',", "'track_index']", "4"]


def _fresh_process_without_pandas(code: str) -> str:
    """Run ``code`` in a new interpreter, assert it never imported pandas (an import that
    costs each stage ~0.5-0.8 s of start-up); return what it printed."""
    import subprocess
    import sys

    check = "import sys\nassert 'pandas' not in sys.modules, 'pandas was imported'\n"
    out = subprocess.run(
        [sys.executable, "-c", code + check], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout

"""Streaming batches from npz chunks of both layouts (training/dataset.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_arrays import write_dataset
from torch.utils.data import DataLoader

from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import split_files
from jetpointnet.training.dataset import ChunkStream, load_chunk


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("arrays")
    return {
        layout: write_dataset(root / layout, layout=layout, samples_per_file=40, seed=5)
        for layout in ("ragged", "padded")
    }


def _stream(root: Path, **kw) -> ChunkStream:
    opts = {"batch_size": 16, "seed": 3}
    opts.update(kw)
    return ChunkStream(split_files(root, "train"), **opts)


def _collect(ds) -> dict[int, dict[str, np.ndarray]]:
    """Sample id -> its real points' arrays, from every batch of one pass."""
    out = {}
    for batch in ds:
        for row, sid in enumerate(batch["sample_id"].tolist()):
            m = batch["mask"][row]
            out[sid] = {k: batch[k][row][m].numpy() for k in ("x", "energy", "y_energy")}
            out[sid]["label_mask"] = batch["label_mask"][row][m].numpy()
    return out


def test_both_layouts_give_the_same_samples(data: dict[str, Path]) -> None:
    a = _collect(_stream(data["ragged"]))
    b = _collect(_stream(data["padded"]))
    assert sorted(a) == sorted(b) == list(range(120))
    for sid in a:
        for k in a[sid]:
            np.testing.assert_array_equal(a[sid][k], b[sid][k])


def test_batches_are_padded_to_their_longest_sample(data: dict[str, Path]) -> None:
    for batch in _stream(data["padded"]):
        lengths = batch["mask"].sum(1)
        assert batch["x"].shape[1] == lengths.max().item()
        assert not batch["label_mask"][~batch["mask"]].any()
        assert (batch["y_binary"][~batch["mask"]] == -1).all()


def test_order_is_a_function_of_seed_and_epoch(data: dict[str, Path]) -> None:
    ds = _stream(data["ragged"])
    ds.set_epoch(2)
    first = np.concatenate(ds.batches())
    other = _stream(data["ragged"])
    other.set_epoch(2)
    np.testing.assert_array_equal(first, np.concatenate(other.batches()))
    ds.set_epoch(3)
    assert not np.array_equal(first, np.concatenate(ds.batches()))
    assert sorted(first) == list(range(120))
    # the shuffle crosses chunk-file boundaries
    assert len({int(i) // 40 for i in first[:16]}) > 1


def test_samples_per_epoch_draws_a_random_subset(data: dict[str, Path]) -> None:
    ds = _stream(data["ragged"], max_samples=50)
    ds.set_epoch(0)
    e0 = np.concatenate(ds.batches())
    ds.set_epoch(1)
    e1 = np.concatenate(ds.batches())
    assert len(e0) == len(e1) == 50
    assert len(set(e0)) == 50 and set(e0) != set(e1)
    assert len(_collect(ds)) == 50


def test_ranks_get_equal_disjoint_shares(data: dict[str, Path]) -> None:
    shares = [
        np.concatenate(_stream(data["ragged"], rank=r, world_size=3, equal_shares=True).batches())
        for r in range(3)
    ]
    assert [len(s) for s in shares] == [40, 40, 40]
    assert len(set(np.concatenate(shares))) == 120


def test_bucketing_reduces_padding(data: dict[str, Path]) -> None:
    def padded_points(ds: ChunkStream) -> int:
        return sum(b["mask"].numel() for b in ds)

    plain = padded_points(_stream(data["ragged"]))
    bucketed = padded_points(_stream(data["ragged"], bucketing=True, bucket_batches=8))
    assert bucketed < 0.9 * plain
    assert sorted(_collect(_stream(data["ragged"], bucketing=True))) == list(range(120))


def test_dataloader_workers_cover_every_sample_once(data: dict[str, Path]) -> None:
    ds = _stream(data["padded"])
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    ids = torch.cat([b["sample_id"] for b in loader]).tolist()
    assert sorted(ids) == list(range(120))


def test_padded_chunk_keeps_real_points_row_major(data: dict[str, Path]) -> None:
    path = split_files(data["padded"], "val")[0]
    chunk = load_chunk(path)
    with np.load(path) as f:
        mask, x = f["mask"], f["X"]
    np.testing.assert_array_equal(chunk.x, x[mask])
    np.testing.assert_array_equal(np.diff(chunk.offsets), mask.sum(1))


def test_bad_inputs_are_one_line_user_errors(data: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"split 'tran'.*closest: 'train'"):
        split_files(data["ragged"], "tran")
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((3, 2), np.float32), n_points=np.array([3]))
    with pytest.raises(UserError, match=r"bad.npz: missing array 'point_type'"):
        load_chunk(bad)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(UserError, match=r"junk.npz: not a readable npz"):
        load_chunk(tmp_path / "junk.npz")

"""The epoch order shared by the chunk, event and jet streams (training/order.py)."""

from __future__ import annotations

import numpy as np
import pytest

from jetpointnet.training.order import epoch_order

STARTS = np.concatenate([[0], np.cumsum([7, 0, 12, 5, 9])]).astype(np.int64)


def test_a_permutation_and_a_pure_function_of_seed_and_epoch() -> None:
    a = epoch_order(STARTS, seed=3, epoch=1, shuffle=True, buffer_size=4)
    assert sorted(a.tolist()) == list(range(int(STARTS[-1])))
    assert np.array_equal(a, epoch_order(STARTS, seed=3, epoch=1, shuffle=True, buffer_size=4))
    assert not np.array_equal(a, epoch_order(STARTS, seed=3, epoch=2, shuffle=True, buffer_size=4))
    assert not np.array_equal(a, epoch_order(STARTS, seed=4, epoch=1, shuffle=True, buffer_size=4))


def test_without_window_files_stay_contiguous() -> None:
    ids = epoch_order(STARTS, seed=0, epoch=5, shuffle=True)
    files = np.searchsorted(STARTS, ids, side="right") - 1
    changes = int((np.diff(files) != 0).sum())
    assert changes == 3  # four non-empty files, each visited once


def test_no_shuffle_is_file_order_and_a_fixed_subset() -> None:
    total = int(STARTS[-1])
    assert np.array_equal(epoch_order(STARTS, seed=1, epoch=9, shuffle=False), np.arange(total))
    a = epoch_order(STARTS, seed=1, epoch=0, shuffle=False, max_samples=10)
    b = epoch_order(STARTS, seed=1, epoch=7, shuffle=False, max_samples=10)
    assert len(a) == 10 and np.array_equal(a, b) and np.all(np.diff(a) > 0)


@pytest.mark.parametrize("equal_shares", [False, True])
def test_rank_shares_are_contiguous_and_disjoint(equal_shares: bool) -> None:
    full = epoch_order(STARTS, seed=2, epoch=0, shuffle=True, buffer_size=8)
    shares = [
        epoch_order(STARTS, seed=2, epoch=0, shuffle=True, buffer_size=8, rank=r,
                    world_size=3, equal_shares=equal_shares)
        for r in range(3)
    ]  # fmt: skip
    joined = np.concatenate(shares)
    assert np.array_equal(joined, full[: len(joined)])
    if equal_shares:
        assert {len(s) for s in shares} == {len(full) // 3}
    else:
        assert len(joined) == len(full)

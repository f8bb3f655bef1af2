"""The hash table of cell IDs (jetpointnet.data.id_index) gives the rows a binary search
gives, for random and for structured IDs, unknown and repeated queries included."""

from __future__ import annotations

import numpy as np
import pytest

from jetpointnet.data.id_index import IdIndex


def _searchsorted_rows(ids: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(ids) == 0:
        return np.zeros(len(query), np.int64), np.zeros(len(query), bool)
    rows = np.minimum(np.searchsorted(ids, query), len(ids) - 1)
    found = ids[rows] == query
    return np.where(found, rows, 0).astype(np.int64), found


RNG = np.random.default_rng(8)
ID_SETS = {
    "random 63-bit": np.unique(RNG.integers(0, 2**63, 50_000).astype(np.uint64)),
    # ATLAS-like: the low bits alike, the information in the high ones
    "low bits zero": np.arange(1, 20_001, dtype=np.uint64) << np.uint64(40),
    "dense": np.arange(7, 30_007, dtype=np.uint64),
    "top bit set": np.unique(RNG.integers(2**63, 2**64 - 1, 5_000, dtype=np.uint64)),
    "one": np.array([12345], np.uint64),
    "none": np.zeros(0, np.uint64),
}


@pytest.mark.parametrize("name", list(ID_SETS))
def test_rows_equal_a_binary_search(name: str) -> None:
    ids = ID_SETS[name]
    query = np.concatenate(
        [
            RNG.permutation(ids),
            ids[::3],  # repeated
            ids[::5] + np.uint64(1),  # mostly unknown
            RNG.integers(0, 2**63, 2_000).astype(np.uint64),
            np.array([0, 2**64 - 1], np.uint64),
        ]
    )
    rows, found = IdIndex(ids).rows(query)
    want_rows, want_found = _searchsorted_rows(ids, query)
    assert rows.dtype == np.int64 and found.dtype == bool
    assert np.array_equal(found, want_found)
    assert np.array_equal(rows, want_rows)
    assert not IdIndex(ids).rows(np.zeros(0, np.uint64))[1].size

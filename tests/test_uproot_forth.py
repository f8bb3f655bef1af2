"""The known nested-vector readers (jetpointnet.io.uproot_forth) read what uproot's own
discovery reads, for every registered type, empty vectors at every level included."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from jetpointnet.io import mltree_reader  # noqa: F401  (registers the readers on import)
from jetpointnet.io.uproot_forth import NESTED_PRIMITIVES, nested_typenames

pytest.importorskip("ROOT")
from jetpointnet.io._ttree_filler import write_ttrees

KNOWN = uproot.interpretation.known_forth.KNOWN_FORTH_DICT
DTYPES = {"float": np.float32, "double": np.float64, "int32_t": np.int32,
          "uint32_t": np.uint32, "int64_t": np.int64, "uint64_t": np.uint64}  # fmt: skip


@dataclass
class _Col:
    name: str
    depth: int
    data: np.ndarray
    offsets: tuple[np.ndarray, ...]


def _ragged(rng: np.random.Generator, entries: int, depth: int, dtype) -> _Col:
    """Random counts 0-3 at every level (empty events, clusters and cells included)."""
    n, offsets = entries, []
    for _ in range(depth):
        counts = rng.integers(0, 4, n)
        counts[: min(2, n)] = 0  # the first items empty: what defeats a naive discovery
        offsets.append(np.r_[0, np.cumsum(counts)].astype(np.int64))
        n = int(counts.sum())
    data = (rng.normal(size=n) * 1000).astype(dtype)
    return _Col("", depth, data, tuple(offsets))


@pytest.fixture(scope="module")
def nested_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    cols = []
    for depth in (2, 3):
        for inner, dtype in DTYPES.items():
            col = _ragged(rng, 40, depth, dtype)
            col.name = f"v{depth}_{inner}"
            cols.append(col)
    path = tmp_path_factory.mktemp("forth") / "nested.root"
    write_ttrees(path, [("EventTree", "nested", 40, cols)], compression=505)
    return path


def test_every_registered_type_is_one_the_table_holds() -> None:
    assert set(DTYPES) == set(NESTED_PRIMITIVES)
    assert all(KNOWN[name] is not None for name in nested_typenames())


def test_known_readers_match_uproots_discovery(nested_file: Path, monkeypatch) -> None:
    with uproot.open(nested_file, array_cache=None) as f:
        tree = f["EventTree"]
        branches = [tree[name] for name in tree.keys()]  # noqa: SIM118 (a TTree, not a dict)
        assert {b.typename for b in branches} <= set(nested_typenames())
        assert all(b.interpretation._complete_forth_code for b in branches)  # before reading
        known = tree.arrays(library="ak")
    for name in nested_typenames():
        monkeypatch.delitem(KNOWN, name)
    with uproot.open(nested_file, array_cache=None) as f:
        discovered = f["EventTree"].arrays(library="ak")
    for k in known.fields:
        assert ak.type(known[k]) == ak.type(discovered[k]), k
        assert ak.to_list(known[k]) == ak.to_list(discovered[k]), k
    assert ak.num(known["v3_float"], axis=1).tolist()[:2] == [0, 0]

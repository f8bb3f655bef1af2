"""Nested-vector branches read with the baskets joined by numpy (jetpointnet.io.uproot_join)
equal uproot's own reading, for ranges inside one basket and across several."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from jetpointnet.io import mltree_reader  # noqa: F401  (registers the known readers)
from jetpointnet.io.uproot_join import (
    JoinedLists,
    _joined,
    _NotLists,
    join_list_pieces,
    read_branches,
)

pytest.importorskip("ROOT")
from test_uproot_forth import _ragged

from jetpointnet.io._ttree_filler import write_ttrees

ENTRIES = 6000


def _columns() -> list:
    rng = np.random.default_rng(11)
    cols = []
    for name, depth, dtype in (("v3", 3, np.float32), ("v2", 2, np.uint64), ("n", 0, np.int32)):
        if depth:
            col = _ragged(rng, ENTRIES, depth, dtype)
        else:
            col = _ragged(rng, ENTRIES, 1, dtype)
            col.depth, col.data, col.offsets = 0, rng.integers(0, 9, ENTRIES, dtype=dtype), ()
        col.name = name
        cols.append(col)
    return cols


@pytest.fixture(scope="module")
def many_baskets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("join") / "baskets.root"
    # small baskets, so that a range spans several
    write_ttrees(
        path,
        [("EventTree", "join", ENTRIES, _columns())],
        compression=505,
        nested_basket_bytes=32000,
    )
    return path


def test_nested_branches_get_the_large_baskets(many_baskets: Path, tmp_path: Path) -> None:
    write_ttrees(
        tmp_path / "big.root", [("EventTree", "join", ENTRIES, _columns())], compression=505
    )
    with uproot.open(many_baskets) as small, uproot.open(tmp_path / "big.root") as big:
        for name in ("v3", "v2"):
            assert big["EventTree"][name].num_baskets < small["EventTree"][name].num_baskets
            assert ak.array_equal(big["EventTree"][name].array(), small["EventTree"][name].array())


def _packed(layout) -> bool:
    while isinstance(layout, ak.contents.ListOffsetArray):
        offsets = np.asarray(layout.offsets)
        if offsets[0] != 0 or len(layout.content) != offsets[-1]:
            return False
        layout = layout.content
    return isinstance(layout, ak.contents.NumpyArray)


@pytest.mark.parametrize("start, stop", [(0, ENTRIES), (17, 4100), (2, 3), (ENTRIES - 1, ENTRIES)])
def test_joined_read_equals_uproots(many_baskets: Path, start: int, stop: int) -> None:
    with uproot.open(many_baskets, array_cache=None) as f:
        tree = f["EventTree"]
        assert tree["v3"].num_baskets >= 3 and tree["v2"].num_baskets >= 3
        want = tree.arrays(["v3", "v2", "n"], library="ak", entry_start=start, entry_stop=stop)
        got = read_branches(tree, ["v3", "v2", "n"], entry_start=start, entry_stop=stop)
    assert list(got) == ["v3", "v2", "n"]
    for name in got:
        assert ak.type(got[name]) == ak.type(want[name]), name
        assert ak.array_equal(got[name], want[name]), name
    assert _packed(ak.to_layout(got["v3"])) and _packed(ak.to_layout(got["v2"]))


def test_only_tree_nested_vectors_are_joined_by_numpy(many_baskets: Path) -> None:
    with uproot.open(many_baskets) as f:
        tree = f["EventTree"]
        assert isinstance(_joined(tree["v3"]), JoinedLists)
        assert _joined(tree["n"]) is None


def test_other_layouts_are_refused() -> None:
    records = ak.to_layout(ak.Array([{"a": 1}, {"a": 2}]))
    lists = ak.to_layout(ak.Array([[1, 2], [3]]))
    with pytest.raises(_NotLists):
        join_list_pieces([(lists, 0, 2), (records, 0, 1)])
    joined = join_list_pieces([(lists, 1, 2), (lists, 0, 2)])
    assert ak.to_list(ak.Array(joined)) == [[3], [1, 2], [3]]


def test_joined_read_without_the_known_readers(many_baskets: Path, monkeypatch) -> None:
    # an uproot that discovers the Forth readers itself (first baskets read in Python)
    from jetpointnet.io.uproot_forth import nested_typenames

    known = uproot.interpretation.known_forth.KNOWN_FORTH_DICT
    for name in nested_typenames():
        monkeypatch.delitem(known, name)
    with uproot.open(many_baskets, array_cache=None) as f:
        want = f["EventTree"].arrays(["v3", "v2"], library="ak", entry_start=5, entry_stop=3000)
    with uproot.open(many_baskets, array_cache=None) as f:
        got = read_branches(f["EventTree"], ["v3", "v2"], entry_start=5, entry_stop=3000)
    for name in ("v3", "v2"):
        assert ak.type(got[name]) == ak.type(want[name])
        assert ak.array_equal(got[name], want[name])

"""Tests of the MLTree writer: both formats read back exactly, by uproot and by ROOT itself."""

from __future__ import annotations

import functools
import importlib.util
import multiprocessing
import subprocess
import sys
import textwrap
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from mltree_handmade import refuse_decompression

from jetpointnet.errors import UserError
from jetpointnet.io import _ttree_filler, mltree_writer
from jetpointnet.io.mltree_layout import (
    CELL_GEO_BRANCHES,
    CELL_GEO_TREE,
    EVENT_BRANCHES,
    EVENT_TREE,
)
from jetpointnet.io.mltree_writer import read_tree_arrays, write_mltree
from jetpointnet.simulate.geometry import CELL_ID_FIELDS

#: the TTree tests need PyROOT (the optional ``root`` extra); RNTuple ones only uproot.
needs_root = pytest.mark.skipif(
    importlib.util.find_spec("ROOT") is None, reason="PyROOT not installed"
)
FORMATS = [pytest.param("ttree", marks=needs_root), "rntuple"]
N_EVENTS = 6
#: extra (non-layout) branches: their type and depth are inferred.
EXTRAS = {"extra_cell_weight": (np.float64, 2), "extra_flag": (np.bool_, 1)}
SPAWN_BRANCHES = ["eventNumber", "trackPt", "cluster_cell_ID", "cluster_cell_hitsTruthIndex"]
#: how uproot spells the C++ leaf types of the TTree branches.
UPROOT_TYPENAMES = {
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int64): "int64_t",
    np.dtype(np.uint16): "uint16_t",
    np.dtype(np.uint64): "uint64_t",
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
    np.dtype(np.bool_): "bool",
}


def _random_values(rng: np.random.Generator, dtype: type, size: int) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(size) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)  # the full range: the top bit of uint64 IDs must survive
        return rng.integers(info.min, info.max, size, dtype=dtype, endpoint=True)
    return (rng.normal(size=size) * 100).astype(dtype)


def make_events(n: int = N_EVENTS, seed: int = 7) -> dict[str, ak.Array | np.ndarray]:
    """Every layout branch (plus extras) with its layout dtype and consistent counts.

    Event 0 has no tracks, event 1 no clusters, and there are empty clusters and cells
    without truth contributors.
    """
    rng = np.random.default_rng(seed)
    per_event = {
        "truth": rng.integers(0, 5, n),
        "track": rng.integers(0, 4, n),
        "cluster": rng.integers(0, 4, n),
    }
    if n > 1:
        per_event["track"][0] = 0
        per_event["cluster"][1] = 0
    cells = rng.integers(0, 5, int(per_event["cluster"].sum()))
    contributors = rng.integers(0, 3, int(cells.sum()))
    branches = {name: spec for name, spec in EVENT_BRANCHES.items()}
    branches.update(EXTRAS)
    events: dict[str, ak.Array | np.ndarray] = {}
    for name, (dtype, depth) in branches.items():
        family = next((key for key in per_event if name.lower().startswith(key)), "cluster")
        counts = [per_event[family], cells, contributors][:depth]
        size = int(counts[-1].sum()) if depth else n
        values: ak.Array | np.ndarray = _random_values(rng, dtype, size)
        for level in reversed(counts):
            values = ak.unflatten(values, level)
        events[name] = values
    return events


def make_geometry(cells: int = 40, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: _random_values(rng, dtype, cells) for name, dtype in CELL_GEO_BRANCHES.items()}


@pytest.fixture(scope="module")
def events() -> dict[str, ak.Array | np.ndarray]:
    return make_events()


@pytest.fixture(scope="module")
def geometry() -> dict[str, np.ndarray]:
    return make_geometry()


def _expected_type(entries: int, dtype: type, depth: int) -> str:
    return f"{entries} * " + "var * " * depth + str(np.dtype(dtype))


def _assert_same(read: dict[str, ak.Array], written: dict, types: dict[str, tuple]) -> None:
    assert list(read) == list(written)
    for name, value in written.items():
        dtype, depth = types[name]
        expected = ak.values_astype(ak.Array(value), dtype)
        assert str(read[name].type) == _expected_type(len(expected), dtype, depth), name
        assert ak.array_equal(read[name], expected, dtype_exact=True), name


def _event_types() -> dict[str, tuple]:
    return {**EVENT_BRANCHES, **EXTRAS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_branch(tmp_path, events, geometry, fmt):
    out = write_mltree(tmp_path / "chunk.root", events, geometry, fmt=fmt)
    assert out == tmp_path / "chunk.root"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk.root"]
    _assert_same(read_tree_arrays(out, EVENT_TREE), events, _event_types())
    geo_read = read_tree_arrays(out, CELL_GEO_TREE)
    geo_types = {name: (dtype, 1) for name, dtype in CELL_GEO_BRANCHES.items()}
    _assert_same(geo_read, {k: ak.unflatten(v, [len(v)]) for k, v in geometry.items()}, geo_types)


@pytest.mark.parametrize("fmt", FORMATS)
def test_container_kinds(tmp_path, events, geometry, fmt):
    out = write_mltree(tmp_path / "chunk.root", events, geometry, fmt=fmt)
    with uproot.open(out) as file:
        kind = "TTree" if fmt == "ttree" else "ROOT::RNTuple"
        assert file.classnames() == {f"{EVENT_TREE};1": kind, f"{CELL_GEO_TREE};1": kind}
        assert file[EVENT_TREE].num_entries == N_EVENTS
        assert file[CELL_GEO_TREE].num_entries == 1


@needs_root
def test_ttree_branch_typenames(tmp_path, events, geometry):
    out = write_mltree(tmp_path / "chunk.root", events, geometry)
    with uproot.open(out) as file:
        tree = file[EVENT_TREE]
        assert tree["cluster_cell_ID"].typename == "std::vector<std::vector<uint64_t>>"
        assert tree["cluster_cell_E"].typename == "std::vector<std::vector<float>>"
        assert (
            tree["cluster_cell_hitsTruthIndex"].typename
            == "std::vector<std::vector<std::vector<int32_t>>>"
        )
        for name, (dtype, depth) in _event_types().items():
            typename = UPROOT_TYPENAMES[np.dtype(dtype)]
            for _ in range(depth):
                typename = f"std::vector<{typename}>"
            assert tree[name].typename == typename, name
        geo = file[CELL_GEO_TREE]
        for name, dtype in CELL_GEO_BRANCHES.items():
            assert geo[name].typename == f"std::vector<{UPROOT_TYPENAMES[np.dtype(dtype)]}>"


def _to_python(value, depth: int):
    if depth == 0:
        return value
    return [_to_python(item, depth - 1) for item in value]


@needs_root
def test_pyroot_reads_the_same_values(tmp_path, events, geometry):
    root = _ttree_filler.import_root()
    out = write_mltree(tmp_path / "chunk.root", events, geometry)
    file = root.TFile.Open(str(out))
    try:
        tree = file.Get(EVENT_TREE)
        assert tree.GetEntries() == N_EVENTS
        checked = ["eventNumber", "trackPt", "cluster_cell_ID", "cluster_cell_hitsTruthIndex"]
        for i in range(N_EVENTS):
            assert tree.GetEntry(i) > 0
            for name in checked:
                depth = EVENT_BRANCHES[name][1]
                expected = ak.to_list(ak.Array(events[name])[i]) if depth else events[name][i]
                assert _to_python(getattr(tree, name), depth) == expected, (name, i)
        cell_ids = events["cluster_cell_ID"]
        i, j = next(
            (i, j) for i in range(N_EVENTS) for j in range(len(cell_ids[i])) if len(cell_ids[i][j])
        )
        tree.GetEntry(i)  # element access, as analysis code does it
        assert tree.cluster_cell_ID[j][0] == cell_ids[i][j][0]
        geo = file.Get(CELL_GEO_TREE)
        geo.GetEntry(0)
        assert list(geo.cell_geo_ID) == geometry["cell_geo_ID"].tolist()
        assert list(geo.cell_geo_sampling) == geometry["cell_geo_sampling"].tolist()
    finally:
        file.Close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_inputs_same_contents(tmp_path, events, geometry, fmt):
    first = write_mltree(tmp_path / "a.root", events, geometry, fmt=fmt)
    second = write_mltree(tmp_path / "b.root", events, geometry, fmt=fmt)
    for tree in (EVENT_TREE, CELL_GEO_TREE):
        a, b = read_tree_arrays(first, tree), read_tree_arrays(second, tree)
        assert all(ak.array_equal(a[name], b[name], dtype_exact=True) for name in a)


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_events(tmp_path, geometry, fmt):
    empty = make_events(n=0)
    out = write_mltree(tmp_path / "empty.root", empty, geometry, fmt=fmt)
    read = read_tree_arrays(out, EVENT_TREE)
    _assert_same(read, empty, _event_types())
    assert len(read_tree_arrays(out, CELL_GEO_TREE)["cell_geo_ID"][0]) == len(
        geometry["cell_geo_ID"]
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_untyped_empty_lists_take_the_layout_type(tmp_path, fmt):
    chunk = {
        "eventNumber": np.array([1, 2, 3]),
        "cluster_cell_ID": ak.Array([[], [], []]),  # no clusters at all: awkward sees "unknown"
        "cluster_cell_hitsTruthE": ak.Array([[], [], []]),
        "trackPt": ak.Array([[1.5], [], [2.5]]),  # float64 in, float32 out
    }
    out = write_mltree(tmp_path / "x.root", chunk, {}, fmt=fmt)
    read = read_tree_arrays(out, EVENT_TREE)
    assert str(read["cluster_cell_ID"].type) == "3 * var * var * uint64"
    assert str(read["cluster_cell_hitsTruthE"].type) == "3 * var * var * var * float32"
    assert ak.to_list(read["cluster_cell_ID"]) == [[], [], []]
    assert ak.to_list(read["trackPt"]) == [[1.5], [], [2.5]]
    with uproot.open(out) as file:  # an empty geometry mapping writes no CellGeo tree
        assert CELL_GEO_TREE not in file


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ({"eventNumber": np.arange(3), "trackPt": ak.Array([[1.0], []])}, "number of events"),
        ({"trackPt": ak.Array([[[1.0]]])}, "nesting depth 2, the layout says 1"),
        ({"nTrack": np.array([1.5])}, "float64 values for an integer"),
        ({"runNumber": np.array([2**40])}, "do not fit its type int32"),
        ({"trackPt": ak.Array([[1.0, None]])}, "no None"),
        ({"extra": np.array([1 + 2j])}, "not supported"),
        ({}, "no event branches"),
    ],
)
def test_bad_chunks_are_our_bugs(tmp_path, chunk, message):
    with pytest.raises(ValueError, match=message):
        write_mltree(tmp_path / "bad.root", chunk, {}, fmt="rntuple")
    assert list(tmp_path.iterdir()) == []


def test_geometry_lengths_must_agree(tmp_path, events):
    geometry = make_geometry()
    geometry["cell_geo_eta"] = geometry["cell_geo_eta"][:-1]
    with pytest.raises(ValueError, match="number of cells"):
        write_mltree(tmp_path / "bad.root", events, geometry)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_to_overwrite(tmp_path, events, geometry, fmt):
    path = write_mltree(tmp_path / "chunk.root", events, geometry, fmt=fmt)
    before = path.read_bytes()
    other = make_events(seed=99)
    with pytest.raises(FileExistsError):
        write_mltree(path, other, geometry, fmt=fmt)
    assert path.read_bytes() == before
    write_mltree(path, other, geometry, fmt=fmt, overwrite=True)
    _assert_same(read_tree_arrays(path, EVENT_TREE), other, _event_types())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk.root"]


@pytest.mark.parametrize(
    ("fmt", "target"),
    [pytest.param("ttree", _ttree_filler, marks=needs_root), ("rntuple", mltree_writer)],
)
def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, events, geometry, fmt, target):
    attr = "write_ttrees" if fmt == "ttree" else "_write_rntuples"
    real = getattr(target, attr)
    seen: list[Path] = []

    def write_then_fail(path, *args, **kwargs):
        real(path, *args, **kwargs)  # the real writer, then a crash before the rename
        seen.append(path)
        assert path.stat().st_size > 0
        raise RuntimeError("interrupted")

    monkeypatch.setattr(target, attr, write_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        write_mltree(tmp_path / "chunk.root", events, geometry, fmt=fmt)
    assert len(seen) == 1 and seen[0].parent == tmp_path
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "fmt", "expected"),
    [
        pytest.param("lz4", "ttree", uproot.LZ4(1), marks=needs_root),
        pytest.param("zstd:7", "ttree", uproot.ZSTD(7), marks=needs_root),
        pytest.param(None, "ttree", uproot.ZSTD(1), marks=needs_root),  # the default
        pytest.param("zlib", "ttree", uproot.ZLIB(1), marks=needs_root),
        ("zlib", "rntuple", uproot.ZLIB(1)),
        ("none", "rntuple", None),
    ],
)
def test_compression(tmp_path, events, geometry, spec, fmt, expected):
    options = {} if spec is None else {"compression": spec}
    out = write_mltree(tmp_path / "c.root", events, geometry, fmt=fmt, **options)
    with uproot.open(out) as file:
        got = file.file.compression
        assert (type(got), getattr(got, "level", None)) == (
            type(expected),
            getattr(expected, "level", None),
        )
    _assert_same(read_tree_arrays(out, EVENT_TREE), events, _event_types())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "rntupel"}, "closest: 'rntuple'"),
        ({"compression": "lz5"}, "closest: 'lz4'"),
        ({"compression": "zstd:12"}, "level must be 1-9"),
    ],
)
def test_bad_options_are_user_errors(tmp_path, events, kwargs, message):
    with pytest.raises(UserError, match=message):
        write_mltree(tmp_path / "x.root", events, {}, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_reader_names_the_closest(tmp_path, events, geometry):
    out = write_mltree(tmp_path / "chunk.root", events, geometry, fmt="rntuple")
    with pytest.raises(UserError, match=r"no tree 'EventTre' .*closest: 'EventTree'"):
        read_tree_arrays(out, "EventTre")
    with pytest.raises(UserError, match=r"no branch 'trackEta_EMB4'.*'trackEta_EMB"):
        read_tree_arrays(out, EVENT_TREE, ["trackEta_EMB4"])
    assert list(read_tree_arrays(out, EVENT_TREE, ["nTrack", "trackPt"])) == ["nTrack", "trackPt"]


@needs_root
def test_spawn_pool_workers_write_ttrees(tmp_path, events):
    # one branch per depth: each fresh process pays ROOT's start-up and JIT per branch type
    chunk = {name: events[name] for name in SPAWN_BRANCHES}
    paths = [tmp_path / f"worker{i}.root" for i in range(2)]
    write = functools.partial(write_mltree, events=chunk, geometry={}, fmt="ttree")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        written = pool.map(write, paths)
    assert written == paths
    for path in paths:
        _assert_same(read_tree_arrays(path, EVENT_TREE), chunk, EVENT_BRANCHES)


def test_without_root(tmp_path):
    """No ROOT: ttree is a one-line UserError with the install hint; rntuple still works."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["ROOT"] = None  # what an install without the ROOT extra looks like
        import numpy as np
        from pathlib import Path
        from jetpointnet.errors import UserError
        from jetpointnet.io.mltree_writer import write_mltree
        out = Path({str(tmp_path)!r})
        chunk = {{"eventNumber": np.arange(2)}}
        try:
            write_mltree(out / "t.root", chunk, {{}}, fmt="ttree")
        except UserError as err:
            print("USERERROR", err)
        write_mltree(out / "r.root", chunk, {{}}, fmt="rntuple")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, check=True
    )
    assert "USERERROR writing TTrees needs ROOT" in result.stdout
    assert "pip install 'jetpointnet[root]' (or use --format rntuple)" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.root"]


# ---- files that outside MLTree clients read as they read ATLAS's (issue 12, part 4)


def test_cell_ids_are_31_bit_unique_and_decode(geo):
    ids = geo.cell_id
    assert ids.dtype == np.uint64 and ids.size == geo.n_cells == np.unique(ids).size
    assert int(ids.min()) >= 1 << 30 and int(ids.max()) < 1 << 31  # never 0, int32-safe
    as_int32 = ids.astype(np.int32)  # what a consumer casting to int does
    assert np.array_equal(as_int32.astype(np.uint64), ids) and np.all(as_int32 > 0)
    assert np.unique(as_int32).size == ids.size  # no two cells merged by the cast

    def field(name: str) -> np.ndarray:
        shift, width = CELL_ID_FIELDS[name]
        return (ids >> np.uint64(shift)) & np.uint64((1 << width) - 1)

    assert np.all(field("marker") == 1)
    assert np.array_equal(field("sampling"), geo.sampling)
    assert np.array_equal(field("side"), (geo.eta > 0).astype(np.uint64))
    dphi = 2 * np.pi / np.round(2 * np.pi / geo.dphi)
    assert np.array_equal(field("iphi"), np.floor((geo.phi + np.pi) / dphi).astype(np.uint64))
    # eta index within a region grid: (sampling, side, region) and ieta give abs(eta)
    for g in geo.grids:
        cells = np.arange(g.offset, g.offset + g.neta * g.nphi)
        ieta = field("ieta")[cells].astype(np.int64)
        expected = g.eta_lo + (ieta + 0.5) * g.deta
        assert np.allclose(np.abs(geo.eta[cells]), expected)


@pytest.mark.parametrize("order", ["ascending", "shuffled"])
def test_cellgeo_order_keeps_every_cell_and_link(geo, order):
    branches = geo.mltree_branches(order=order)
    ids = branches["cell_geo_ID"]
    assert np.all(np.diff(ids.astype(np.int64)) > 0) == (order == "ascending")
    cell = np.argsort(geo.cell_id)[np.searchsorted(np.sort(geo.cell_id), ids)]  # row -> cell
    assert np.array_equal(geo.cell_id[cell], ids) and np.unique(cell).size == geo.n_cells
    assert np.array_equal(branches["cell_geo_eta"], geo.eta[cell].astype(np.float32))
    assert np.array_equal(branches["cell_geo_sampling"], geo.sampling[cell])
    for name, link in geo.links.items():  # a link names the same neighbour cell as before
        written = branches[f"cell_geo_{name}"]
        assert written.dtype == np.int32 and np.array_equal(written < 0, link[cell] < 0)
        ok = written >= 0
        assert np.array_equal(ids[written[ok]], geo.cell_id[link[cell][ok]]), name
    with pytest.raises(ValueError, match="cell order 'random'"):
        geo.mltree_branches(order="random")


def test_unknown_cell_order_is_a_user_error(tmp_path):
    from jetpointnet.simulate.run import SimulateConfig, simulate

    cfg = SimulateConfig(preset="rho", events=2, seed=1, out=tmp_path, cell_order="sorted")
    with pytest.raises(UserError, match=r"cell order 'sorted'.*ascending, shuffled"):
        simulate(cfg, progress=False)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
def test_zlib_needs_nothing_beyond_uproot(tmp_path, monkeypatch, fmt):
    events = make_events()
    # repeated values, which every codec compresses (random ones LZ4 stores as they are)
    geometry = {k: np.resize(v, 20_000) for k, v in make_geometry(cells=50).items()}
    out = write_mltree(tmp_path / "zlib.root", events, geometry, fmt=fmt, compression="zlib")
    default = write_mltree(tmp_path / "default.root", events, geometry, fmt=fmt)
    refuse_decompression(monkeypatch, "LZ4")
    refuse_decompression(monkeypatch, "ZSTD")
    with uproot.open(out) as file:  # plain uproot, no jetpointnet reader in between
        assert isinstance(file.file.compression, uproot.ZLIB)
        read = {name: file[name].arrays() for name in (EVENT_TREE, CELL_GEO_TREE)}
    assert ak.array_equal(read[EVENT_TREE]["cluster_cell_ID"], events["cluster_cell_ID"])
    assert np.array_equal(read[CELL_GEO_TREE]["cell_geo_ID"][0], geometry["cell_geo_ID"])
    # the default (ZSTD) file, read by an uproot without a ZSTD decompressor: one line
    with pytest.raises(UserError, match=r"default\.root: compressed with ZSTD.*zstandard"):
        read_tree_arrays(default, CELL_GEO_TREE)


def test_simulate_compression_option(capsys, simulated, tmp_path):
    from jetpointnet.cli import main

    with uproot.open(simulated("rho", 8, 2)[0]) as file:
        assert isinstance(file.file.compression, uproot.ZSTD) and file.file.compression.level == 1
    code = main(["simulate", "--quiet", "--preset", "rho", "--events", "2",
                 "--compression", "lz4", "--out", str(tmp_path / "lz4")])  # fmt: skip
    assert code == 0
    with uproot.open(next((tmp_path / "lz4").glob("*.root"))) as file:
        assert isinstance(file.file.compression, uproot.LZ4) and file.file.compression.level == 1
    capsys.readouterr()
    code = main(["simulate", "--quiet", "--preset", "rho", "--events", "2",
                 "--compression", "lz5", "--out", str(tmp_path / "bad")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "compression 'lz5': unknown algorithm (closest: 'lz4'" in err
    assert err.count("\n") == 1 and not (tmp_path / "bad").exists()

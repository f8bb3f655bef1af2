"""Reading MLTree files: checks, closest-name errors, damaged files, TTree and RNTuple, cell
IDs of any width, CellGeo in any order, missing decompressors."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from mltree_handmade import refuse_decompression, write_handmade

from jetpointnet.cli import main
from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.extras import NeighbourTable
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_layout import CELL_GEO_BRANCHES, CELL_GEO_TREE, EVENT_TREE
from jetpointnet.io.mltree_reader import inspect_mltree, read_events, read_geometry
from jetpointnet.io.mltree_writer import read_tree_arrays


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reader")
    good = write_handmade(tmp / "good.root")
    out = {"good": good}
    out["nogeo"] = write_handmade(tmp / "nogeo.root", geometry=False)
    out["noP"] = write_handmade(tmp / "noP.root", skip=("trackP",))
    (tmp / "empty.root").write_bytes(b"")
    out["empty"] = tmp / "empty.root"
    (tmp / "garbage.root").write_bytes(b"this is not a ROOT file at all" * 10)
    out["garbage"] = tmp / "garbage.root"
    data = good.read_bytes()
    (tmp / "truncated.root").write_bytes(data[: len(data) // 2])
    out["truncated"] = tmp / "truncated.root"
    return out


def _one_line(exc: pytest.ExceptionInfo[UserError]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_inspect_good_file(files: dict[str, Path]) -> None:
    info = inspect_mltree(files["good"])
    assert info.num_entries == 2
    assert info.has_geometry
    assert "trackEta_EMB2" in info.branches
    assert not inspect_mltree(files["nogeo"]).has_geometry


@pytest.mark.parametrize(
    ("name", "needle"),
    [("empty", "empty file"), ("garbage", "not a readable ROOT file"), ("missing", "not found")],
)
def test_bad_files_one_line(files: dict[str, Path], tmp_path: Path, name: str, needle: str) -> None:
    path = files.get(name, tmp_path / "missing.root")
    with pytest.raises(UserError) as exc:
        inspect_mltree(path)
    text = _one_line(exc)
    assert str(path) in text and needle in text


def test_truncated_file_one_line(files: dict[str, Path]) -> None:
    path = files["truncated"]
    with pytest.raises(UserError) as exc:
        inspect_mltree(path)
        read_events(path, ["eventNumber", "cluster_cell_ID"], entry_start=0, entry_stop=2)
        read_geometry(path)
    assert str(path) in _one_line(exc)


def test_missing_tree_names_closest(files: dict[str, Path]) -> None:
    with pytest.raises(UserError) as exc:
        inspect_mltree(files["good"], event_tree="EventTre")
    assert _one_line(exc).endswith("no tree 'EventTre' (closest: 'EventTree')")
    with pytest.raises(UserError, match="no tree 'CellGeo'"):
        read_geometry(files["nogeo"])


def test_missing_branch_names_closest(files: dict[str, Path]) -> None:
    with pytest.raises(UserError) as exc:
        read_events(files["noP"], ["eventNumber", "trackP"], entry_start=0, entry_stop=1)
    text = _one_line(exc)
    assert "has no branch 'trackP'" in text and "'trackPt'" in text and str(files["noP"]) in text


def test_optional_branches_may_be_absent(files: dict[str, Path]) -> None:
    ev = read_events(
        files["good"],
        ["eventNumber"],
        optional=["runNumber", "nosuch"],
        entry_start=1,
        entry_stop=2,
    )
    assert set(ev) == {"eventNumber", "runNumber"}
    assert ev["eventNumber"].tolist() == [1001]


def _build(path: Path, entries: int = 2) -> ak.Array:
    ev = read_events(
        path,
        EVENT_BRANCHES_REQUIRED,
        optional=EVENT_BRANCHES_OPTIONAL,
        entry_start=0,
        entry_stop=entries,
    )
    table = CellTable.from_geometry(read_geometry(path))
    return build_samples(ev, table, selection=SelectionConfig(), source="x")[0]


def test_rntuple_reads_like_ttree(files: dict[str, Path], tmp_path: Path) -> None:
    with uproot.open(files["good"]) as f:
        events = f["EventTree"].arrays()
        geo = f["CellGeo"].arrays()
    rn = tmp_path / "rntuple.root"
    with uproot.recreate(rn) as f:
        f.mkrntuple("EventTree", events)
        f.mkrntuple("CellGeo", geo)

    a, b = _build(files["good"]), _build(rn)
    assert a.cells.id.tolist() == b.cells.id.tolist()
    assert np.allclose(ak.flatten(a.cells.truth_focal), ak.flatten(b.cells.truth_focal))


@pytest.mark.parametrize(
    "offset",
    [
        0x8000_0000,  # unsigned 32-bit IDs that are negative as int32
        (1 << 60) | (3 << 44),  # 64-bit IDs, as jetpointnet wrote before (bit 60 set)
        (1 << 64) - 10_000,  # the top of uint64
    ],
)
def test_cell_ids_of_any_width_are_read(files: dict[str, Path], tmp_path: Path, offset) -> None:
    wide = write_handmade(tmp_path / "wide.root", id_offset=offset)
    base, got = _build(files["good"]), _build(wide)
    ids = ak.flatten(got.cells.id)
    assert ids.type.content == ak.types.NumpyType("uint64")
    assert ak.to_list(ids) == [i + offset for i in ak.to_list(ak.flatten(base.cells.id))]
    for field in ("energy", "eta", "phi", "truth_focal", "truth_total"):
        assert ak.array_equal(base.cells[field], got.cells[field], equal_nan=True), field


def _geo_tree(path: Path) -> dict[str, np.ndarray]:
    with uproot.open(path) as file:
        arrays = file[CELL_GEO_TREE].arrays(library="np")
    return {name: values[0] for name, values in arrays.items()}


def test_simulated_cellgeo_is_ascending_and_numpy_matching_works(simulated):
    path = simulated("rho", 8, 2)[0]
    geo = _geo_tree(path)
    ids = geo["cell_geo_ID"]
    assert ids.dtype == np.uint64 and np.all(np.diff(ids.astype(np.int64)) > 0)
    with uproot.open(path) as file:
        cells = ak.flatten(file[EVENT_TREE]["cluster_cell_ID"].array(), axis=None).to_numpy()
    assert len(cells) > 100 and int(cells.max()) < 1 << 31
    # what JetPointNet-style clients do: positions by np.searchsorted / np.isin on raw vectors
    rows = np.searchsorted(ids, cells)
    assert np.array_equal(ids[rows], cells)
    assert np.isin(ids, cells).sum() == np.unique(cells).size
    # and with the IDs cast to int32, as a client may store them
    rows32 = np.searchsorted(ids.astype(np.int32), cells.astype(np.int32))
    assert np.array_equal(rows32, rows)


def test_shuffled_cellgeo_holds_the_same_cells_and_links(simulated):
    ordered, shuffled = simulated("rho", 8, 2)[0], simulated("rho", 8, 2, cell_order="shuffled")[0]
    a, b = _geo_tree(ordered), _geo_tree(shuffled)
    assert not np.all(np.diff(b["cell_geo_ID"].astype(np.int64)) > 0)
    rows = np.searchsorted(a["cell_geo_ID"], b["cell_geo_ID"])  # row in `a` of each row of `b`
    assert np.array_equal(a["cell_geo_ID"][rows], b["cell_geo_ID"])
    for name in CELL_GEO_BRANCHES:
        if name.endswith(("InEta", "InPhi", "InSamp")):  # links: row indices, renumbered
            link_a, link_b = a[name][rows], b[name]
            assert np.array_equal(link_a < 0, link_b < 0), name
            ok = link_b >= 0
            assert np.array_equal(a["cell_geo_ID"][link_a[ok]], b["cell_geo_ID"][link_b[ok]])
        else:
            assert np.array_equal(a[name][rows], b[name]), name
    # the events do not depend on the order in which CellGeo is written
    ev_a, ev_b = read_tree_arrays(ordered, EVENT_TREE), read_tree_arrays(shuffled, EVENT_TREE)
    assert all(ak.array_equal(ev_a[k], ev_b[k], equal_nan=True) for k in ev_a)
    # nor do the samples and neighbour links that our reader builds from them
    links_a, links_b = (NeighbourTable.from_geometry(read_geometry(p, links=True))
                        for p in (ordered, shuffled))  # fmt: skip
    assert np.array_equal(links_a.ids, links_b.ids)
    assert np.array_equal(links_a.links, links_b.links) and (links_a.links >= 0).mean() > 0.8
    samples_a, samples_b = _build(ordered, 8), _build(shuffled, 8)
    assert len(samples_a) > 0
    assert ak.array_equal(samples_a, samples_b, equal_nan=True)


@pytest.fixture(scope="module")
def lz4_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_handmade(tmp_path_factory.mktemp("lz4") / "lz4.root", compression=404)


def test_lz4_file_reads_with_this_uproot(files: dict[str, Path], lz4_file: Path) -> None:
    with uproot.open(lz4_file) as f:
        assert isinstance(f.file.compression, uproot.LZ4)
    assert ak.to_list(_build(lz4_file).cells.id) == ak.to_list(_build(files["good"]).cells.id)


@pytest.mark.parametrize(
    "read",
    [
        lambda p: read_geometry(p),
        lambda p: read_events(p, ["cluster_cell_ID"], entry_start=0, entry_stop=2),
        lambda p: _build(p),
    ],
)
def test_missing_decompressor_is_one_line(lz4_file: Path, monkeypatch, read) -> None:
    refuse_decompression(monkeypatch, "LZ4")
    with pytest.raises(UserError) as exc:
        read(lz4_file)
    text = _one_line(exc)
    assert text.startswith(f"{lz4_file}: compressed with LZ4; this uproot (")
    assert text.endswith(
        "needs the 'lz4' package to read it: pip install lz4 xxhash (or upgrade uproot)"
    )


def test_missing_decompressor_in_preprocess(lz4_file: Path, tmp_path: Path, monkeypatch, capsys):
    refuse_decompression(monkeypatch, "LZ4")
    rc = main(
        ["preprocess", "--no-progress", "--input", str(lz4_file), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert str(lz4_file) in err and "pip install lz4 xxhash" in err and "corrupt" not in err

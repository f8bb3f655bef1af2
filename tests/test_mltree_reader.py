"""Reading MLTree files: checks, closest-name errors, damaged files, TTree and RNTuple."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from mltree_handmade import write_handmade

from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import inspect_mltree, read_events, read_geometry


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


def test_rntuple_reads_like_ttree(files: dict[str, Path], tmp_path: Path) -> None:
    with uproot.open(files["good"]) as f:
        events = f["EventTree"].arrays()
        geo = f["CellGeo"].arrays()
    rn = tmp_path / "rntuple.root"
    with uproot.recreate(rn) as f:
        f.mkrntuple("EventTree", events)
        f.mkrntuple("CellGeo", geo)

    def build(path: Path) -> ak.Array:
        ev = read_events(
            path,
            EVENT_BRANCHES_REQUIRED,
            optional=EVENT_BRANCHES_OPTIONAL,
            entry_start=0,
            entry_stop=2,
        )
        table = CellTable.from_geometry(read_geometry(path))
        return build_samples(ev, table, selection=SelectionConfig(), source="x")[0]

    a, b = build(files["good"]), build(rn)
    assert a.cells.id.tolist() == b.cells.id.tolist()
    assert np.allclose(ak.flatten(a.cells.truth_focal), ak.flatten(b.cells.truth_focal))

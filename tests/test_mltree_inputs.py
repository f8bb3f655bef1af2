"""The front door for MLTree inputs (io/mltree_inputs.py): checks, chunks, the reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mltree_handmade import write_handmade
from mltree_rename import rename_trees

from jetpointnet.config import load_config
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.preprocess import preprocess
from jetpointnet.errors import UserError
from jetpointnet.io import mltree_reader
from jetpointnet.io.mltree_inputs import check_inputs

ROOT_DIR = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("front")
    hand = write_handmade(tmp / "hand.root", copies=6)
    text = tmp / "text.root"
    text.write_text("not a ROOT file\n")
    (tmp / "renamed").mkdir()  # the same file name: the same event splits
    return {
        "hand": hand,
        "renamed": rename_trees(
            hand, tmp / "renamed" / "hand.root", {"EventTree": "Events", "CellGeo": "Geo"}
        ),
        "nogeo": write_handmade(tmp / "nogeo.root", geometry=False),
        "noP": write_handmade(tmp / "noP.root", skip=("trackP",)),
        "text": text,
    }


def _line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_check_inputs_gives_one_line_per_problem(files: dict[str, Path], tmp_path: Path) -> None:
    cases = [
        ([str(tmp_path / "none*.root")], {}, "no file matches"),
        ([str(files["text"])], {}, f"{files['text']}: not a readable ROOT file"),
        ([str(files["noP"])], {"branches": ["trackP"]}, "has no branch 'trackP' (closest: "),
        ([str(files["nogeo"])], {}, "no tree 'CellGeo' (pass --geometry GEO.root)"),
        ([str(files["hand"])], {"event_tree": "Events"}, "no tree 'Events' (closest: 'EventTree'"),
        ([str(files["renamed"])], {"event_tree": "Events"}, "no tree 'CellGeo' (pass --geometry"),
        (
            [str(files["hand"])],
            {"links": True},
            "tree 'CellGeo' has no branch 'cell_geo_prevInEta'",
        ),
    ]
    for patterns, options, needle in cases:
        with pytest.raises(UserError) as exc:
            check_inputs(patterns, **options)
        assert needle in _line(exc), (needle, str(exc.value))


def test_check_inputs_plans_chunks_with_the_configured_trees(files: dict[str, Path]) -> None:
    inputs = check_inputs([str(files["renamed"])], event_tree="Events", geometry_tree="Geo",
                          branches=["eventNumber"])  # fmt: skip
    assert inputs.entries == [check_inputs([str(files["hand"])]).entries[0]]
    chunks = inputs.chunks(4)
    assert [(c.start, c.stop) for c in chunks][:2] == [(0, 4), (4, 8)]
    assert chunks[-1].stop == inputs.entries[0]
    with inputs.reader(build_geometry=CellTable.from_geometry) as reader:
        got = list(reader.read(chunks, ["eventNumber"]))
        assert reader.opened == 1  # one file: opened once for all its chunks
    assert not reader.is_open
    numbers = np.concatenate([np.asarray(ec.events["eventNumber"]) for ec in got])
    assert len(numbers) == inputs.entries[0]
    assert len(got[0].geometry) == len(CellTable.from_geometry(
        mltree_reader.read_geometry(files["hand"])))  # fmt: skip


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[mltree_reader.EventFile]:
    """Every EventFile opened while the test runs (the real class, recorded)."""
    made: list[mltree_reader.EventFile] = []
    init = mltree_reader.EventFile.__init__

    def record(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(mltree_reader.EventFile, "__init__", record)
    return made


def test_reader_closes_its_file_when_a_chunk_fails(files: dict[str, Path], opened) -> None:
    inputs = check_inputs([str(files["hand"])])
    chunks = inputs.chunks(3)
    reader = inputs.reader(build_geometry=CellTable.from_geometry)
    with pytest.raises(UserError, match="no branch 'nope'"), reader:
        for k, ec in enumerate(reader.read(chunks, ["eventNumber"])):
            assert len(ec.events["eventNumber"]) == 3
            if k == 1:
                reader.events(ec.chunk, ["nope"])
    assert len(opened) == 1 and opened[0].closed
    assert not reader.is_open  # the geometry is dropped too


def test_preprocess_closes_files_after_a_failing_chunk(
    files: dict[str, Path], tmp_path: Path, opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetpointnet.data import preprocess as module

    build = module.build_samples
    calls = []

    def fail_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("chunk 2 fails")
        return build(*args, **kwargs)

    monkeypatch.setattr(module, "build_samples", fail_second)
    cfg = load_config(PreprocessConfig, ROOT_DIR / "configs" / "data" / "demo.yaml",
                      ["events_per_chunk=3"])  # fmt: skip
    with pytest.raises(RuntimeError, match="chunk 2 fails"):
        preprocess([str(files["hand"])], tmp_path / "out", config=cfg, progress=False)
    assert len(opened) == 1 and all(f.closed for f in opened)


def test_preprocess_reads_the_configured_tree_names(files: dict[str, Path], tmp_path: Path) -> None:
    demo = ROOT_DIR / "configs" / "data" / "demo.yaml"
    base = load_config(PreprocessConfig, demo, ["events_per_chunk=4"])
    renamed = load_config(PreprocessConfig, demo,
                          ["events_per_chunk=4", "event_tree=Events", "geometry_tree=Geo"])  # fmt: skip
    a = preprocess([str(files["hand"])], tmp_path / "a", config=base, progress=False)
    b = preprocess([str(files["renamed"])], tmp_path / "b", config=renamed, progress=False)
    assert a.metadata["counts"] == b.metadata["counts"] and a.metadata["counts"]["train"]["samples"]
    assert a.metadata["drops"] == b.metadata["drops"]
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert meta["config"]["event_tree"] == "Events" and meta["config"]["geometry_tree"] == "Geo"


def test_worker_tasks_are_runs_of_one_file_and_keep_the_pool_balanced() -> None:
    from jetpointnet.data.pipeline import group_tasks

    items = [("a", k) for k in range(7)] + [("b", k) for k in range(5)]
    one = group_tasks(items, lambda i: i[0], workers=1)
    assert one == [items[:7], items[7:]]  # one worker: one task (one reader) per file
    two = group_tasks(items, lambda i: i[0], workers=2)
    assert [i for g in two for i in g] == items  # every chunk once, in order
    assert all(len({i[0] for i in g}) == 1 for g in two)  # never across files
    assert len(two) >= 8 and max(len(g) for g in two) <= 2

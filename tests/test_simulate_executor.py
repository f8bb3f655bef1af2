"""``jetpointnet simulate --executor``: the files do not depend on where or how many workers ran."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import pytest
import uproot

from jetpointnet.cli import main
from jetpointnet.io.mltree_writer import read_tree_arrays

# 5 events in files of 2: three files, the last one shorter
COMMON = [
    *("--preset", "rho", "--events", "5", "--events-per-file", "2"),
    *("--seed", "7", "--format", "rntuple"),
]
NAMES = [f"rho_seed7_{i:04d}.root" for i in range(3)]
RUNS = {
    "one": [],
    "local2": ["--workers", "2"],
    "dask2": ["--executor", "dask", "--workers", "2"],
}


def _simulate(out: Path, *extra: str) -> int:
    return main(["simulate", "--quiet", *COMMON, "--out", str(out), *extra])


def _contents(path: Path) -> dict[str, dict[str, ak.Array]]:
    """Every branch of every tree in ``path``, read back with uproot."""
    with uproot.open(path) as f:
        trees = sorted({key.split(";")[0] for key in f.keys(recursive=False)})
    return {tree: read_tree_arrays(path, tree) for tree in trees}


def _assert_same(a: Path, b: Path) -> None:
    ca, cb = _contents(a), _contents(b)
    assert list(ca) == list(cb) == ["CellGeo", "EventTree"]
    for tree in ca:
        assert sorted(ca[tree]) == sorted(cb[tree]), tree
        for branch, values in ca[tree].items():
            other = cb[tree][branch]
            assert ak.array_equal(values, other, equal_nan=True), f"{a.name}:{tree}/{branch}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("distributed")
    base = tmp_path_factory.mktemp("executors")
    for name, extra in RUNS.items():
        assert _simulate(base / name, *extra) == 0, name
    return {name: base / name for name in RUNS}


@pytest.mark.slow
def test_one_worker_two_workers_and_dask_write_the_same_files(runs):
    for name, out in runs.items():
        assert sorted(p.name for p in out.glob("*.root")) == NAMES, name
    for file in NAMES:
        _assert_same(runs["one"] / file, runs["local2"] / file)
        _assert_same(runs["one"] / file, runs["dask2"] / file)
    # the settings recorded do not depend on the executor: either one resumes the other
    manifests = [json.loads((out / "simulate.json").read_text()) for out in runs.values()]
    assert manifests[0] == manifests[1] == manifests[2]
    assert "executor" not in manifests[0]["config"]


@pytest.mark.slow
def test_interrupted_dask_run_resumes(runs):
    out = runs["dask2"]
    kept = out / NAMES[0]
    stamp = kept.stat().st_mtime_ns
    # what a run killed before its last file was renamed leaves: no file, no record, no
    # manifest, and a temporary of the writer
    (out / NAMES[2]).unlink()
    (out / "_chunks" / NAMES[2].replace(".root", ".json")).unlink()
    (out / "simulate.json").unlink()
    partial = out / NAMES[2].replace(".root", ".partial-999999.root")
    partial.write_bytes(b"half a file")
    assert _simulate(out, "--executor", "dask", "--workers", "1") == 0
    assert kept.stat().st_mtime_ns == stamp  # done files are not redone
    assert not partial.exists()
    _assert_same(runs["one"] / NAMES[2], out / NAMES[2])
    stats = json.loads((out / "simulate_stats.json").read_text())
    assert stats["events"] == 5 and stats["chunks"] == 3


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--scheduler", "tcp://h:8786"], "--scheduler tcp://h:8786: needs --executor dask"),
        (["--executor", "dask", "--scheduler", "nonsense"], "--scheduler nonsense: missing port"),
    ],
)
def test_bad_executor_options_are_one_line(capsys, tmp_path, extra, needle):
    pytest.importorskip("distributed")
    assert _simulate(tmp_path / "o", *extra) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.rglob("*.root"))


def test_the_output_check_sees_a_file_only_once_it_exists(tmp_path):
    from jetpointnet.simulate.run import _appears

    there = tmp_path / "f.root"
    assert not _appears(there, wait=0.0)
    there.write_bytes(b"x")
    assert _appears(there, wait=0.0)

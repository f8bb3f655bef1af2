"""``jetpointnet preprocess`` end to end: outputs, resume, kill -9, bad inputs, executors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.cli import main
from jetpointnet.data.schema import IGNORE, CellClass
from jetpointnet.io.prep_folder import load_arrays, read_metadata
from jetpointnet.io.sample_files import read_samples


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    return {
        "hand": write_handmade(tmp / "hand.root"),
        "many": write_handmade(tmp / "many.root", copies=40),
        "nogeo": write_handmade(tmp / "nogeo.root", geometry=False),
        "notracks": write_handmade(tmp / "notracks.root", no_tracks=True),
        "noP": write_handmade(tmp / "noP.root", skip=("trackP",)),
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _run(*args: str) -> int:
    return main(["preprocess", "--no-progress", *args])


def test_end_to_end_and_resume(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        _run("--input", str(inputs["many"]), "--out", str(out), "--set", "events_per_chunk=16") == 0
    )
    printed = capsys.readouterr().out
    assert str(out) in printed and "metadata" in printed
    meta = read_metadata(out)
    counts = meta["counts"]
    # 80 events, 4 usable tracks per 2 events, all kept (L is large enough)
    assert sum(c["events"] for c in counts.values()) == 80
    assert sum(c["samples"] for c in counts.values()) == 160
    assert meta["drops"]["no_extrapolation"] == 40
    assert meta["length"] == 9 and meta["layout"] == "ragged"
    assert meta["sources"][0]["entries"] == 80 and len(meta["sources"][0]["sha256"]) == 64
    # split by event: no event in two splits, all splits used
    seen: dict[str, set[int]] = {}
    for split in ("train", "val", "test"):
        ev = set()
        for f in (out / "arrays" / split).glob("*.npz"):
            ev |= set(load_arrays(f)["event_number"].tolist())
        seen[split] = ev
    assert seen["train"] and seen["val"] | seen["test"]
    assert not (seen["train"] & seen["val"]) and not (seen["train"] & seen["test"])
    assert not (seen["val"] & seen["test"])
    # re-run: everything skipped, nothing rewritten
    before = _files(out)
    assert (
        _run("--input", str(inputs["many"]), "--out", str(out), "--set", "events_per_chunk=16") == 0
    )
    assert "work units run 0" in capsys.readouterr().out
    assert _files(out) == before
    # another configuration into the same folder is refused
    assert _run("--input", str(inputs["many"]), "--out", str(out)) == 2
    assert "another configuration" in capsys.readouterr().err


def test_kill_9_then_resume_gives_identical_bytes(inputs: dict[str, Path], tmp_path: Path) -> None:
    args = ["--input", str(inputs["many"]), "--set", "events_per_chunk=3", "--no-progress"]
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert _run(*args[:-1], "--out", str(ref)) == 0
    cmd = [sys.executable, "-m", "jetpointnet.cli", "preprocess", *args, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = out / "samples" / "_chunks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if markers.is_dir() and len(list(markers.iterdir())) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "metadata.json").exists()
    assert subprocess.run(cmd, check=False, capture_output=True).returncode == 0
    assert _files(out) == _files(ref)


def test_workers_give_identical_bytes(inputs: dict[str, Path], tmp_path: Path) -> None:
    args = ["--input", str(inputs["many"]), "--set", "events_per_chunk=10"]
    assert _run(*args, "--out", str(tmp_path / "a")) == 0
    assert _run(*args, "--out", str(tmp_path / "b"), "--workers", "2") == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_pool_worker_keeps_its_reader_between_tasks(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetpointnet import executors
    from jetpointnet.data import preprocess
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.io.mltree_inputs import check_inputs

    chunks = check_inputs([str(inputs["many"])]).chunks(20)
    config = PreprocessConfig()
    one = [preprocess.samples_chunks([c], config, str(tmp_path / "a"), [None]) for c in chunks]
    monkeypatch.setattr(executors, "_IN_LOCAL_POOL", True)  # as in a local pool's worker
    try:
        kept = [preprocess.samples_chunks([c], config, str(tmp_path / "b"), [None]) for c in chunks]
        (reader,) = preprocess._KEPT_READERS.values()
        assert reader.opened == 1 and reader.is_open  # one file opened for the 4 tasks
    finally:
        for r in preprocess._KEPT_READERS.values():
            r.close()
        preprocess._KEPT_READERS.clear()
    assert one == kept
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_dask_local_cluster(inputs: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    args = ["--input", str(inputs["many"]), "--set", "events_per_chunk=20"]
    assert _run(*args, "--out", str(tmp_path / "a")) == 0
    assert _run(*args, "--out", str(tmp_path / "b"), "--executor", "dask", "--workers", "2") == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_padded_layout_and_stages(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o"
    base = [
        "--input",
        str(inputs["hand"]),
        "--out",
        str(out),
        "--set",
        "arrays.layout=padded",
        "--set",
        "arrays.max_length=5",
    ]
    assert _run(*base, "--stage", "samples") == 0
    assert not (out / "arrays").exists() and (out / "samples" / "train").is_dir()
    assert _run(*base, "--stage", "arrays") == 0
    meta = read_metadata(out)
    assert meta["length"] == 5 and meta["length_quantile"] is None
    assert meta["truncation"] == {"samples_truncated": 2, "points_dropped": 8, "too_few_cells": 0}
    arr = load_arrays(next((out / "arrays" / "train").glob("*.npz")))
    assert arr["X"].shape[1:] == (5, 11) and arr["mask"].shape[1] == 5


def test_geometry_from_another_file(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    assert _run("--input", str(inputs["nogeo"]), "--out", str(out)) == 2
    assert "--geometry" in capsys.readouterr().err
    assert (
        _run("--input", str(inputs["nogeo"]), "--geometry", str(inputs["hand"]), "--out", str(out))
        == 0
    )
    assert sum(c["samples"] for c in read_metadata(out)["counts"].values()) == 4


def test_no_tracks_is_counted_not_fatal(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert _run("--input", str(inputs["notracks"]), "--out", str(out)) == 0
    meta = read_metadata(out)
    assert sum(c["samples"] for c in meta["counts"].values()) == 0
    assert sum(c["events"] for c in meta["counts"].values()) == 2


@pytest.mark.parametrize(
    ("make_args", "needle"),
    [
        (lambda i, t: ["--input", str(t / "nothing*.root")], "no file matches"),
        (lambda i, t: ["--input", str(i["noP"])], "no branch 'trackP' (closest: 'trackPt'"),
        (
            lambda i, t: ["--input", str(i["hand"]), "--set", "event_tree=Events"],
            "no tree 'Events' (closest: 'EventTree'",
        ),
        (
            lambda i, t: ["--input", str(i["hand"]), "--set", "arrays.features=[x, energie]"],
            "unknown feature 'energie' (closest: 'energy'",
        ),
        (
            lambda i, t: ["--input", str(i["hand"]), "--set", "radius.fixd=0.3"],
            "unknown key 'radius.fixd'",
        ),
        (lambda i, t: ["--input", str(_write(t / "e.root", b""))], "empty file"),
        (
            lambda i, t: ["--input", str(_write(t / "g.root", b"garbage" * 50))],
            "not a readable ROOT file",
        ),
        (
            lambda i, t: ["--input", str(_write(t / "t.root", i["hand"].read_bytes()[:3000]))],
            "t.root",
        ),
    ],
)
def test_bad_inputs_one_line(inputs, tmp_path, capsys, make_args, needle) -> None:
    rc = _run(*make_args(inputs, tmp_path), "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and needle in err, err


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ simulated data


def _check_labels(out: Path) -> None:
    meta = read_metadata(out)
    assert meta["counts"]["train"]["samples"] > 0
    events: dict[str, set[tuple[int, int]]] = {}
    for split in ("train", "val", "test"):
        events[split] = set()
        for f in (out / "arrays" / split).glob("*.npz"):
            a = load_arrays(f)
            events[split] |= set(
                zip(a["file_index"].tolist(), a["event_number"].tolist(), strict=True)
            )
            m = a["label_mask"]
            e, tot, frac = a["y_energy"][m], a["y_total"][m], a["y_fraction"][m]
            cls, binary = a["y_class"][m], a["y_binary"][m]
            assert (e >= 0).all() and (e <= tot * (1 + 1e-5) + 1e-6).all()
            assert ((frac >= 0) & (frac <= 1)).all()
            assert np.array_equal(binary == 1, cls == CellClass.FOCAL)
            assert (e[cls == CellClass.FOCAL] > 0).all()
            assert (tot[cls == CellClass.NOISE] == 0).all()
            assert (tot[cls != CellClass.NOISE] > 0).all()
            assert (a["y_energy"][~m] == IGNORE).all()
            assert np.all(np.isfinite(a["X"]))
        for f in (out / "samples" / split).glob("*.arrow"):
            c = read_samples(f).cells
            parts = ak.flatten(c.truth_focal + c.truth_neutral + c.truth_charged_other)
            assert np.allclose(parts, ak.flatten(c.truth_total), rtol=1e-4, atol=1e-5)
    assert not (events["train"] & events["val"]) and not (events["train"] & events["test"])
    assert not (events["val"] & events["test"])


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "n"), [("rho", 40), ("dijet-jz3", 5)])
def test_simulated_labels_consistent(simulated, tmp_path: Path, preset: str, n: int) -> None:
    files = simulated(preset, n, 1)
    out = tmp_path / preset
    assert _run("--input", str(files[0].parent / "*.root"), "--out", str(out)) == 0
    _check_labels(out)
    meta = json.loads((out / "metadata.json").read_text())
    assert sum(c["events"] for c in meta["counts"].values()) == n

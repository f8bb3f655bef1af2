"""The user's environment as one line, exit code 2: inputs never overwritten, unwritable or
full outputs, a folder where a file goes (and back), damaged file contents, strict JSON."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from mltree_handmade import write_handmade
from synthetic_arrays import write_dataset

from jetpointnet.cli import main
from jetpointnet.errors import UserError
from jetpointnet.io import atomic
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.prediction_files import PredictionWriter
from jetpointnet.io.sample_files import write_json
from jetpointnet.training.checkpoint import load_checkpoint

ROOT = Path(__file__).parents[1]
SPACE = ROOT / "configs" / "tune" / "small.yaml"
SMALL = ROOT / "configs" / "train" / "small.yaml"


def _err(capsys, *argv: str) -> str:
    """Run the command; it must fail with exit code 2 and one line on stderr."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def env(tmp_path):
    """A real MLTree file, a synthetic data folder and a run folder that looks real."""
    (tmp_path / "in").mkdir()
    src = write_handmade(tmp_path / "in" / "d.root")
    data = write_dataset(tmp_path / "data")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(SMALL.read_text())
    (run / "best.pt").write_bytes(b"weights")
    return {"src": src, "data": data, "run": run, "tmp": tmp_path}


def _overlap_cases(e: dict) -> list[tuple[list[str], str]]:
    src, data, run = str(e["src"]), str(e["data"]), str(e["run"])
    folder = str(e["src"].parent)
    return [
        (["pflow-templates", "--input", src, "--out", src, "--overwrite"], f"{src}: is the input"),
        (["export", "--run", run, "--onnx", f"{run}/best.pt", "--overwrite"], "best.pt: is the"),
        (["train", "--data", data, "--out", data, "--config", str(SMALL)], f"{data}: is the in"),
        (["train", "--data", data, "--out", f"{data}/run"], f"{data}/run: lies inside the input"),
        (["predict", "--run", run, "--input", src, "--out", src, "--overwrite"], "d.root: is the"),
        (["jets", "--input", src, "--algorithm", "calo", "--out", folder], "contains the input"),
        (["evaluate", "--run", run, "--data", data, "--out", data], f"{data}: is the input"),
        (["evaluate", "--run", run, "--data", data, "--out", run], f"{run}: contains the input"),
        (["preprocess", "--input", src, "--out", folder], f"{folder}: contains the input"),
        (["tune", "--data", data, "--space", str(SPACE), "--trials", "1", "--study-db",
          f"sqlite:///{e['tmp']}/t.db", "--out", data], f"{data}: is the input"),
    ]  # fmt: skip


def test_no_command_writes_over_its_input(env, capsys) -> None:
    before = {p: p.read_bytes() for p in env["tmp"].rglob("*") if p.is_file()}
    for argv, needle in _overlap_cases(env):
        err = _err(capsys, *argv)
        assert needle in err and "choose another output" in err, (argv, err)
    after = {p: p.read_bytes() for p in env["tmp"].rglob("*") if p.is_file()}
    assert after == before


def _unwritable() -> Path:
    """A folder that even root cannot create (sysfs), or skip."""
    probe = Path("/sys/jetpointnet-probe")
    try:
        probe.mkdir()
    except OSError:
        return probe / "out"
    probe.rmdir()
    pytest.skip("/sys is writable here")


def test_unwritable_output_folder_is_one_line(env, capsys) -> None:
    bad = str(_unwritable())
    src, data = str(env["src"]), str(env["data"])
    for argv in (
        ["simulate", "--quiet", "--preset", "rho", "--events", "2", "--out", bad],
        ["preprocess", "--no-progress", "--input", src, "--out", bad],
        ["train", "--quiet", "--data", data, "--out", bad, "--config", str(SMALL)],
        ["jets", "--quiet", "--input", src, "--algorithm", "calo", "--out", bad],
        ["tune", "--quiet", "--data", data, "--space", str(SPACE), "--trials", "1",
         "--study-db", f"sqlite:///{env['tmp']}/t.db", "--out", bad],
    ):  # fmt: skip
        err = _err(capsys, *argv)
        assert err == (
            f"jetpointnet {argv[0]}: error: /sys/jetpointnet-probe: operation not permitted; "
            "choose another output or fix the permissions\n"
        )


def test_a_file_where_a_folder_goes_and_a_folder_where_a_file_goes(env, capsys) -> None:
    src, data, run = str(env["src"]), str(env["data"]), str(env["run"])
    afile = env["tmp"] / "afile"
    afile.write_text("x")
    for argv in (
        ["simulate", "--quiet", "--preset", "rho", "--events", "2", "--out", str(afile)],
        ["preprocess", "--no-progress", "--input", src, "--out", str(afile)],
        ["train", "--quiet", "--data", data, "--out", str(afile), "--config", str(SMALL)],
        ["jets", "--quiet", "--input", src, "--algorithm", "calo", "--out", str(afile)],
        ["tune", "--quiet", "--data", data, "--space", str(SPACE), "--trials", "1",
         "--study-db", f"sqlite:///{env['tmp']}/t.db", "--out", str(afile)],
    ):  # fmt: skip
        err = _err(capsys, *argv)
        assert err == f"jetpointnet {argv[0]}: error: {afile}: exists and is not a folder\n"
    folder = env["tmp"] / "x.parquet"
    folder.mkdir()
    for argv in (
        ["predict", "--quiet", "--run", run, "--input", src, "--out", str(folder), "--overwrite"],
        ["export", "--run", run, "--onnx", str(folder), "--overwrite"],
        ["pflow-templates", "--input", src, "--out", str(folder), "--overwrite"],
    ):
        assert f"{folder}: is a folder" in _err(capsys, *argv)


def _full_disk(monkeypatch) -> None:
    real = os.replace

    def replace(src, dst):
        if ".partial-" in str(src):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)


def test_full_disk_is_one_line_and_leaves_no_partial(env, monkeypatch, capsys) -> None:
    _full_disk(monkeypatch)
    out = env["tmp"] / "pre"
    err = _err(capsys, "preprocess", "--no-progress", "--input", str(env["src"]), "--out", str(out))
    assert err.startswith(f"jetpointnet preprocess: error: {out}/")
    assert err.endswith(": no space left on the device; free some space and re-run to resume\n")
    assert ".partial-" not in err
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]
    sim = env["tmp"] / "sim"
    err = _err(capsys, "simulate", "--quiet", "--preset", "rho", "--events", "1", "--out", str(sim))
    assert err.startswith(f"jetpointnet simulate: error: {sim}/rho_seed1_0000.root: no space")
    assert not [p for p in sim.rglob("*") if ".partial-" in p.name]


def test_prediction_writer_removes_its_partial_when_closing_fails(tmp_path, monkeypatch) -> None:
    import jetpointnet.io.prediction_files as pf

    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(src))

    writer = PredictionWriter(tmp_path / "p.parquet", {"a": np.dtype(np.float32)})
    writer.write({"a": np.ones(3, np.float32)})
    monkeypatch.setattr(pf.os, "replace", replace)
    with pytest.raises(OSError, match="No space"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_damaged_contents_are_one_line(env, capsys) -> None:
    tmp, data = env["tmp"], env["data"]
    binary = tmp / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    err = _err(capsys, "preprocess", "--input", str(env["src"]), "--out", str(tmp / "o"),
               "--config", str(binary))  # fmt: skip
    assert f"{binary}: not a text file" in err
    err = _err(capsys, "tune", "--data", str(data), "--space", str(binary), "--trials", "1",
               "--study-db", f"sqlite:///{tmp}/t.db")  # fmt: skip
    assert f"{binary}: not a text file" in err
    (env["run"] / "config.yaml").write_text("task: !!python/object/apply:os.system ['true']\n")
    err = _err(capsys, "evaluate", "--run", str(env["run"]), "--data", str(data))
    assert f"{env['run']}/config.yaml: not valid YAML" in err
    first = min((data / "arrays" / "train").glob("*.npz"))
    first.write_bytes(b"not a zip")
    err = _err(capsys, "train", "--quiet", "--data", str(data), "--out", str(tmp / "r"),
               "--config", str(SMALL), "--set", "train.device=cpu")  # fmt: skip
    assert f"{first}: not a readable npz file (ValueError); re-run preprocess" in err
    (data / "metadata.json").write_text('{"layout": "ragged",')
    err = _err(capsys, "train", "--quiet", "--data", str(data), "--out", str(tmp / "r2"),
               "--config", str(SMALL))  # fmt: skip
    assert f"{data}/metadata.json: not valid JSON" in err


def test_tune_without_data_is_one_line_and_no_trial(tmp_path, capsys) -> None:
    db = tmp_path / "t.db"
    err = _err(capsys, "tune", "--data", str(tmp_path / "nope"), "--space", str(SPACE),
               "--trials", "1", "--study-db", f"sqlite:///{db}")  # fmt: skip
    assert "nope/metadata.json: not found" in err
    assert not db.exists()


def test_checkpoint_that_is_text_or_truncated(tmp_path) -> None:
    import torch

    text = tmp_path / "text.pt"
    text.write_text("this is not a checkpoint\n")
    good = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.ones(100)}}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for path in (text, cut):
        with pytest.raises(UserError, match=f"{path}: not a readable checkpoint"):
            load_checkpoint(path)


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_we_write_is_strict(tmp_path) -> None:
    obj = {"a": float("nan"), "b": [float("inf"), -np.inf], "c": np.float32("nan"), "d": 1.5}
    assert _strict(strict_dumps(obj)) == {"a": None, "b": [None, None], "c": None, "d": 1.5}
    assert _strict(write_json(tmp_path / "x.json", obj).read_text())["d"] == 1.5

"""One job per output folder: a second job refuses in one line; a dead holder is taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mltree_handmade import write_handmade

from jetpointnet.cli import main
from jetpointnet.errors import UserError
from jetpointnet.io.lock import LOCK_NAME, output_lock, pid_alive

SRC = str(Path(__file__).parents[1] / "src")


def _holder(folder: Path, command: str = "train") -> subprocess.Popen:
    """A real second process that takes ``folder``'s lock and sleeps."""
    code = (
        "import time\nfrom jetpointnet.io.lock import output_lock\n"
        f"with output_lock({str(folder)!r}, {command!r}):\n"
        "    print('held', flush=True)\n    time.sleep(120)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def test_second_job_into_a_locked_folder_stops_naming_the_holder(tmp_path, capsys) -> None:
    out = tmp_path / "sim"
    proc = _holder(out)
    try:
        code = main(["simulate", "--quiet", "--preset", "rho", "--events", "2", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2
        assert err == (
            f"jetpointnet simulate: error: {out}: in use by jetpointnet train (pid {proc.pid} on "
            f"{os.uname().nodename}, since {json.loads((out / LOCK_NAME).read_text())['started']}"
            f"); wait for it to finish (or remove {out / LOCK_NAME} if that job is gone)\n"
        )
        assert not list(out.glob("*.root"))
        src = write_handmade(tmp_path / "hand.root")
        code = main(["preprocess", "--no-progress", "--input", str(src), "--out", str(out)])
        assert code == 2 and f"{out}: in use by jetpointnet train" in capsys.readouterr().err
    finally:
        _stop(proc)


def test_lock_of_a_killed_job_is_taken_over_with_a_notice(tmp_path, capsys) -> None:
    out = tmp_path / "o"
    proc = _holder(out, "preprocess")
    _stop(proc)  # kill -9: the lock file stays behind
    assert (out / LOCK_NAME).exists()
    with output_lock(out, "train"):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    err = capsys.readouterr().err
    assert f"taking over the lock of jetpointnet preprocess (pid {proc.pid}" in err
    assert err.count("\n") == 1
    assert not (out / LOCK_NAME).exists()  # released on exit


def test_lock_is_reentrant_in_one_process_and_released_on_error(tmp_path) -> None:
    with pytest.raises(RuntimeError), output_lock(tmp_path, "demo"):
        with output_lock(tmp_path, "train"):
            assert (tmp_path / LOCK_NAME).exists()
        assert (tmp_path / LOCK_NAME).exists()
        raise RuntimeError
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_file_where_the_folder_should_be(tmp_path) -> None:
    (tmp_path / "f").write_text("x")
    with (
        pytest.raises(UserError, match="exists and is not a folder"),
        output_lock(tmp_path / "f", "jets"),
    ):
        pass


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` and that run multiprocessing's spawned workers."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmd:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_killing_simulate_takes_its_workers_with_it(tmp_path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    argv = [sys.executable, "-m", "jetpointnet.cli", "simulate", "--quiet", "--preset", "rho",
            "--events", "400", "--events-per-file", "2", "--workers", "2",
            "--out", str(tmp_path / "sim")]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "simulate ended before its workers started"
            time.sleep(0.2)
        assert len(workers) == 2
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(pid_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if pid_alive(w)]

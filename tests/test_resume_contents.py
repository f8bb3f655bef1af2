"""Resume trusts contents, not names: simulate's per-chunk records, preprocess's fingerprints."""

from __future__ import annotations

import json

import pytest
from mltree_handmade import write_handmade

from jetpointnet.cli import main
from jetpointnet.io.mltree_reader import file_sha256
from jetpointnet.simulate import run as sim_run

SIM = ["simulate", "--quiet", "--preset", "rho", "--events-per-file", "2"]


def _interrupt_at(monkeypatch, chunk: int) -> None:
    real = sim_run._simulate_chunk

    def fake(cfg, i, *args, **kwargs):
        if i == chunk:
            raise KeyboardInterrupt
        return real(cfg, i, *args, **kwargs)

    monkeypatch.setattr(sim_run, "_simulate_chunk", fake)


def test_interrupted_overwrite_never_labels_old_files_as_new(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "sim")
    assert main([*SIM, "--events", "4", "--out", out]) == 0
    with monkeypatch.context() as m:
        _interrupt_at(m, 1)
        args = [*SIM, "--events", "4", "--max-contributors", "1", "--out", out]
        assert main([*args, "--overwrite"]) == 130
    capsys.readouterr()
    # chunk 0 has the new settings, chunk 1 is still the old file: not taken as done
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"jetpointnet simulate: error: {out}/rho_seed1_0001.root: exists, from other settings "
        "(pass --overwrite to replace it)\n"
    )
    assert main([*args, "--overwrite"]) == 0
    manifest = json.loads((tmp_path / "sim" / "simulate.json").read_text())
    assert manifest["config"]["max_contributors"] == 1


def test_stats_add_up_over_a_resumed_run(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "sim")
    with monkeypatch.context() as m:
        _interrupt_at(m, 2)
        assert main([*SIM, "--events", "6", "--out", out]) == 130
    assert not (tmp_path / "sim" / "simulate.json").exists()  # written after the data
    (tmp_path / "sim" / f"rho_seed1_0002.partial-{2**22 + 7}.root").write_bytes(b"left by a kill")
    assert main([*SIM, "--events", "6", "--out", out]) == 0
    stats = json.loads((tmp_path / "sim" / "simulate_stats.json").read_text())
    assert stats["events"] == 6 and stats["chunks"] == 3
    assert sorted(p.name for p in (tmp_path / "sim").glob("*.root")) == [
        f"rho_seed1_000{i}.root" for i in range(3)
    ]


@pytest.fixture
def folder(tmp_path):
    src = write_handmade(tmp_path / "in.root", copies=4)
    out = tmp_path / "out"
    args = ["preprocess", "--no-progress", "--input", str(src), "--out", str(out),
            "--set", "events_per_chunk=20"]  # fmt: skip
    assert main(args) == 0
    return src, out, args


def test_replaced_input_is_refused_then_redone_with_overwrite(folder, capsys):
    src, out, args = folder
    capsys.readouterr()
    assert main(args) == 0
    assert "work units run 0," in capsys.readouterr().out  # all reused: inputs unchanged
    write_handmade(src, copies=4, id_offset=0, compression=1)  # same name, other bytes
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"jetpointnet preprocess: error: {src}: changed since chunk in_00000 was made from it "
        "(size, time or contents; or made by an older version); pass --overwrite to redo its "
        "chunks, or choose a new --out\n"
    )
    assert main([*args, "--overwrite"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["sources"][0]["sha256"] == file_sha256(src)

"""``jetpointnet simulate`` as a user runs it: files, reproducibility, resume, bad input."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from jetpointnet.cli import main
from jetpointnet.io.mltree_layout import CELL_GEO_BRANCHES, EVENT_BRANCHES, MISSING
from jetpointnet.io.mltree_writer import read_tree_arrays


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["simulate", "--quiet", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--preset", "rhoo", "--events", "2"], "unknown preset 'rhoo'; valid: rho, delta, gun"),
        (
            ["--preset", "gun", "--particle", "pion+", "--energy", "5", "--events", "2"],
            "unknown particle 'pion+'",
        ),
        (["--preset", "rho", "--events", "0"], "--events must be positive"),
        (
            ["--preset", "gun", "--particle", "pi+", "--energy", "-5", "--events", "2"],
            "--energy must be positive",
        ),
        (
            ["--preset", "gun", "--particle", "pi+", "--energy-range", "10", "1", "--events", "2"],
            "--energy-range",
        ),
        (["--preset", "gun", "--particle", "pi+", "--events", "2"], "exactly one of --energy"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, args, needle):
    code, _, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.rglob("*.root"))


def test_rntuple_files_hold_the_mltree_layout(capsys, tmp_path):
    code, out, _ = _run(capsys, "--preset", "rho", "--events", "6", "--events-per-file", "4",
                        "--seed", "3", "--format", "rntuple", "--out", str(tmp_path))  # fmt: skip
    assert code == 0 and "wrote 2 file(s)" in out
    files = sorted(tmp_path.glob("rho_seed3_*.root"))
    assert [f.name for f in files] == ["rho_seed3_0000.root", "rho_seed3_0001.root"]
    ev = read_tree_arrays(files[0], "EventTree")
    assert set(EVENT_BRANCHES) <= set(ev)
    assert len(ev["eventNumber"]) == 4
    assert ak.to_list(read_tree_arrays(files[1], "EventTree", ["eventNumber"])["eventNumber"]) == [
        5,
        6,
    ]
    geo = read_tree_arrays(files[0], "CellGeo")
    assert set(CELL_GEO_BRANCHES) <= set(geo)
    ids = ak.to_numpy(geo["cell_geo_ID"][0])
    # every written cell is a CellGeo cell; truth links point into the truth vectors
    cell_ids = ak.to_numpy(ak.flatten(ev["cluster_cell_ID"], axis=None))
    assert np.isin(cell_ids, ids).all()
    ntruth = ak.to_numpy(ev["nTruthPart"])
    tidx = ev["cluster_cell_hitsTruthIndex"]
    assert ak.all(ak.max(ak.flatten(tidx, axis=-1), axis=-1, mask_identity=False) < ntruth)
    # rho+- -> pi+- pi0: one charged pion, photons; one track when it passes the cuts
    assert ak.all(ev["nTrack"] <= 1)
    emb2 = ak.flatten(ev["trackEta_EMB2"])
    assert ak.all((emb2 == MISSING) | (abs(emb2) < 1.5))
    assert json.loads((tmp_path / "simulate.json").read_text())["config"]["preset"] == "rho"


def test_same_seed_same_contents_and_workers_do_not_matter(capsys, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = [
        "--preset",
        "delta",
        "--events",
        "6",
        "--events-per-file",
        "3",
        "--seed",
        "5",
        "--format",
        "rntuple",
    ]
    assert _run(capsys, *common, "--out", str(a))[0] == 0
    assert _run(capsys, *common, "--out", str(b), "--workers", "2")[0] == 0
    for name in ("delta_seed5_0000.root", "delta_seed5_0001.root"):
        ea = read_tree_arrays(a / name, "EventTree")
        eb = read_tree_arrays(b / name, "EventTree")
        for k in ea:
            assert ak.to_list(ea[k]) == ak.to_list(eb[k]), k


def test_existing_output_is_refused_then_resumed(capsys, tmp_path):
    common = ["--preset", "rho", "--events", "4", "--events-per-file", "2", "--seed", "1", "--format", "rntuple",
              "--out", str(tmp_path)]  # fmt: skip
    assert _run(capsys, *common)[0] == 0
    first = tmp_path / "rho_seed1_0000.root"
    second = tmp_path / "rho_seed1_0001.root"
    stamp = first.stat().st_mtime_ns
    # an interrupted run: the second file is missing; the same command resumes
    second.unlink()
    assert _run(capsys, *common)[0] == 0
    assert second.exists() and first.stat().st_mtime_ns == stamp
    # other settings into the same folder: refused, nothing touched
    code, _, err = _run(capsys, "--preset", "rho", "--events", "4", "--events-per-file", "2", "--seed", "1",
                        "--format", "rntuple", "--out", str(tmp_path), "--pileup", "1")  # fmt: skip
    assert code == 2 and "exists" in err and "--overwrite" in err
    assert first.stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*partial*"))


def test_ttree_file_is_a_genuine_mltree(simulated):
    files = simulated("rho", 8, 2)
    with uproot.open(files[0]) as f:
        tree = f["EventTree"]
        assert tree["cluster_cell_ID"].typename == "std::vector<std::vector<uint64_t>>"
        assert (
            tree["cluster_cell_hitsTruthE"].typename
            == "std::vector<std::vector<std::vector<float>>>"
        )
        assert tree["trackEta_EME2"].typename == "std::vector<float>"
        assert f["CellGeo"].num_entries == 1
        assert f["CellGeo"]["cell_geo_sampling"].typename == "std::vector<uint16_t>"


@pytest.mark.slow
def test_dijet_with_pileup_and_contributor_cap(simulated):
    files = simulated("dijet-jz2", 2, 4, pileup=2.0, max_contributors=3, format="rntuple")
    ev = read_tree_arrays(files[0], "EventTree")
    assert ak.all(ak.num(ev["trackPt"]) > 5)
    assert ak.max(ak.num(ev["cluster_cell_hitsTruthIndex"], axis=3)) <= 3
    assert ak.all(ev["averageInteractionsPerCrossing"] == 2.0)
    assert ak.all(ev["actualInteractionsPerCrossing"] >= 0)
    # the leading truth jet of a JZ2 event has 60 < pT < 160 GeV: at least one particle is hard
    assert ak.all(ak.max(ev["truthPartPt"], axis=1) > 5.0)

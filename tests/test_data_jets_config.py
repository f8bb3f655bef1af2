"""The jet-study data config (``configs/data/jets.yaml``), ``arrays.truncate`` and the
refusal of truth-derived network inputs (preprocess and train)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from mltree_handmade import write_handmade

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.data.arrays import build_arrays
from jetpointnet.data.config import PreprocessConfig, refuse_truth_features, truth_derived
from jetpointnet.data.preprocess import preprocess, validate_config
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, select_tracks
from jetpointnet.data.tracks import flat_tracks, flat_truth
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import read_events
from jetpointnet.io.prep_folder import load_arrays, read_metadata
from jetpointnet.io.sample_files import read_sample_columns, read_samples
from jetpointnet.training.dataset import feature_indices

ROOT = Path(__file__).parents[1]
JETS = ROOT / "configs" / "data" / "jets.yaml"


def test_jets_config_loads_with_no_cap_and_no_few_cell_drop() -> None:
    cfg = load_config(PreprocessConfig, JETS, [])
    validate_config(cfg)
    assert cfg.selection.min_pt == 0.5 and cfg.selection.max_abs_eta == 2.5
    assert cfg.selection.min_cells == 0 and cfg.arrays.min_cells == 0
    assert cfg.arrays.truncate is False and cfg.arrays.max_length is None
    with pytest.raises(UserError, match="max_length must be null"):
        validate_config(load_config(PreprocessConfig, JETS, ["arrays.max_length=64"]))


def _selected(files: list[Path], cfg: PreprocessConfig) -> int:
    n = 0
    for f in files:
        raw = read_events(f, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL,
                          entry_start=0, entry_stop=None)  # fmt: skip
        rows, _ = select_tracks(flat_tracks(raw, flat_truth(raw)), cfg.selection)
        n += len(rows)
    return n


def test_preprocess_with_the_jets_config_keeps_every_selected_track(
    simulated, tmp_path: Path
) -> None:
    files = simulated("dijet-jz2", 3, 3)
    cfg = load_config(PreprocessConfig, JETS, ["events_per_chunk=3"])
    out = tmp_path / "jets-data"
    preprocess([str(f) for f in files], out, config=cfg, progress=False)
    meta = read_metadata(out)
    arrays = [load_arrays(p) for p in sorted((out / "arrays").rglob("*.npz"))]
    n_samples = sum(len(a["n_points"]) for a in arrays)
    assert n_samples == _selected(files, cfg) > 100
    assert meta["drops"]["too_few_cells"] == 0 and meta["truncation"]["too_few_cells"] == 0
    assert meta["truncation"]["points_dropped"] == 0
    # the cases the demo config would cut are there: clouds over its 128 points, tracks
    # with fewer than its three cells in their cone
    lengths = np.concatenate([a["n_points"] for a in arrays])
    assert meta["length"] == lengths.max() > 128
    cells = np.concatenate([read_sample_columns(p, ["n_cells"])["n_cells"]
                            for p in (out / "samples").rglob("*.arrow")])  # fmt: skip
    assert (cells < 3).any()
    # a file with longer clouds than the training data's L (predict on new files) keeps them
    sample_file = next((out / "samples" / "train").glob("*.arrow"))
    samples = read_samples(sample_file)
    short = 5
    arr, stats = build_arrays(samples, config=cfg.arrays, length=short)
    assert stats["points_dropped"] == 0 and arr["n_points"].max() > short
    capped = dataclasses.replace(cfg.arrays, truncate=True)
    arr, stats = build_arrays(samples, config=capped, length=short)
    assert stats["points_dropped"] > 0 and arr["n_points"].max() == short


# -- truth-derived inputs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["cluster_EM_PROBABILITY", "cluster_ENG_CALIB_TOT", "cluster_ENG_CALIB_FRAC_EM",
     "trackFullCalHitCaloEnergy", "truth_focal_energy"],
)  # fmt: skip
def test_truth_derived_names_are_recognised(name: str) -> None:
    assert truth_derived(name)
    with pytest.raises(UserError, match=f"'{name}' is derived from truth"):
        refuse_truth_features(["x", name], where="arrays.features")


def test_ordinary_features_are_not_truth() -> None:
    cfg = PreprocessConfig()
    from jetpointnet.data.config import ALL_FEATURES

    assert not [f for f in ALL_FEATURES if truth_derived(f)]
    refuse_truth_features(cfg.arrays.features, where="arrays.features")
    assert not truth_derived("cluster_E") and not truth_derived("cluster_E_LCCalib")


def test_preprocess_refuses_a_truth_feature_before_any_work(tmp_path: Path, capsys) -> None:
    src = write_handmade(tmp_path / "hand.root")
    out = tmp_path / "out"
    rc = main(["preprocess", "--no-progress", "--input", str(src), "--out", str(out),
               "--set", "arrays.features=[x, y, cluster_EM_PROBABILITY]"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert (
        "'cluster_EM_PROBABILITY' is derived from truth" in err[0] and "arrays.features" in err[0]
    )
    assert not out.exists()


def test_train_refuses_data_that_carry_a_truth_feature(tmp_path: Path, capsys) -> None:
    src = write_handmade(tmp_path / "hand.root", copies=10)
    data = tmp_path / "data"
    preprocess([str(src)], data, config=PreprocessConfig(), progress=False)
    meta_path = data / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["features"][-1] = "cluster_ENG_CALIB_TOT"  # as if written by a tool that allowed it
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="'cluster_ENG_CALIB_TOT' is derived from truth"):
        feature_indices(meta, [], where="config")
    assert feature_indices(meta, ["x", "y"], where="config") == [0, 1]  # not fed: fine
    with pytest.raises(UserError, match=r"data\.features: feature 'cluster_ENG_CALIB_TOT'"):
        feature_indices(meta, ["x", "cluster_ENG_CALIB_TOT"], where="config")
    run = tmp_path / "run"
    rc = main(["train", "--data", str(data), "--out", str(run), "--quiet",
               "--set", "train.device=cpu", "--set", "train.epochs=1"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "derived from truth" in err[0]
    assert not (run / "last.pt").exists()

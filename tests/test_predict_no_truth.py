"""Preprocessing and ``predict`` on MLTree files without truth branches (real data).

A simulated file is re-written without its truth branches under the same name (so the
event splits agree); everything the model sees must be unchanged, only labels vanish.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from predict_helpers import DATA_CONFIG, make_run

from jetpointnet.cli import main
from jetpointnet.config import load_config
from jetpointnet.data.config import PreprocessConfig, SelectionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.preprocess import preprocess
from jetpointnet.data.samples import (
    EVENT_BRANCHES_OPTIONAL,
    EVENT_BRANCHES_REQUIRED,
    EVENT_BRANCHES_TRUTH,
    build_samples,
)
from jetpointnet.data.schema import IGNORE
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.mltree_writer import read_tree_arrays, write_mltree
from jetpointnet.io.prediction_files import read_predictions
from jetpointnet.io.prep_folder import load_arrays, read_metadata
from jetpointnet.predict.run import PredictConfig, predict_files

_TRUTH_FIELDS = {"truth_index", "truth_pdg", "truth_e", "truth_deposit"}
_CELL_TRUTH = {
    "truth_focal",
    "truth_total",
    "truth_neutral",
    "truth_charged_other",
    "truth_lead_index",
    "truth_lead_class",
    "n_truth",
}


def _is_truth(name: str) -> bool:
    return name in EVENT_BRANCHES_TRUTH or name.startswith(("truth", "nTruth"))


def _config(*overrides: str) -> PreprocessConfig:
    splits = ["split.train=0.6", "split.val=0.4", "split.test=0"]  # 20 events: val not empty
    return load_config(PreprocessConfig, DATA_CONFIG, ["events_per_chunk=20", *splits, *overrides])


@pytest.fixture(scope="module")
def files(simulated, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    truth = simulated("rho", 20, 3)[0]
    events = read_tree_arrays(truth, "EventTree")
    geometry = read_tree_arrays(truth, "CellGeo")
    stripped = {k: v for k, v in events.items() if not _is_truth(k)}
    assert len(stripped) < len(events) and "trackTruthParticleIndex" not in stripped
    out = tmp_path_factory.mktemp("notruth") / truth.name
    geo = {k: np.asarray(ak.flatten(v, axis=None)) for k, v in geometry.items()}
    write_mltree(out, stripped, geo)
    return {"truth": truth, "notruth": out, "tmp": out.parent}


def _events(path: Path) -> dict[str, ak.Array]:
    return read_events(
        path, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL, entry_start=0,
        entry_stop=20,
    )  # fmt: skip


def _samples(events: dict, path: Path, **selection) -> ak.Array:
    table = CellTable.from_geometry(read_geometry(path))
    sel = SelectionConfig(min_pt=1.0, **selection)
    return build_samples(events, table, selection=sel, source=str(path))[0]


def test_samples_without_truth(files) -> None:
    """Stage 1: same samples and inputs; truth fields hold the documented values."""
    with_t = _samples(_events(files["truth"]), files["truth"])
    without = _samples(_events(files["notruth"]), files["notruth"])
    assert len(without) == len(with_t) > 5
    for name in without.track.fields:
        a, b = ak.to_numpy(with_t.track[name]), ak.to_numpy(without.track[name])
        if name not in _TRUTH_FIELDS:
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert (ak.to_numpy(without.track.truth_index) == -1).all()
    assert (ak.to_numpy(without.track.truth_pdg) == 0).all()
    assert np.isnan(ak.to_numpy(without.track.truth_deposit)).all()
    assert np.isfinite(ak.to_numpy(with_t.track.truth_deposit)).all()
    assert (ak.to_numpy(ak.flatten(without.others.truth_index)) == -1).all()
    cells, cells_t = ak.flatten(without.cells), ak.flatten(with_t.cells)
    for name in cells.fields:
        a, b = ak.to_numpy(cells_t[name]), ak.to_numpy(cells[name])
        if name not in _CELL_TRUTH:
            np.testing.assert_array_equal(a, b, err_msg=name)
        elif b.dtype.kind == "f":
            assert np.isnan(b).all() and np.isfinite(a).all(), name
        else:
            assert (b == IGNORE).all() and (a != IGNORE).any(), name


def test_missing_track_link_gives_minus_one(files) -> None:
    """Only trackTruthParticleIndex missing: links -1, and the input counts as truth-less."""
    events = _events(files["truth"])
    del events["trackTruthParticleIndex"]
    s = _samples(events, files["truth"])
    assert len(s) > 5
    assert (ak.to_numpy(s.track.truth_index) == -1).all()
    assert np.isnan(ak.to_numpy(ak.flatten(s.cells.truth_focal))).all()


def test_require_truth_is_one_line(files, tmp_path: Path, capsys) -> None:
    path = files["notruth"]
    with pytest.raises(UserError) as err:
        _samples(_events(path), path, require_truth=True)
    msg = str(err.value)
    assert str(path) in msg and "require_truth" in msg and "\n" not in msg
    rc = main(["preprocess", "--no-progress", "--input", str(path), "--out",
               str(tmp_path / "d"), "--set", "selection.require_truth=true"])  # fmt: skip
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(lines) == 1 and path.name in lines[0], lines


@pytest.fixture(scope="module")
def data(files) -> dict[str, Path]:
    out = {}
    for key in ("truth", "notruth"):
        out[key] = files["tmp"] / f"data-{key}"
        preprocess([str(files[key])], out[key], config=_config(), progress=False)
    return out


def test_preprocess_masks_labels(data) -> None:
    meta_t, meta = read_metadata(data["truth"]), read_metadata(data["notruth"])
    assert meta_t["has_truth"] is True and meta["has_truth"] is False
    assert [s["has_truth"] for s in meta["sources"]] == [False]
    assert meta["counts"] == meta_t["counts"]
    n_files = 0
    for path in sorted((data["notruth"] / "arrays").rglob("*.npz")):
        a = load_arrays(path)
        t = load_arrays(data["truth"] / path.relative_to(data["notruth"]))
        n_files += 1
        for name in ("X", "point_type", "energy", "cell_id", "offsets", "entry", "track_index"):
            np.testing.assert_array_equal(a[name], t[name], err_msg=name)
        assert t["label_mask"].any() and not a["label_mask"].any()
        for name in ("y_energy", "y_fraction", "y_binary", "y_class", "y_total"):
            assert (a[name] == IGNORE).all(), name
        assert np.isnan(a["truth_focal_total"]).all()
        assert np.isfinite(t["truth_focal_total"]).all()
    assert n_files >= 1


def _keys(table: dict) -> list[tuple[int, int, int]]:
    cols = (table["entry"].tolist(), table["track_index"].tolist(), table["cell_id"].tolist())
    return list(zip(*cols, strict=True))


def test_predict_without_truth(files, data) -> None:
    """Every sample gets attributions; predictions equal those on the same file with truth.

    The run requires truth links for training; predict ignores that on truth-less input.
    """
    tmp = files["tmp"]
    train_data = tmp / "data-require"
    cfg = _config("selection.require_truth=true")
    preprocess([str(files["truth"])], train_data, config=cfg, progress=False)
    run = make_run(train_data, tmp / "run")
    preds = {}
    for key in ("truth", "notruth"):
        out = tmp / f"pred-{key}.parquet"
        res = predict_files(run, [str(files[key])], out, config=PredictConfig(), progress=False)
        preds[key] = (res, read_predictions(out))
    (res_t, t), (res, p) = preds["truth"], preds["notruth"]
    assert "truth_focal_energy" in t and "truth_focal_energy" not in p
    assert np.isfinite(t["truth_focal_energy"]).all()
    # every sample of the file (no truth selection) is predicted
    s = _samples(_events(files["notruth"]), files["notruth"], min_cells=3)
    expected = set(zip(ak.to_list(s.entry), ak.to_list(s.track_index), strict=True))
    got = set(zip(p["entry"].tolist(), p["track_index"].tolist(), strict=True))
    assert got == expected and res.samples == len(expected) >= res_t.samples > 5
    assert np.isfinite(p["pred_focal_energy"]).all()
    # the model never sees truth: same rows, same predictions
    key_t = _keys(t)
    key_p = _keys(p)
    row = {k: i for i, k in enumerate(key_p)}
    assert len(row) == len(key_p) and all(k in row for k in key_t)
    idx = np.array([row[k] for k in key_t])
    for name in ("cell_energy", "track_p", "event_number"):
        np.testing.assert_array_equal(p[name][idx], t[name], err_msg=name)
    np.testing.assert_allclose(p["pred_focal_energy"][idx], t["pred_focal_energy"], rtol=1e-5,
                               atol=1e-6)  # fmt: skip


def test_jets_without_truth_build_the_same_reco_jets(files) -> None:
    """``jets`` on real data: reco jets as with truth, no response (nothing to compare to)."""
    pytest.importorskip("fastjet", reason="jets extra not installed")
    from jetpointnet.jets.run import JetsConfig, run_jets

    out = {}
    for key in ("truth", "notruth"):
        cfg = JetsConfig(algorithms=["calo", "classical"], reco_min_pt=2.0, n_boot=5)
        res = run_jets([str(files[key])], files["tmp"] / f"jets-{key}", config=cfg,
                       progress=False)  # fmt: skip
        out[key] = (res.summary, ak.from_parquet(files["tmp"] / f"jets-{key}" / "jets.parquet"))
    (s_t, j_t), (s_n, j_n) = out["truth"], out["notruth"]
    assert s_n["truth"] is False and s_n["response"] == {} and s_t["truth"] is True
    reco = j_t[j_t.algorithm != "truth"]
    assert len(j_n) == len(reco) > 0
    np.testing.assert_allclose(np.asarray(j_n.pt), np.asarray(reco.pt), rtol=1e-12)
    page = (files["tmp"] / "jets-notruth" / "report.html").read_text()
    assert "response not measured" in page

"""Templates: binning, interpolation, fallbacks, JSON, profile fits, and response ~1 on
the algorithm's own templates (synthetic single pions; simulated pions in the slow test)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_helpers import make_dataset

from jetpointnet.errors import UserError
from jetpointnet.evaluation.inputs import load_stage1
from jetpointnet.evaluation.metrics import segment_sum, track_metrics
from jetpointnet.evaluation.pflow.adapter import measure_templates, pflow_on_stage1, run_pflow
from jetpointnet.evaluation.pflow.templates import (
    ENERGY_NODES,
    MIN_TRACKS,
    TemplateAccumulator,
    eflowrec_reference,
    fit_profile,
    gaussian_core,
    load_templates,
    save_templates,
)


def _acc(entries):
    acc = TemplateAccumulator()
    ring = np.zeros((11, acc.ring_sum.shape[2]))
    for p, eta, cat, eop in entries:
        acc.add(energy=p, abs_eta=eta, category=cat, eop=eop, ring_energy=ring)
    return acc


def test_binning_and_interpolation_in_log_energy():
    entries = [(1.0, 0.2, 1, 0.4)] * 10 + [(10.0, 0.2, 1, 0.7)] * 10
    t = _acc(entries).build(min_count=10)
    i1, i10 = ENERGY_NODES.index(1.0), ENERGY_NODES.index(10.0)
    assert t.count[i1, 0, 1] == 10 and t.count[i10, 0, 1] == 10
    assert t.expect(1.0, 0.2, "EM2")[0] == pytest.approx(0.4)
    mid = np.exp((np.log(1.0) + np.log(10.0)) / 2)
    assert t.expect(mid, 0.2, "EM2")[0] == pytest.approx(0.55)
    assert t.expect(100.0, 0.2, "EM2")[0] == pytest.approx(0.7)  # clamped
    # an empty LHED bin falls back to the pooled |eta| bin, an empty |eta| bin to the nearest
    assert t.expect(10.0, 0.2, "Tile")[0] == pytest.approx(0.7)
    assert t.expect(10.0, 2.2, "EM2")[0] == pytest.approx(0.7)


def test_reference_values_and_json_roundtrip(tmp_path):
    ref = eflowrec_reference()
    assert ref.expect(1.0, 0.1, "EM1") == pytest.approx((0.273, 0.273))
    assert ref.expect(40.0, 0.1, "Tile") == pytest.approx((0.837, 0.095))
    t = _acc([(3.5, 0.7, 0, 0.5)] * 12).build(min_count=10, source="unit")
    path = save_templates(t, tmp_path / "t.json")
    back = load_templates(path)
    assert back.expect(3.5, 0.7, "EM1") == pytest.approx(t.expect(3.5, 0.7, "EM1"))
    assert back.source == "unit"
    with pytest.raises(FileExistsError):
        save_templates(t, path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(UserError, match=r"bad\.json"):
        load_templates(bad)
    with pytest.raises(UserError, match="not found"):
        load_templates(tmp_path / "missing.json")


def test_gaussian_core_ignores_the_tails():
    rng = np.random.default_rng(3)
    core = rng.normal(0.7, 0.1, 4000)
    tail = rng.uniform(0.0, 0.4, 1200)  # a low tail, as E/p has (early showers, leakage)
    x = np.r_[core, tail]
    mean, sigma, fitted = gaussian_core(x)
    assert fitted
    assert mean == pytest.approx(0.7, abs=0.01) and sigma == pytest.approx(0.1, rel=0.08)
    assert x.mean() < 0.63 and x.std() > 0.15  # what mean and standard deviation would say
    few = gaussian_core(x[:20])
    assert few == (pytest.approx(x[:20].mean()), pytest.approx(x[:20].std()), False)


def test_fewer_than_min_tracks_warns_in_the_file(tmp_path):
    t = _acc([(3.5, 0.7, 0, 0.5)] * 12).build(min_count=10)
    assert str(MIN_TRACKS) in t.warning and "12 pion tracks" in t.warning
    assert "\n" not in t.warning
    back = load_templates(save_templates(t, tmp_path / "t.json"))
    assert back.warning == t.warning


def test_fit_profile_recovers_double_exponential():
    r = (np.arange(11) + 0.5) * 0.0175
    true = [50.0, 0.01, 5.0, 0.06]
    d = true[0] * np.exp(-r / true[1]) + true[2] * np.exp(-r / true[3])
    p = fit_profile(r, d)
    model = p[0] * np.exp(-r / p[1]) + p[2] * np.exp(-r / p[3])
    assert np.allclose(model, d, rtol=0.02)
    single = fit_profile(r[:3], 3.0 * np.exp(-r[:3] / 0.02))
    assert single[2] == 0.0 and single[1] == pytest.approx(0.02, rel=1e-3)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pflow-data"), n_events=40, seed=2)


def test_response_near_one_on_own_templates_synthetic(synthetic):
    stage1 = load_stage1(synthetic)
    tpl = measure_templates(stage1, min_count=3, progress=False)
    assert tpl.count.sum() > 10
    cell_pred, _info = pflow_on_stage1(stage1, tpl, progress=False)
    single = np.diff(stage1.other_offsets) == 0
    pred = segment_sum(cell_pred, stage1.cell_offsets)[single]
    true = segment_sum(stage1.cells["truth_focal"], stage1.cell_offsets)[single]
    assert track_metrics(pred, true)["response"] == pytest.approx(1.0, abs=0.1)
    e = stage1.cells["energy"]
    assert np.all(cell_pred <= np.maximum(e, 0) + 1e-6) and np.all(cell_pred >= 0)
    out = run_pflow(synthetic, tpl, progress=False)
    assert out["pred"].shape == (out["offsets"][-1],)
    assert int(out["n_unaligned"]) == 0


@pytest.mark.slow
def test_response_near_one_on_simulated_pions(simulated, tmp_path):
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.data.preprocess import preprocess
    from jetpointnet.evaluation.pflow.build import build_templates

    files = simulated("gun", 300, 7, particle="pi+", energy=10.0, eta_range=(-0.5, 0.5))
    preprocess(
        [str(f) for f in files], tmp_path / "data", config=PreprocessConfig(), progress=False
    )
    tpl = build_templates([tmp_path / "data"], min_count=10, progress=False)
    assert 0.3 < tpl.expect(10.0, 0.2, "Tile")[0] < 1.0
    for split in ("train", "val", "test"):
        if (tmp_path / "data" / "samples" / split).is_dir():
            stage1 = load_stage1(tmp_path / "data", split=split)
            cell_pred, info = pflow_on_stage1(stage1, tpl, progress=False)
            used = info["e_exp"] > 0
            sub = segment_sum(cell_pred, stage1.cell_offsets)[used]
            assert np.median(sub / info["e_exp"][used]) == pytest.approx(1.0, abs=0.15)
            assert np.all(cell_pred <= np.maximum(stage1.cells["energy"], 0) + 1e-6)
            break


def test_cli_warns_in_one_line_below_min_tracks(synthetic, tmp_path, capsys):
    from jetpointnet.cli import main

    out = tmp_path / "t.json"
    assert main(["pflow-templates", "--input", str(synthetic), "--out", str(out), "--no-plot",
                 "--min-count", "3", "--quiet"]) == 0  # fmt: skip
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("warning: templates from")
    assert json.loads(out.read_text())["warning"] == err[0].removeprefix("warning: ")

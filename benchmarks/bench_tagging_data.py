"""Figures of a ``preprocess --kind jet`` folder and the cut-based W/Z tagging baselines.

    python benchmarks/bench_tagging_data.py DIR [--json OUT.json]

Prints: jets per class and split, the cut flow (efficiency of each cut, cumulative),
the W/Z jet-mass distribution (reco trimmed and truth), the pT spectra of both classes
before and after the background reweighting, and the cut-based baselines at a signal
efficiency of 50 % on the test split (background efficiency with the jets' weights):

* mass window: the score -|m - c| with the centre c chosen on the training split; the
  width follows from eps_S = 50 % on the test split;
* mass + tau21 / mass + D2: a mass window chosen on the training split (5 GeV steps,
  keeping >= 55 % of the signal) and an upper cut on tau21 / D2, the pair with the lowest
  background efficiency at eps_S = 50 % on the training split; on the test split the
  window is kept and the cut is set to give eps_S = 50 %.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

TARGET = 0.5


def _load(folder: Path, split: str) -> dict[str, np.ndarray]:
    """Jets of ``split`` (several joined by '+', e.g. val+test)."""
    keys = ("y_cloud", "weight", "jet_pt", "jet_m", "truth_jet_m", "tau21", "d2")
    parts = [np.load(f) for s in split.split("+")
             for f in sorted((folder / "arrays" / s).glob("*.npz"))]  # fmt: skip
    return {k: np.concatenate([p[k] for p in parts]) for k in keys} if parts else {}


def _eff_b_at(score_s, score_b, w_b, target=TARGET) -> tuple[float, float]:
    """(eps_S, eps_B) of the cut score > t with t the signal quantile giving ``target``."""
    t = np.quantile(score_s, 1 - target)
    return float((score_s > t).mean()), float(w_b[score_b > t].sum() / w_b.sum())


def _window_cut(d_s, d_b, w_b, var_s, var_b, windows):
    """Best (lo, hi) on the training split for window + upper cut on ``var``."""
    best = (np.inf, None)
    for lo, hi in windows:
        in_s = (d_s["jet_m"] > lo) & (d_s["jet_m"] < hi)
        if in_s.mean() < TARGET + 0.05:
            continue
        in_b = (d_b["jet_m"] > lo) & (d_b["jet_m"] < hi)
        q = TARGET / in_s.mean()
        cut = np.quantile(var_s[in_s], q)
        eb = w_b[in_b & (var_b < cut)].sum() / w_b.sum()
        if eb < best[0]:
            best = (eb, (lo, hi))
    return best[1]


def baselines(train: dict, test: dict, bkg: int = 0) -> dict[str, dict[str, float]]:
    s_tr, b_tr = train["y_cloud"] != bkg, train["y_cloud"] == bkg
    s_te, b_te = test["y_cloud"] != bkg, test["y_cloud"] == bkg
    sub = lambda d, m: {k: v[m] for k, v in d.items()}
    tr_s, tr_b, te_s, te_b = sub(train, s_tr), sub(train, b_tr), sub(test, s_te), sub(test, b_te)
    out = {}
    centres = np.arange(60.0, 111.0, 1.0)
    best_c = min(centres, key=lambda c: _eff_b_at(-abs(tr_s["jet_m"] - c),
                                                  -abs(tr_b["jet_m"] - c), tr_b["weight"])[1])  # fmt: skip
    es, eb = _eff_b_at(-abs(te_s["jet_m"] - best_c), -abs(te_b["jet_m"] - best_c), te_b["weight"])
    t = np.quantile(-abs(te_s["jet_m"] - best_c), 1 - TARGET)
    out["mass window"] = {"centre": float(best_c), "half_width": float(-t), "eps_s": es,
                          "eps_b": eb, "b_passing": int((-abs(te_b["jet_m"] - best_c) > t).sum())}  # fmt: skip
    windows = [(lo, hi) for lo in np.arange(40.0, 90.0, 5.0) for hi in np.arange(80.0, 160.0, 5.0)
               if hi > lo + 10]  # fmt: skip
    for name in ("tau21", "d2"):
        ok_tr = np.isfinite(tr_s[name]), np.isfinite(tr_b[name])
        w = _window_cut(tr_s, tr_b, np.where(ok_tr[1], tr_b["weight"], 0.0),
                        np.nan_to_num(tr_s[name], nan=9.0), np.nan_to_num(tr_b[name], nan=9.0),
                        windows)  # fmt: skip
        lo, hi = w
        in_s = (te_s["jet_m"] > lo) & (te_s["jet_m"] < hi)
        in_b = (te_b["jet_m"] > lo) & (te_b["jet_m"] < hi)
        vs, vb = np.nan_to_num(te_s[name], nan=9.0), np.nan_to_num(te_b[name], nan=9.0)
        cut = np.quantile(vs[in_s], min(TARGET / max(in_s.mean(), 1e-9), 1.0))
        es = float((in_s & (vs < cut)).mean())
        eb = float(te_b["weight"][in_b & (vb < cut)].sum() / te_b["weight"].sum())
        out[f"mass + {name}"] = {"window": [float(lo), float(hi)], "cut": float(cut),
                                 "eps_s": es, "eps_b": eb,
                                 "b_passing": int((in_b & (vb < cut)).sum())}  # fmt: skip
    for v in out.values():
        v["rejection"] = 1.0 / v["eps_b"] if v["eps_b"] > 0 else None  # None: no bkg left
        v["n_signal"], v["n_background"] = int(s_te.sum()), int(b_te.sum())
    return out


def _hist(x, edges, w=None) -> list[float]:
    h, _ = np.histogram(x, edges, weights=w)
    return [round(float(v), 3) for v in h]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--eval-split", default="test",
                    help="split(s) of the baselines, e.g. val+test (default test)")  # fmt: skip
    a = ap.parse_args()
    meta = json.loads((a.folder / "metadata.json").read_text())
    report: dict = {"counts": meta["counts"], "cutflow": {}}
    for cls, flow in meta["cutflow"].items():
        n0 = max(flow["all"], 1)
        report["cutflow"][cls] = {k: (v, round(v / n0, 4)) for k, v in flow.items()}
    train = _load(a.folder, "train")
    sig = train["y_cloud"] == 1
    m_edges = np.arange(0.0, 205.0, 10.0)
    report["signal_mass_edges"] = m_edges.tolist()
    report["signal_jet_m"] = _hist(train["jet_m"][sig], m_edges)
    report["signal_truth_jet_m"] = _hist(train["truth_jet_m"][sig], m_edges)
    report["signal_jet_m_median"] = float(np.median(train["jet_m"][sig]))
    report["signal_truth_jet_m_median"] = float(np.median(train["truth_jet_m"][sig]))
    pt_edges = np.array(meta["pt_bins"], float)
    report["pt_edges"] = pt_edges.tolist()
    report["pt_signal"] = _hist(train["jet_pt"][sig], pt_edges)
    report["pt_background_raw"] = _hist(train["jet_pt"][~sig], pt_edges)
    report["pt_background_weighted"] = _hist(train["jet_pt"][~sig], pt_edges,
                                             train["weight"][~sig])  # fmt: skip
    test = _load(a.folder, a.eval_split)
    report["baselines"] = baselines(train, test)
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        a.json.write_text(text)


if __name__ == "__main__":
    main()

"""The demo's ``index.html``: the headline plots inline, the numbers with their uncertainties,
and links to every report.

- Jets: the jet-energy resolution q68 = (q84 - q16) / 2 / median against truth-jet pT for
  every algorithm of the jets summary (its names are read from it: ``calo``,
  ``classical``, one ``ml:RUN`` per network, and any other, such as the ``oracle``
  ceilings); errors are the jets stage's bootstrap standard deviations. A bin with fewer
  than ``min_jets`` matched jets gets no resolution: "too few jets".
- Cells: F1 and energy-weighted accuracy of every answer (network, classical algorithm,
  baselines) on each test split. Errors are binomial with the cells taken as independent:
  F1 = 2 TP / (2 TP + FP + FN) as a fraction of the TP + FP + FN cells, the weighted
  accuracy with Kish's effective number of cells (sum |E|)^2 / sum E^2. Cells of one event
  are correlated, so these are lower bounds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.pages import write_page

__all__ = ["DEFAULT_MIN_JETS", "cell_scores", "jet_resolution_rows", "write_index"]

DEFAULT_MIN_JETS = 20
_NAN = float("nan")


def _num(value: Any, missing: float = _NAN) -> float:
    """A number of a results record, as the stage returned it or as read back from its JSON
    file, where a non-finite value is ``null``: ``missing`` for ``None``."""
    return missing if value is None else float(value)


def _f1_error(confusion: list[list[int]]) -> float:
    """Binomial error of F1 = 2k / (n + k), k = TP ~ Binomial(n = TP + FP + FN)."""
    (_, fp), (fn, tp) = confusion
    n, k = tp + fp + fn, tp
    if n == 0:
        return _NAN
    return 2.0 * n / (n + k) ** 2 * math.sqrt(k * (n - k) / n)


def _binomial(p: float, n: float | None) -> float:
    if n is None or not n > 0 or not 0.0 <= p <= 1.0:
        return _NAN
    return math.sqrt(p * (1.0 - p) / n)


def cell_scores(metrics: dict[str, Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """``{answer: {"f1": (value, error), "energy_weighted_accuracy": (value, error)}}``
    from one ``metrics.json`` (multi-class answers: macro F1, without an error)."""
    out = {}
    for name, entry in metrics.get("models", {}).items():
        cell = entry.get("cell", {})
        f1 = cell.get("f1")
        conf = cell.get("confusion")
        if isinstance(f1, (int, float)) and conf is not None and len(conf) == 2:
            f1_pair = (float(f1), _f1_error(conf))
        else:
            f1_pair = (_num(cell.get("macro_f1")), _NAN)
        ewa = _num(cell.get("energy_weighted_accuracy"))
        out[name] = {
            "f1": f1_pair,
            "energy_weighted_accuracy": (ewa, _binomial(ewa, cell.get("energy_weighted_n_eff"))),
        }
    return out


def jet_resolution_rows(summary: dict[str, Any], *, min_jets: int = DEFAULT_MIN_JETS) -> list[dict]:
    """One row per algorithm and truth-pT bin: ``algorithm``, ``bin``, ``lo``, ``hi``,
    ``matched`` (jets), ``q68`` and ``q68_err`` (NaN where ``matched < min_jets``)."""
    rows = []
    for algo, table in summary.get("response", {}).items():
        for r in table:
            eff = _num(r.get("efficiency"))
            matched = round(eff * r["n_truth"]) if r["n_truth"] and math.isfinite(eff) else 0
            enough = matched >= min_jets
            rows.append({
                "algorithm": algo, "bin": r["bin"], "lo": _num(r["lo"], -math.inf),
                "hi": _num(r["hi"], math.inf), "matched": matched,
                "q68": _num(r["e"]["q68"]) if enough else _NAN,
                "q68_err": _num(r["e"]["q68_err"]) if enough else _NAN,
            })  # fmt: skip
    return rows


def _pm(v: float, err: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.3f} ± {err:.3f}" if math.isfinite(err) else f"{v:.3f}"


def _jets_section(summary: dict[str, Any], rows: list[dict], figs: Path, min_jets: int) -> dict:
    """The jets section: the resolution figure and table (empty without truth jets)."""
    from jetpointnet.plotting.headline import plot_jet_resolution
    from jetpointnet.plotting.style import save_figure

    if not rows:
        return {"rows": []}
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        y, e = curves.setdefault(r["algorithm"], ([], []))
        y.append(r["q68"])
        e.append(r["q68_err"])
    edges = sorted({r["lo"] for r in rows} | {r["hi"] for r in rows})
    extra = f"anti-$k_t$ R = {summary['config']['radius']:g}, bins with ≥ {min_jets} jets"
    fig = plot_jet_resolution(curves, edges, extra=extra)
    png = save_figure(fig, figs / "jet_resolution", pdf=False)[0]
    bins = list(dict.fromkeys(r["bin"] for r in rows))
    table = []
    for algo in curves:
        cells = {r["bin"]: r for r in rows if r["algorithm"] == algo}
        table.append([algo] + [
            f"{_pm(c['q68'], c['q68_err'])} (n = {c['matched']})" if math.isfinite(c["q68"])
            else f"too few jets (n = {c['matched']})" for c in (cells[b] for b in bins)
        ])  # fmt: skip
    header = ["constituents", *(f"{b} GeV" for b in bins)]
    return {"figure": png, "header": header, "rows": table, "min_jets": min_jets}


def _cells_section(metrics: dict[str, dict], figs: Path) -> dict:
    """The cells section: the scores figure and one table per test split."""
    from jetpointnet.plotting.headline import plot_cell_scores
    from jetpointnet.plotting.style import save_figure

    scores = {name: cell_scores(m) for name, m in metrics.items()}
    png = None
    if any(scores.values()):
        png = save_figure(plot_cell_scores(scores), figs / "cell_scores", pdf=False)[0]
    splits = {
        name: [[a, _pm(*s["f1"]), _pm(*s["energy_weighted_accuracy"])] for a, s in per.items()]
        for name, per in scores.items()
    }
    return {"figure": png, "splits": splits}


def _display_links(out: Path, metrics: dict[str, dict]) -> list[dict[str, str]]:
    """Links to the interactive event displays that the evaluations wrote."""
    return [
        {"href": page.relative_to(out).as_posix(), "name": name, "stem": page.stem}
        for name in metrics
        for page in sorted((out / "eval" / name / "displays").glob("*.html"))
    ]


def write_index(
    out: Path,
    sim_report: Path,
    metrics: dict[str, dict],
    jets: dict[str, Any],
    *,
    min_jets: int = DEFAULT_MIN_JETS,
    event: dict[str, Any] | None = None,
) -> Path:
    """Write ``out/index.html`` (figures in ``out/figures``) and ``out/summary.json``.

    ``event``: the event-level run's ``algorithm`` name in the jets tables and its
    evaluation ``metrics`` (:func:`jetpointnet.evaluation.event_eval.evaluate_event_run`).
    """
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    rows = jet_resolution_rows(jets, min_jets=min_jets)
    path = write_page(
        out / "index.html",
        "index.html.j2",
        title="jetpointnet demo",
        heading="jetpointnet demo",
        jets=_jets_section(jets, rows, figs, min_jets),
        cells=_cells_section(metrics, figs),
        displays=_display_links(out, metrics),
        sim_report=str(sim_report.relative_to(out)),
        event=_event_context(event),
    )
    summary: dict[str, Any] = {
        name: [[a, *(_pm(*s[k]) for k in ("f1", "energy_weighted_accuracy"))]
               for a, s in cell_scores(m).items()]
        for name, m in metrics.items()
    }  # fmt: skip
    summary["jets"] = [[r["algorithm"], r["bin"], r["matched"], _pm(r["q68"], r["q68_err"])]
                       for r in rows]  # fmt: skip
    if event is not None:
        m = event["metrics"]
        summary["event"] = {
            "cell_energy_correct": m["cell_accuracy"],
            "efficiency": {c: r["overall"] for c, r in m["efficiency"].items()},
            "fake_rate": {c: r["overall"] for c, r in m["fake_rate"].items()},
        }
    summary["min_jets"] = min_jets
    with atomic_output(out / "summary.json", overwrite=True) as tmp:
        tmp.write_text(strict_dumps(summary, indent=2, ensure_ascii=False))
    return path


def _event_context(event: dict[str, Any] | None) -> dict[str, str] | None:
    if event is None:
        return None
    acc = event["metrics"]["cell_accuracy"]
    return {"algorithm": event["algorithm"], "cell_text": "n/a" if acc is None else f"{acc:.3f}"}

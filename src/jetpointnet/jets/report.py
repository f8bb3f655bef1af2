"""The jets section: figures and ``report.html`` of ``jetpointnet jets``.

The page states the definitions (constituents, jet algorithm, matching, the two
resolution definitions), the response table per algorithm and truth-pT bin, what the
classical algorithm did with the tracks, the timing, and embeds the figures.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.evaluation.report import CSS, html_figure, html_table
from jetpointnet.io.atomic import atomic_output

__all__ = ["jets_section", "write_jets_report"]


def _extra(summary: dict[str, Any]) -> str:
    mu = summary.get("mean_mu")
    return f"anti-$k_t$ R = {summary['config']['radius']:g}" + (
        f", <mu> = {mu:.0f}" if mu else ", no pile-up"
    )


def write_jets_report(
    summary: dict[str, Any], matched: dict[str, np.ndarray], out: Path
) -> list[str]:
    """Draw the figures into ``out/figures`` and write ``out/report.html``; return the
    figure names (PNG, relative to ``out``)."""
    figures: list[str] = []
    if summary["response"]:
        from jetpointnet.plotting.jets import plot_jet_response, plot_response_distributions

        fig_dir = out / "figures"
        fig_dir.mkdir(parents=True, exist_ok=True)
        extra = _extra(summary).replace("<mu>", r"$\langle\mu\rangle$")
        for p in plot_jet_response(summary["response"], fig_dir / "jet_response", extra=extra):
            figures.append(str(p.relative_to(out)))
        for p in plot_response_distributions(matched, list(summary["response"]),
                                             summary["config"]["pt_bins"],
                                             fig_dir / "jet_response_distributions", extra=extra):  # fmt: skip
            figures.append(str(p.relative_to(out)))
    page = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>jetpointnet jets</title><style>{CSS}</style></head><body>",
        "<h1>jetpointnet: particle-flow jets</h1>",
        jets_section(summary, out, [f for f in figures if f.endswith(".png")]),
        "</body></html>",
    ]
    with atomic_output(out / "report.html", overwrite=True) as tmp:
        tmp.write_text("\n".join(page), encoding="utf-8")
    return figures


def jets_section(summary: dict[str, Any], out: Path, figures: list[str]) -> str:
    """The HTML of the jets section (tables and embedded figures)."""
    c = summary["config"]
    parts = [
        "<h2>Jet energy response and resolution</h2>",
        "<p class='note'>"
        + html.escape(
            f"{summary['events']} events from {len(summary['inputs'])} file(s); "
            f"{_extra(summary).replace('$', '').replace('_t', 't')}. Truth jets: stable "
            f"hard-scatter particles without neutrinos, pT > {c['min_pt']:g} GeV, |eta| < "
            f"{c['max_abs_eta']:g}. Reco jets (pT > {c['reco_min_pt']:g} GeV) matched one to "
            f"one, closest first, within Delta-R < {c['match_dr']:g}. calo: topo-clusters at "
            "EM scale (no hadronic calibration). classical / ml: charged tracks (pion mass) + "
            "neutral remnants of each topo-cluster after subtracting the tracks' reconciled "
            f"claims; charged-hadron subtraction of pile-up tracks: {c['chs']}. Ceilings "
            "(truth, no network): oracle = every track with pT > 0.5 GeV claims its "
            "particle's true deposit in every clustered cell; oracle-calibrated = the same, "
            "every neutral remnant replaced by its true deposited energy. Jets: "
            "FastJet (Cacciari, Salam, Soyez, EPJC 72 (2012) 1896). Resolution: "
            "q68 = (q84 - q16) / 2 / median, iqr = (q75 - q25) / median of the response; "
            "errors are bootstrap standard deviations."
        )
        + "</p>",
    ]
    header = ["algorithm", "truth pT [GeV]", "truth jets", "matched", "E median", "E q68",
              "E iqr", "pT median", "pT q68", "pT iqr"]  # fmt: skip
    rows = []
    for algo, table in summary["response"].items():
        for r in table:
            e, p = r["e"], r["pt"]
            rows.append([algo, r["bin"], r["n_truth"], r["efficiency"],
                         _pm(e["median"], e["median_err"]), _pm(e["q68"], e["q68_err"]),
                         _pm(e["iqr"], e["iqr_err"]), _pm(p["median"], p["median_err"]),
                         _pm(p["q68"], p["q68_err"]), _pm(p["iqr"], p["iqr_err"])])  # fmt: skip
    if rows:
        parts.append(html_table(header, rows, cls="jets"))
    else:
        parts.append("<p>No truth jets (inputs without truth): response not measured.</p>")
    st = summary.get("classical_status", {})
    if sum(st.values()):
        parts.append("<h3>What the classical algorithm did with the tracks</h3>")
        parts.append(html_table(["status", "tracks"], [[k, v] for k, v in st.items()],
                                cls="status"))  # fmt: skip
    info = [["tracks per event", summary["tracks_per_event"]],
            ["pile-up tracks per event (CHS)", summary["pileup_tracks_per_event"]]]  # fmt: skip
    if summary.get("oracle_tracks_per_event"):
        info.append(["ceilings: claiming tracks per event", summary["oracle_tracks_per_event"]])
    info += [[f"{k} objects per event", v] for k, v in summary["objects_per_event"].items()]
    info += [[f"{k}: ms per event", v] for k, v in summary["ms_per_event"].items()]
    parts.append("<h3>Counts and timing</h3>" + html_table(["item", "value"], info, cls="run"))
    for name in figures:
        parts.append(html_figure(out / name, Path(name).stem.replace("_", " ")))
    return "\n".join(parts)


def _pm(v: float, err: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.3f} ± {err:.3f}" if np.isfinite(err) else f"{v:.3f}"

"""The jets section: figures and ``report.html`` of ``jetpointnet jets``.

The page states the definitions (constituents, jet algorithm, matching, the two
resolution definitions), the response table per algorithm and truth-pT bin, what the
classical algorithm did with the tracks, the timing, and embeds the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.pages import write_page

__all__ = ["jets_context", "write_jets_report"]


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
        from jetpointnet.plotting.style import save_figure

        fig_dir = out / "figures"
        fig_dir.mkdir(parents=True, exist_ok=True)
        extra = _extra(summary).replace("<mu>", r"$\langle\mu\rangle$")
        drawn = {
            "jet_response": plot_jet_response(summary["response"], extra=extra),
            "jet_response_distributions": plot_response_distributions(
                matched, list(summary["response"]), summary["config"]["pt_bins"], extra=extra
            ),
        }
        for name, fig in drawn.items():
            figures += [str(p.relative_to(out)) for p in save_figure(fig, fig_dir / name)]
    pngs = [f for f in figures if f.endswith(".png")]
    write_page(out / "report.html", "jets.html.j2", **jets_context(summary, out, pngs))
    return figures


def _definitions(summary: dict[str, Any]) -> str:
    """What the jets, the matching, the algorithms and the resolutions are (one paragraph)."""
    c = summary["config"]
    return (
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


def jets_context(summary: dict[str, Any], out: Path, figures: list[str]) -> dict[str, Any]:
    """What ``jets.html.j2`` shows: definitions, response rows per algorithm and truth-pT
    bin, the classical algorithm's track outcomes, counts and timing, the figures."""
    rows = []
    for algo, table in summary["response"].items():
        for r in table:
            e, p = r["e"], r["pt"]
            rows.append([algo, r["bin"], r["n_truth"], r["efficiency"],
                         _pm(e["median"], e["median_err"]), _pm(e["q68"], e["q68_err"]),
                         _pm(e["iqr"], e["iqr_err"]), _pm(p["median"], p["median_err"]),
                         _pm(p["q68"], p["q68_err"]), _pm(p["iqr"], p["iqr_err"])])  # fmt: skip
    st = summary.get("classical_status", {})
    info = [["tracks per event", summary["tracks_per_event"]],
            ["pile-up tracks per event (CHS)", summary["pileup_tracks_per_event"]]]  # fmt: skip
    if summary.get("oracle_tracks_per_event"):
        info.append(["ceilings: claiming tracks per event", summary["oracle_tracks_per_event"]])
    info += [[f"{k} objects per event", v] for k, v in summary["objects_per_event"].items()]
    info += [[f"{k}: ms per event", v] for k, v in summary["ms_per_event"].items()]
    return {
        "title": "jetpointnet jets",
        "heading": "jetpointnet: particle-flow jets",
        "definitions": _definitions(summary),
        "response_rows": rows,
        "status_rows": [[k, v] for k, v in st.items()] if sum(st.values()) else [],
        "info_rows": info,
        "figures": [(out / name, Path(name).stem.replace("_", " ")) for name in figures],
    }


def _pm(v: float, err: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.3f} ± {err:.3f}" if np.isfinite(err) else f"{v:.3f}"

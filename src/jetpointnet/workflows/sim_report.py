"""The simulation validation report: single-particle samples, their ATLAS figures, an event.

:func:`simulation_report` simulates photon and charged-pion guns at a few energies in the
central barrel and one JZ2 dijet sample, reads the files back like any MLTree file, and
writes ``report.html`` with PNG figures: cell energy maps of an event, the photon energy
resolution against the ATLAS design curve, and pion E/p against the eflowRec templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.mltree_layout import CELL_GEO_TREE, EVENT_TREE, SAMPLING_NAME
from jetpointnet.io.mltree_writer import read_tree_arrays
from jetpointnet.pages import write_page
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.simulate.validation import (
    em_design_resolution,
    fit_resolution,
    photon_response,
    pion_e_over_p,
)

__all__ = ["SimReportConfig", "simulation_report"]

_VALIDATION_BRANCHES = [
    "truthPartE", "truthPartEta", "truthPartPhi", "trackP",
    "trackEta_EMB2", "trackPhi_EMB2", "trackEta_EME2", "trackPhi_EME2",
    "cluster_E", "cluster_Eta", "cluster_Phi",
]  # fmt: skip


@dataclass
class SimReportConfig:
    events: int = 200  # per single-particle energy point
    dijet_events: int = 5
    seed: int = 1
    workers: int = 1
    photon_energies: tuple[float, ...] = (5.0, 10.0, 20.0, 50.0, 100.0)
    pion_energies: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0)


def _read(files: list[Path], branches: list[str]) -> dict[str, ak.Array]:
    parts = [read_tree_arrays(f, EVENT_TREE, branches) for f in files]
    return {b: ak.concatenate([p[b] for p in parts]) for b in branches}


def _gun(
    out: Path, cfg: SimReportConfig, particle: str, energy: float, progress: bool
) -> list[Path]:
    sc = SimulateConfig(preset="gun", particle=particle, energy=energy, eta_range=(-0.5, 0.5),
                        events=cfg.events, seed=cfg.seed, out=out / f"{particle}-{energy:g}GeV",
                        workers=cfg.workers, events_per_file=cfg.events)  # fmt: skip
    return simulate(sc, progress=progress)


def _event_map(files: list[Path]) -> tuple[dict, dict, str]:
    ev = read_tree_arrays(files[0], EVENT_TREE, ["cluster_cell_ID", "cluster_cell_E", "trackEta_EMB2",
                                                "trackPhi_EMB2", "trackEta_EME2", "trackPhi_EME2", "eventNumber"])  # fmt: skip
    geo = read_tree_arrays(
        files[0],
        CELL_GEO_TREE,
        ["cell_geo_ID", "cell_geo_eta", "cell_geo_phi", "cell_geo_sampling"],
    )
    gid = ak.to_numpy(geo["cell_geo_ID"][0])
    order = np.argsort(gid)
    ids = ak.to_numpy(ak.flatten(ev["cluster_cell_ID"][0]))
    e = ak.to_numpy(ak.flatten(ev["cluster_cell_E"][0]))
    row = order[np.searchsorted(gid[order], ids)]
    cells = {
        "eta": ak.to_numpy(geo["cell_geo_eta"][0])[row],
        "phi": ak.to_numpy(geo["cell_geo_phi"][0])[row],
        "sampling": ak.to_numpy(geo["cell_geo_sampling"][0])[row],
        "E": e,
    }
    te = ak.to_numpy(ev["trackEta_EMB2"][0])
    tp = ak.to_numpy(ev["trackPhi_EMB2"][0])
    ec = te < -1e5
    tracks = {
        "eta": np.where(ec, ak.to_numpy(ev["trackEta_EME2"][0]), te),
        "phi": np.where(ec, ak.to_numpy(ev["trackPhi_EME2"][0]), tp),
    }
    return cells, tracks, f"event {int(ev['eventNumber'][0])}"


def simulation_report(
    out: Path, cfg: SimReportConfig | None = None, *, progress: bool = True
) -> Path:
    """Simulate the validation samples into ``out/samples`` and write ``out/report.html``."""
    from jetpointnet.plotting.simulation import (
        plot_event_map,
        plot_photon_resolution,
        plot_pion_eop,
    )
    from jetpointnet.plotting.style import save_figure

    cfg = cfg or SimReportConfig()
    out = Path(out)
    samples = out / "samples"
    photons = []
    for energy in cfg.photon_energies:
        files = _gun(samples, cfg, "gamma", energy, progress)
        photons.append(photon_response(_read(files, _VALIDATION_BRANCHES)))
    pions = []
    for energy in cfg.pion_energies:
        files = _gun(samples, cfg, "pi+", energy, progress)
        pions.append(pion_e_over_p(_read(files, _VALIDATION_BRANCHES)))
    fit = fit_resolution(
        np.array([p["energy"] for p in photons]),
        np.array([p["resolution"] for p in photons]),
        np.array([p["error"] for p in photons]),
    )
    dijet = simulate(
        SimulateConfig(
            preset="dijet-jz2",
            events=cfg.dijet_events,
            seed=cfg.seed,
            out=samples / "dijet-jz2",
            workers=1,
            events_per_file=cfg.dijet_events,
        ),
        progress=progress,
    )
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    cells, tracks, title = _event_map(dijet)
    drawn = [
        ("A JZ2 dijet event: clustered cells (EM scale) and tracks at the second EM layer",
         "event_map", plot_event_map(cells, tracks, SAMPLING_NAME, title=f"JZ2 {title}")),
        ("Single photons, |eta| < 0.5: energy resolution and response of the clusters within Delta-R 0.2",
         "photon_resolution", plot_photon_resolution(photons, fit)),
        ("Single charged pions, |eta| < 0.5: <E/p> against the ATLAS eflowRec templates",
         "pion_eop", plot_pion_eop(pions)),
    ]  # fmt: skip
    images = [(cap, save_figure(fig, figs / name, pdf=False)[0]) for cap, name, fig in drawn]
    summary = {
        "photon_points": photons,
        "photon_fit": {
            "stochastic": fit.stochastic,
            "noise_GeV": fit.noise,
            "constant": fit.constant,
        },
        "photon_resolution_without_noise_vs_design": {
            f"{e:g} GeV": [float(fit(e, with_noise=False)), float(em_design_resolution(e))]
            for e in (10.0, 50.0, 100.0)
        },
        "pion_points": pions,
    }
    with atomic_output(out / "validation.json", overwrite=True) as tmp:
        tmp.write_text(strict_dumps(summary, indent=2))
    return _write_html(out, images, summary)


def _write_html(out: Path, images: list[tuple[str, Path]], s: dict) -> Path:
    """Write ``out/report.html``: the photon and pion tables of ``s`` and the figures."""
    photon_rows = [
        [f"{p['energy']:g}", f"{p['response']:.3f}", f"{p['resolution']:.4f} ± {p['error']:.4f}",
         f"{float(em_design_resolution(p['energy'])):.4f}"]
        for p in s["photon_points"]
    ]  # fmt: skip
    pion_rows = [
        [f"{p['p']:.1f}", f"{p['mean']:.3f} ± {p['error']:.3f}", f"{p['resolution_nonzero']:.3f}",
         f"{p['no_cluster_fraction']:.2f}", f"{np.hypot(0.5 / np.sqrt(p['p']), 0.03):.3f}"]
        for p in s["pion_points"]
    ]  # fmt: skip
    return write_page(
        out / "report.html",
        "simulation.html.j2",
        title="jetpointnet: simulation validation",
        heading="jetpointnet simulation: validation against ATLAS figures",
        fit=s["photon_fit"],
        photon_rows=photon_rows,
        pion_rows=pion_rows,
        images=[(cap, str(path.relative_to(out))) for cap, path in images],
    )

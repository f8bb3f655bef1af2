"""Physics validation of simulated MLTree events against the ATLAS figures they reproduce.

All functions take the EventTree branches of single-particle samples as awkward arrays
(as read from the files) and return plain numbers, so that the same code checks our files
in the tests, fills the validation report and can be pointed at any MLTree file.

- :func:`cluster_cone_energy`: per event, the summed energy (EM scale, GeV) of the
  topo-clusters whose barycentre lies within Delta-R of a direction.
- :func:`photon_response`: response and resolution of single photons.
- :func:`fit_resolution`: sigma/E = a/sqrt(E) (+) b/E (+) c, the ATLAS form with the
  stochastic (a), noise (b, GeV) and constant (c) terms.
- :func:`pion_e_over_p`: <E/p> of single charged pions, the quantity the eflowRec templates
  of PFLOW.md tabulate (cluster energy within Delta-R 0.2 of the track at EMB2 over p).
- :func:`clusters_for_fraction`: per event, how many clusters (largest first) hold a given
  fraction of one truth particle's clustered true energy (how split hadron showers are).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

__all__ = [
    "ATLAS_EM_DESIGN",
    "ATLAS_PION_EOP",
    "EFLOWREC_EOP",
    "EFLOWREC_EOP_25GEV",
    "EFLOWREC_TAIL_SLOPES",
    "ResolutionFit",
    "cluster_cone_energy",
    "clusters_for_fraction",
    "em_design_resolution",
    "fit_resolution",
    "photon_response",
    "pion_e_over_p",
    "robust_resolution",
]

#: ATLAS EM barrel design resolution: 10 %/sqrt(E) (+) 0.7 % (CALO.md "Resolution targets").
ATLAS_EM_DESIGN = (0.10, 0.007)

#: eflowRec <E/p> templates at |eta| < 0.5, EM scale (PFLOW.md, eflowCellEOverPTool mc20):
#: energy (GeV) -> {LHED: (mean, sigma)}.
EFLOWREC_EOP: dict[float, dict[str, tuple[float, float]]] = {
    1.0: {
        "EMB1": (0.273, 0.273),
        "EMB2": (0.469, 0.237),
        "EMB3": (0.523, 0.287),
        "Tile": (0.549, 0.225),
    },
    40.0: {"EMB3": (0.686, 0.127), "Tile": (0.837, 0.095)},
}


#: eflowRec mc20 templates at 25 GeV, |eta| < 0.5 (eflowCellEOverPTool_Run2_mc20_JetETMiss,
#: bin E020): LHED category -> (<E/p>, sigma(E/p)); sigma/mean 0.18-0.28.
EFLOWREC_EOP_25GEV: dict[str, tuple[float, float]] = {
    "EM1": (0.614, 0.157),
    "EM2": (0.648, 0.131),
    "EM3": (0.659, 0.186),
    "Tile": (0.773, 0.137),
}

#: Range of the fitted ring-profile tail slopes (the longer exponential width, in eta-phi)
#: of eflowRec's mc20 templates, per layer group (issue 12's survey of the fits).
EFLOWREC_TAIL_SLOPES: dict[str, tuple[float, float]] = {"EM2": (0.057, 0.16), "Tile": (0.037, 0.11)}

#: ATLAS isolated-track <E_cluster/p> at EM scale (CALO.md "Showers": ~0.5 at 1-2 GeV, ~0.6
#: at 5 GeV, ~0.7 at 20-30 GeV, 0.75-0.85 at 50-350 GeV; 10 GeV interpolated in ln E).
ATLAS_PION_EOP: dict[float, float] = {2.0: 0.50, 5.0: 0.60, 10.0: 0.65, 20.0: 0.70, 50.0: 0.80}


def em_design_resolution(energy: np.ndarray | float) -> np.ndarray:
    """sigma/E of the ATLAS EM design, stochastic and constant terms in quadrature."""
    a, c = ATLAS_EM_DESIGN
    e = np.asarray(energy, dtype=float)
    return np.hypot(a / np.sqrt(e), c)


def _dphi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def cluster_cone_energy(
    events: dict[str, ak.Array], eta: np.ndarray, phi: np.ndarray, *, dr: float = 0.2
) -> np.ndarray:
    """Sum of ``cluster_E`` over clusters within ``dr`` of (eta, phi), one value per event."""
    ce, cph, cen = events["cluster_Eta"], events["cluster_Phi"], events["cluster_E"]
    d = np.hypot(ce - eta, _dphi(cph, phi))
    return ak.to_numpy(ak.sum(ak.where(d < dr, cen, 0.0), axis=1)).astype(float)


def robust_resolution(x: np.ndarray) -> tuple[float, float, float]:
    """(median, half the 16-84 % interquantile range over the median, its statistical error)."""
    x = np.asarray(x, dtype=float)
    q16, q50, q84 = np.percentile(x, [16, 50, 84])
    res = 0.5 * (q84 - q16) / q50 if q50 != 0 else float("nan")
    return float(q50), float(res), float(res / np.sqrt(2.0 * max(x.size, 1)))


def photon_response(events: dict[str, ak.Array], *, dr: float = 0.2) -> dict[str, float]:
    """Response and resolution of a single-photon sample (first truth particle = the photon).

    Photons that converted into e+e- still count: the sum runs over clusters, not particles.
    """
    eta = ak.to_numpy(events["truthPartEta"][:, 0])
    phi = ak.to_numpy(events["truthPartPhi"][:, 0])
    true_e = ak.to_numpy(ak.sum(events["truthPartE"], axis=1))
    e = cluster_cone_energy(events, eta, phi, dr=dr)
    med, res, err = robust_resolution(e / true_e)
    return {
        "energy": float(np.median(true_e)),
        "response": med,
        "resolution": res,
        "error": err,
        "n": int(e.size),
    }


@dataclass(frozen=True)
class ResolutionFit:
    stochastic: float  # a, fraction * sqrt(GeV)
    noise: float  # b, GeV
    constant: float  # c, fraction

    def __call__(self, energy: np.ndarray | float, *, with_noise: bool = True) -> np.ndarray:
        e = np.asarray(energy, dtype=float)
        b = self.noise if with_noise else 0.0
        return np.sqrt(self.stochastic**2 / e + (b / e) ** 2 + self.constant**2)


def fit_resolution(energy: np.ndarray, resolution: np.ndarray, error: np.ndarray) -> ResolutionFit:
    """Least-squares fit of sigma/E = a/sqrt(E) (+) b/E (+) c (all terms >= 0)."""
    from scipy.optimize import least_squares

    e = np.asarray(energy, float)
    r = np.asarray(resolution, float)
    w = 1.0 / np.maximum(np.asarray(error, float), 1e-4)

    def resid(p):
        return (np.sqrt(p[0] ** 2 / e + (p[1] / e) ** 2 + p[2] ** 2) - r) * w

    fit = least_squares(resid, x0=[0.1, 0.2, 0.01], bounds=([0, 0, 0], [1.0, 5.0, 0.2]))
    a, b, c = fit.x
    return ResolutionFit(float(a), float(b), float(c))


def pion_e_over_p(events: dict[str, ak.Array], *, dr: float = 0.2) -> dict[str, float]:
    """<E/p> of charged-pion tracks: cluster energy within ``dr`` of the track at EMB2 (or
    EME2) over the track momentum. Events without a track are skipped; events with no
    cluster in the cone count as E/p = 0 (ATLAS: 20-30 % at 1-2 GeV)."""
    has = ak.num(events["trackP"]) > 0
    ev = {k: events[k][has] for k in ("cluster_Eta", "cluster_Phi", "cluster_E")}
    eta = ak.to_numpy(events["trackEta_EMB2"][has][:, 0]).astype(float)
    phi = ak.to_numpy(events["trackPhi_EMB2"][has][:, 0]).astype(float)
    eta2 = ak.to_numpy(events["trackEta_EME2"][has][:, 0]).astype(float)
    phi2 = ak.to_numpy(events["trackPhi_EME2"][has][:, 0]).astype(float)
    use_ec = eta < -1e5
    eta = np.where(use_ec, eta2, eta)
    phi = np.where(use_ec, phi2, phi)
    ok = eta > -1e5
    p = ak.to_numpy(events["trackP"][has][:, 0]).astype(float)
    e = cluster_cone_energy({k: v[ok] for k, v in ev.items()}, eta[ok], phi[ok], dr=dr)
    eop = e / p[ok]
    nonzero = eop[eop > 0]
    med, res, _ = robust_resolution(nonzero) if nonzero.size else (0.0, float("nan"), 0.0)
    return {
        "p": float(np.median(p[ok])),
        "mean": float(eop.mean()),
        "error": float(eop.std() / np.sqrt(max(eop.size, 1))),
        "median_nonzero": med,
        "resolution_nonzero": res,
        "no_cluster_fraction": float(np.mean(eop <= 0)),
        "n": int(eop.size),
    }


def _particle_truth_per_cluster(events: dict[str, ak.Array], particle: int) -> ak.Array:
    """Per event and cluster, the true energy of truth particle ``particle`` in its cells.

    A cell shared by two split clusters lists its whole truth in both; it counts in each
    with the cluster's share of the cell (``cluster_cell_E`` over the cell's summed shares).
    """
    ids = events["cluster_cell_ID"]
    n_cl = ak.to_numpy(ak.num(ids, axis=1))
    n_cells = ak.to_numpy(ak.flatten(ak.num(ids, axis=2)))
    flat_id = ak.to_numpy(ak.flatten(ids, axis=None)).astype(np.int64)
    flat_e = ak.to_numpy(ak.flatten(events["cluster_cell_E"], axis=None)).astype(float)
    cells_per_event = ak.to_numpy(ak.sum(ak.num(ids, axis=2), axis=1))
    ev = np.repeat(np.arange(n_cl.size), cells_per_event)
    _, key = np.unique(np.stack([ev, flat_id]), axis=1, return_inverse=True)
    key = key.ravel()
    total = np.bincount(key, weights=flat_e)[key]
    shared = np.bincount(key)[key] > 1
    ok = shared & (np.abs(total) > 1e-9)
    share = np.where(ok, flat_e / np.where(ok, total, 1.0), 1.0)
    hits = ak.where(
        events["cluster_cell_hitsTruthIndex"] == particle, events["cluster_cell_hitsTruthE"], 0.0
    )
    per_cell = ak.to_numpy(ak.flatten(ak.sum(hits, axis=3), axis=None)).astype(float) * share
    cluster = np.repeat(np.arange(n_cells.size), n_cells)
    per_cluster = np.bincount(cluster, weights=per_cell, minlength=n_cells.size)
    return ak.unflatten(per_cluster, n_cl)


def clusters_for_fraction(
    events: dict[str, ak.Array], *, fraction: float = 0.9, particle: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(clusters needed, leading cluster's share) per event with clustered truth energy.

    Clusters are ranked by the true energy of truth particle ``particle`` they hold; the
    first number is how many of them it takes to reach ``fraction`` of that particle's
    clustered true energy, the second the leading cluster's share of it.
    """
    per = ak.sort(_particle_truth_per_cluster(events, particle), axis=1, ascending=False)
    tot = ak.to_numpy(ak.sum(per, axis=1))
    keep = tot > 0
    per, tot = per[keep], tot[keep]
    counts = ak.to_numpy(ak.num(per, axis=1))
    flat = ak.to_numpy(ak.flatten(per))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    csum = np.cumsum(flat)
    before = np.repeat(csum[first] - flat[first], counts)
    frac = (csum - before) / np.repeat(tot, counts)
    short = np.bincount(np.repeat(np.arange(counts.size), counts), weights=frac < fraction - 1e-12,
                        minlength=counts.size)  # fmt: skip
    return short.astype(np.int64) + 1, flat[first] / tot

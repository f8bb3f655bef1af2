"""Small synthetic preprocessed ``jet`` folders in the format of /work/contracts/jet.md.

Two classes with a real, learnable difference in the constituent pattern:

- ``qcd`` (class 0): mostly one prong, constituents spread around the jet axis with a
  width of 0.07 in (eta, phi) (times an exponential), pT fractions from a falling
  spectrum; 35 % hard splittings: two wider prongs (0.05) with an asymmetric share
  z in [0.08, 0.5] at a separation set by a mass drawn flat in [40, 160] GeV;
- ``wz`` (class 1): two prongs with pT shares z and 1 - z (z in [0.25, 0.75]) at an angular
  separation of m / (pT sqrt(z (1 - z))) for a boson mass m ~ N(85, 8) GeV, each prong
  narrow (0.03).

Jet pT is drawn in [250, 900] GeV for both classes, so the mass, tau21 and D2 of the
constituents separate the classes (the cut-based baseline works) and so do the
constituents (the networks can learn). The observers ``jet_m``, ``tau21`` and ``d2``
are computed from the constituents (tau_N with the N hardest constituents as axes,
D2 = e3 / e2^3 with beta = 1); links are made-up but unique per jet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from jetpointnet.io.sample_files import write_json, write_npz

__all__ = ["CLASSES", "FEATURES", "make_jets", "write_chunks", "write_jet_folder"]

FEATURES = ["d_eta", "d_phi", "log_pt", "log_e", "log_pt_rel", "log_e_rel", "dr", "is_charged"]
CLASSES = ["qcd", "wz"]


def _constituents(rng: np.random.Generator, label: int, pt: float) -> np.ndarray:
    """(n, 3) constituent (pT GeV, d_eta, d_phi) of one jet."""
    n = int(rng.integers(12, 40))
    two_prong = label == 1 or rng.random() < 0.35  # QCD: some hard splittings
    if not two_prong:
        frac = rng.pareto(1.5, n) + 1.0
        frac /= frac.sum()
        pos = rng.normal(0.0, 0.07, (n, 2)) * rng.exponential(1.0, (n, 1))
        return np.column_stack([frac * pt, pos])
    if label == 1:
        z, m, width = rng.uniform(0.25, 0.75), max(rng.normal(85.0, 8.0), 50.0), 0.03
    else:
        z, m, width = rng.uniform(0.08, 0.5), rng.uniform(40.0, 160.0), 0.05
    sep = min(m / (pt * np.sqrt(z * (1 - z))), 0.8)
    axis = rng.uniform(0, 2 * np.pi)
    unit = np.array([np.cos(axis), np.sin(axis)])
    centres = np.array([unit * (1 - z), -unit * z]) * sep  # pT-weighted centroid on the axis
    prong = (rng.random(n) > z).astype(int)
    prong[:2] = [0, 1]  # neither prong empty
    frac = rng.exponential(1.0, n) + 0.05
    for p, share in ((0, z), (1, 1 - z)):
        frac[prong == p] *= share / frac[prong == p].sum()
    pos = centres[prong] + rng.normal(0.0, width, (n, 2))
    return np.column_stack([frac * pt, pos])


def _tau(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, n_axes: int) -> float:
    axes = np.argsort(-pt)[:n_axes]
    dr = np.hypot(eta[:, None] - eta[axes][None], phi[:, None] - phi[axes][None])  # (n, N)
    return float((pt * dr.min(axis=1)).sum() / (pt.sum() * 1.0))


def _d2(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> float:
    z = pt / pt.sum()
    dr = np.hypot(eta[:, None] - eta[None], phi[:, None] - phi[None])  # (n, n)
    e2 = 0.5 * np.einsum("i,j,ij->", z, z, dr)
    e3 = np.einsum("i,j,k,ij,ik,jk->", z, z, z, dr, dr, dr) / 6.0
    return float(e3 / max(e2, 1e-12) ** 3)


def make_jets(rng: np.random.Generator, n: int, *, length: int = 48) -> dict[str, np.ndarray]:
    """``n`` jets, classes interleaved at random, as the arrays of one chunk."""
    labels = rng.permutation(np.arange(n) % 2)
    out = {
        "X": np.zeros((n, length, len(FEATURES)), np.float32),
        "mask": np.zeros((n, length), bool),
        "p4": np.zeros((n, length, 4), np.float32),
    }
    obs = {k: np.zeros(n, np.float32) for k in ("jet_pt", "jet_eta", "jet_phi", "jet_m",
                                               "jet_m_ungroomed", "truth_jet_pt",
                                               "truth_jet_m", "tau21", "d2")}  # fmt: skip
    n_con = np.zeros(n, np.int32)
    for j, label in enumerate(labels):
        pt_jet, eta_j, phi_j = rng.uniform(250, 900), rng.uniform(-1.8, 1.8), rng.uniform(-3, 3)
        c = _constituents(rng, int(label), pt_jet)[:length]
        pt, deta, dphi = c[:, 0], c[:, 1], c[:, 2]
        eta, phi = eta_j + deta, phi_j + dphi
        p4 = np.column_stack(
            [pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)]
        )
        tot = p4.sum(axis=0)
        m = float(np.sqrt(max(tot[3] ** 2 - (tot[:3] ** 2).sum(), 0.0)))
        k = len(pt)
        out["X"][j, :k] = np.column_stack([
            deta, dphi, np.log(pt), np.log(p4[:, 3]), np.log(pt / pt.sum()),
            np.log(p4[:, 3] / p4[:, 3].sum()), np.hypot(deta, dphi), rng.random(k) < 0.6,
        ])  # fmt: skip
        out["mask"][j, :k] = True
        out["p4"][j, :k] = p4
        tau1, tau2 = _tau(pt, eta, phi, 1), _tau(pt, eta, phi, 2)
        values = {"jet_pt": np.hypot(tot[0], tot[1]), "jet_eta": eta_j, "jet_phi": phi_j,
                  "jet_m": m, "jet_m_ungroomed": m * 1.05, "truth_jet_pt": pt_jet,
                  "truth_jet_m": m, "tau21": tau2 / max(tau1, 1e-9), "d2": _d2(pt, eta, phi)}  # fmt: skip
        for key, v in values.items():
            obs[key][j] = v
        n_con[j] = k
    out.update(obs)
    out["n_constituents"] = n_con
    out["y_cloud"] = labels.astype(np.int64)
    out["weight"] = np.ones(n, np.float32)
    return out


def write_chunks(
    root: Path,
    make: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
    objects: dict[str, int],
    *,
    rng: np.random.Generator,
    chunk: int,
    classes: list[str],
    stem: str,
    file_of_class: bool = False,
    drop: tuple[str, ...] = (),
) -> dict[str, dict]:
    """Write ``objects[split]`` objects of ``make`` per split in chunks of ``chunk``, with
    made-up unique links (``file_index`` 0, or the class with ``file_of_class``), leaving
    out the arrays ``drop``; returns the counts per split and class."""
    counts: dict[str, dict] = {}
    entry = 0
    for split, n in objects.items():
        per_class = np.zeros(len(classes), int)
        for c, lo in enumerate(range(0, n, chunk)):
            arrays = make(rng, min(chunk, n - lo))
            m = len(arrays["y_cloud"])
            index = arrays["y_cloud"] if file_of_class else np.zeros(m)
            arrays["file_index"] = index.astype(np.int32)
            arrays["entry"] = np.arange(entry, entry + m, dtype=np.int64)
            arrays["event_number"] = 1000 + arrays["entry"]
            arrays["object_index"] = (arrays["entry"] % 2).astype(np.int32)
            entry += m
            per_class += np.bincount(arrays["y_cloud"], minlength=len(classes))
            kept = {k: v for k, v in arrays.items() if k not in drop}
            write_npz(root / "arrays" / split / f"{stem}_{c:05d}.npz", kept)
        counts[split] = {
            "samples": n,
            "per_class": dict(zip(classes, per_class.tolist(), strict=True)),
        }
    return counts


def write_jet_folder(
    root: str | Path, *, seed: int = 0, jets: dict[str, int] | None = None, chunk: int = 200
) -> Path:
    """Write a preprocessed jet folder under ``root`` and return it.

    ``jets``: jets per split (default train 600, val 200, test 400), ``chunk`` jets per
    chunk file.
    """
    root = Path(root)
    jets = jets or {"train": 600, "val": 200, "test": 400}
    counts = write_chunks(root, make_jets, jets, rng=np.random.default_rng(seed), chunk=chunk,
                          classes=CLASSES, stem="synthetic")  # fmt: skip
    meta = {
        "kind": "jet",
        "layout": "padded",
        "features": FEATURES,
        "classes": CLASSES,
        "length": 48,
        "algorithm": "truth",
        "counts": counts,
        "inputs": ["synthetic.root"],
    }
    write_json(root / "metadata.json", meta)
    return root

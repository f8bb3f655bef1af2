"""Axion-like particles (ALPs, PDG id 36) decaying to two photons: Pythia settings and a gun.

``h2aa`` (13 TeV g g -> H, H -> a a, a -> gamma gamma) uses Pythia's A0 (id 36) as the
ALP, made an ordinary (non-resonant) particle so that Pythia's ``ParticleDecays`` decays it
at a displaced vertex drawn from its proper lifetime (checked with pythia8mc 8.317.2; the
settings and why each is needed are in docs/simulation.md, "ALP events"):

- ``36:isResonance = off``: resonances decay inside the hard process at the primary vertex;
  a non-resonance is decayed at hadron level, at ``vProd + tau * p / m`` (mm).
- ``36:tauCalc = off`` with ``36:tau0 = c tau`` (mm/c): the lifetime is not derived from the
  width; ``36:mWidth = 0`` fixes the mass at ``36:m0`` (no Breit-Wigner, mMin / mMax unused).
- ``36:mayDecay = on`` (the default is off for tau0 >= 1000 mm) and
  ``36:oneChannel = 1 1.0 0 22 22`` (the only channel: isotropic two-photon decay).
- ``25:onMode = off`` then ``25:addChannel = 1 1.0 100 36 36``: the SM Higgs decays to a a
  only (meMode 100: the partial width from the stored width and branching ratio).
- ``ParticleDecays:tau0Max`` raised from 1000 mm to ``max(1000, 10 c tau)``: particles with
  tau0 >= tau0Max are never decayed. No other particle changes: every species with
  tau0 >= 1000 mm already has ``mayDecay`` off (pi+-, K+-, K0L, mu, n ...), which
  :func:`check_only_alp_decays_change` verifies on the initialised particle table.
  ``limitTau``, ``limitRadius`` and ``limitCylinder`` stay off (Pythia's defaults).

The ``alp`` gun needs no Pythia: an ALP of the given mass and energy, |eta| and phi as
the other single-particle guns, from the origin, decays isotropically in its rest frame to
two photons at a lab-frame decay length drawn uniformly in [LO, HI] mm along its flight
direction (LO = HI = 0: at the origin, the prompt sample).
"""

from __future__ import annotations

import math

import numpy as np

from jetpointnet.errors import UserError

__all__ = [
    "ALP_ID",
    "ALP_PRESETS",
    "HIGGS_MASS",
    "alp_gun_columns",
    "check_alp_options",
    "check_only_alp_decays_change",
    "h2aa_settings",
    "h2aa_tau0_max",
    "two_photon_decay",
]

ALP_ID = 36
ALP_PRESETS = ("h2aa", "alp")
HIGGS_MASS = 125.0  # GeV, Pythia's default 25:m0
DEFAULT_TAU0_MAX = 1000.0  # mm/c, jetpointnet's ParticleDecays:tau0Max for all presets


def h2aa_tau0_max(ctau: float) -> float:
    """``ParticleDecays:tau0Max`` (mm/c) that lets an ALP of proper decay length ``ctau``
    (mm) decay: Pythia decays only particles with tau0 < tau0Max."""
    return max(DEFAULT_TAU0_MAX, 10.0 * ctau)


def h2aa_settings(mass: float, ctau: float) -> list[str]:
    """Pythia settings of ``h2aa`` (beyond the common ones): ALP mass in GeV, c tau in mm."""
    return [
        "Beams:eCM = 13000.",
        "Tune:pp = 21",
        "HiggsSM:gg2H = on",
        "25:onMode = off",
        f"25:addChannel = 1 1.0 100 {ALP_ID} {ALP_ID}",
        f"{ALP_ID}:m0 = {mass!r}",
        f"{ALP_ID}:mWidth = 0",
        f"{ALP_ID}:isResonance = off",
        f"{ALP_ID}:tauCalc = off",
        f"{ALP_ID}:tau0 = {ctau!r}",
        f"{ALP_ID}:mayDecay = on",
        f"{ALP_ID}:oneChannel = 1 1.0 0 22 22",
        f"ParticleDecays:tau0Max = {h2aa_tau0_max(ctau)!r}",
        "ParticleDecays:limitTau = off",  # Pythia's defaults, stated: no other cut on where
        "ParticleDecays:limitRadius = off",  # or when a particle decays, so every ALP
        "ParticleDecays:limitCylinder = off",  # decays (maybe far outside the detector)
    ]


def check_alp_options(o) -> None:
    """One-line :class:`UserError` for bad ALP options of a ``SourceOptions`` ``o``."""
    lo, hi = (float(x) for x in o.decay_length)
    if o.preset not in ALP_PRESETS:
        if o.alp_mass is not None or o.alp_ctau is not None or (lo, hi) != (0.0, 0.0):
            raise UserError(
                f"--alp-mass, --alp-ctau and --decay-length apply to --preset h2aa or alp, "
                f"not {o.preset}"
            )
        return
    if o.alp_mass is None:
        raise UserError(f"--preset {o.preset} needs --alp-mass M (GeV)")
    m = float(o.alp_mass)
    if o.preset == "h2aa":
        if not 0.0 < m < HIGGS_MASS / 2:
            raise UserError(
                f"--alp-mass must be in (0, {HIGGS_MASS / 2:g}) GeV for H -> a a, got {m:g}"
            )
        if o.alp_ctau is None:
            raise UserError("--preset h2aa needs --alp-ctau CTAU (proper decay length, mm)")
        if not 0.0 <= float(o.alp_ctau) < math.inf:
            raise UserError(f"--alp-ctau must be >= 0 mm and finite, got {o.alp_ctau}")
        if (lo, hi) != (0.0, 0.0):
            raise UserError("--decay-length is for --preset alp; h2aa draws it from --alp-ctau")
        return
    if not 0.0 < m < math.inf:
        raise UserError(f"--alp-mass must be positive, got {m:g}")
    if o.alp_ctau is not None:
        raise UserError("--alp-ctau is for --preset h2aa; the alp gun takes --decay-length LO HI")
    if not 0.0 <= lo <= hi < math.inf:
        raise UserError(f"--decay-length needs 0 <= LO <= HI (mm), got {lo:g} {hi:g}")
    e_min = o.energy if o.energy is not None else o.energy_range[0]
    if not e_min > m:
        raise UserError(
            f"--preset alp: the ALP energy ({e_min:g} GeV) must exceed --alp-mass {m:g}"
        )


def _decays(pd, pdg: int, tau0_max: float) -> bool:
    return bool(pd.mayDecay(pdg) and pd.canDecay(pdg) and pd.tau0(pdg) < tau0_max)


def check_only_alp_decays_change(pythia, tau0_max: float) -> list[int]:
    """PDG ids (other than the ALP) whose decay would change between ``tau0Max = 1000`` mm
    and ``tau0_max``, in an initialised ``pythia``; raises RuntimeError if any, or if the
    ALP itself is not set up as a decaying non-resonance. Returns the ids checked."""
    pd = pythia.particleData
    if pd.isResonance(ALP_ID) or not _decays(pd, ALP_ID, tau0_max):
        raise RuntimeError("Pythia did not take the ALP settings (id 36 must decay normally)")
    ids, changed = [], []
    pdg = 1  # the lowest id of the table (d); nextId walks it upwards, 0 at the end
    while pdg != 0:
        ids.append(pdg)
        if pdg != ALP_ID and _decays(pd, pdg, tau0_max) != _decays(pd, pdg, DEFAULT_TAU0_MAX):
            changed.append(pdg)
        pdg = pd.nextId(pdg)
    if changed:
        raise RuntimeError(f"raising tau0Max to {tau0_max} mm would decay ids {changed}")
    return ids


def two_photon_decay(
    rng: np.random.Generator, p: np.ndarray, mass: float
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic decay (rest frame) of a particle of 3-momentum ``p`` (GeV) and ``mass``
    (GeV) into two massless photons; returns their (px, py, pz, E) in the lab, GeV."""
    cos_t = rng.uniform(-1.0, 1.0)
    phi = rng.uniform(-math.pi, math.pi)
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    k = 0.5 * mass * np.array([sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t])
    e = math.sqrt(float(p @ p) + mass * mass)
    beta = p / e
    gamma = e / mass
    out = []
    for kk in (k, -k):
        bk = float(beta @ kk)
        e_lab = gamma * (0.5 * mass + bk)
        p_lab = kk + (gamma * gamma / (gamma + 1.0) * bk + gamma * 0.5 * mass) * beta
        out.append(np.array([*p_lab, e_lab]))
    return out[0], out[1]


def alp_gun_columns(
    rng: np.random.Generator,
    *,
    mass: float,
    energy: float,
    eta: float,
    phi: float,
    decay_length: tuple[float, float],
) -> tuple[dict[str, list], dict[str, list]]:
    """One gun ALP from the origin and its two photons: (photon columns, ALP columns).

    Columns as :func:`jetpointnet.simulate.generators._to_event` takes them (GeV, mm, e):
    the photons (status 1) have their vertex at the decay point, ``length * direction``
    with ``length`` uniform in ``decay_length`` (mm); the ALP's vertex is the origin.
    Barcodes follow a Pythia record: the ALP is 1, its photons 2 and 3.
    """
    pabs = math.sqrt(energy * energy - mass * mass)
    direction = np.array([math.cos(phi) / math.cosh(eta), math.sin(phi) / math.cosh(eta),
                          math.tanh(eta)])  # fmt: skip
    p = pabs * direction
    lo, hi = decay_length
    vertex = float(rng.uniform(lo, hi)) * direction
    g1, g2 = two_photon_decay(rng, p, mass)
    photons = {
        "pdg": [22, 22], "px": [g1[0], g2[0]], "py": [g1[1], g2[1]], "pz": [g1[2], g2[2]],
        "e": [g1[3], g2[3]], "m": [0.0, 0.0], "vx": [vertex[0]] * 2, "vy": [vertex[1]] * 2,
        "vz": [vertex[2]] * 2, "q": [0.0, 0.0], "bc": [2, 3],
    }  # fmt: skip
    alp = {
        "pdg": [ALP_ID], "px": [p[0]], "py": [p[1]], "pz": [p[2]], "e": [energy], "m": [mass],
        "vx": [0.0], "vy": [0.0], "vz": [0.0], "q": [0.0], "bc": [1],
    }  # fmt: skip
    return photons, alp

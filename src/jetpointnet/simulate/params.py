"""Every number of the detector simulation, in one documented place.

Each value says where it comes from: an ATLAS public figure (``shared/CALO.md`` collects
them: layer tables from the ATLAS detector paper and athena, materials from the COCOA
configuration and GFlash), or ``(approx.)`` when it could not be checked against a primary
source, or ``(tuned)`` when it was adjusted so that the simulation reproduces an ATLAS
performance figure (resolution, pion E/p); the figure is named next to it. The validation
tests (``tests/test_simulate_physics.py``) check those figures.

Units: GeV, mm, radians; depths in radiation lengths X0 or interaction lengths lambda.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEAD_MATERIAL",
    "DETECTOR",
    "LAYERS",
    "DeadMaterial",
    "DetectorParams",
    "LayerSpec",
    "Region",
]


@dataclass(frozen=True)
class Region:
    """A regular eta x phi grid of cells on both sides: |eta| in [eta_lo, eta_hi)."""

    eta_lo: float
    eta_hi: float
    deta: float
    nphi: int

    @property
    def neta(self) -> int:
        return round((self.eta_hi - self.eta_lo) / self.deta)


@dataclass(frozen=True)
class LayerSpec:
    """One calorimeter sampling layer.

    ``kind`` "r": a barrel layer between transverse radii ``lo``-``hi`` (mm); "z": an
    end-cap layer between ``lo``-``hi`` in |z| (mm). ``x0`` and ``lam`` are the effective
    radiation and interaction lengths of the layer's stack (mm); ``noise`` the Gaussian
    electronic noise per cell (GeV); ``e_over_h`` the effective non-compensation of the
    technology (visible EM-scale energy of the hadronic part = 1 / e_over_h).
    """

    name: str
    sampling: int
    kind: str
    lo: float
    hi: float
    regions: tuple[Region, ...]
    x0: float
    lam: float
    noise: float
    moliere: float
    e_over_h: float
    mip_dedx: float  # visible EM-scale energy of a minimum-ionising particle, GeV per mm

    @property
    def eta_min(self) -> float:
        return min(r.eta_lo for r in self.regions)

    @property
    def eta_max(self) -> float:
        return max(r.eta_hi for r in self.regions)


def _r(*rows: tuple[float, float, float, int]) -> tuple[Region, ...]:
    return tuple(Region(*row) for row in rows)


_PHI64 = 64  # 2 pi / 64 = 0.098
_PHI256 = 256  # 0.0245
_PHI32 = 32  # 0.196

# EM barrel accordion (Pb/LAr, |eta| < 0.8): X0_eff 19.7 mm, lambda_eff 390 mm, E_c 11 MeV,
# Moliere radius 38 mm (CALO.md "Materials"). EM end-cap: 24 X0 over ~520 mm of |z| (approx.).
# HEC (Cu/LAr) lambda_eff 194 / 174 mm, Tile (Fe/scintillator) lambda_eff 194 mm.
# Noise per cell (CALO.md "Noise and clustering", approx.): strips ~15 MeV, EMB2 ~30,
# EMB3 ~25, presampler ~30, Tile ~20, HEC 150-400 MeV (we take the low end, 0.15-0.3).
# e/h: the EM-scale signal of the hadronic part of a hadron shower is its true energy /
# e/h (CALO.md: Tile ~1.36, LAr ~1.5-1.7, approx.). Tuned (LAr 1.26, Tile 1.10) so that
# the charged-pion <E/p> in a Delta-R < 0.2 cone after topo-clustering is within 10 % of
# the ATLAS figures of CALO.md at 2-50 GeV, and so that sigma(E/p)/<E/p> per LHED follows
# eflowRec mc20 (EM categories broader than Tile): below the intrinsic values because our
# hadrons also lose energy in the EM-Tile cryostat, upstream and out of the cone, and the
# LAr - Tile difference is kept.
# MIP visible energy: ~1.5 MeV cm2/g times the stack density, over e/mip ~ 0.75 (approx.).
_EMB = {"x0": 19.7, "lam": 390.0, "moliere": 38.0, "e_over_h": 1.26, "mip_dedx": 0.70e-3}
_EME = {"x0": 21.5, "lam": 400.0, "moliere": 40.0, "e_over_h": 1.26, "mip_dedx": 0.70e-3}
_HEC = {"x0": 18.6, "lam": 194.0, "moliere": 20.0, "e_over_h": 1.26, "mip_dedx": 0.85e-3}
_TILE = {"x0": 21.0, "lam": 194.0, "moliere": 20.0, "e_over_h": 1.10, "mip_dedx": 0.80e-3}
_PS = {"x0": 140.0, "lam": 840.0, "moliere": 100.0, "e_over_h": 1.26, "mip_dedx": 0.30e-3}

#: The layers, CaloSampling numbers and granularity of CALO.md "Layers". Cell counts come
#: out within a few per cent of ATLAS's (PreSamplerB 7,808, EMB2 29,184, EMB3 13,824,
#: EME1 28,544, EME2 23,424, EME3 10,240, TileBar0 1,280 exactly).
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("PreSamplerB", 0, "r", 1410.0, 1447.0, _r((0.0, 1.525, 0.025, _PHI64)), noise=0.030, **_PS),
    LayerSpec(
        "EMB1", 1, "r", 1500.0, 1587.0,
        _r((0.0, 1.4, 0.003125, _PHI64), (1.4, 1.475, 0.025, _PHI256)), noise=0.015, **_EMB,
    ),
    LayerSpec(
        "EMB2", 2, "r", 1587.0, 1930.0,
        _r((0.0, 1.4, 0.025, _PHI256), (1.4, 1.475, 0.075, _PHI256)), noise=0.030, **_EMB,
    ),
    LayerSpec("EMB3", 3, "r", 1930.0, 1960.0, _r((0.0, 1.35, 0.05, _PHI256)), noise=0.025, **_EMB),
    LayerSpec("PreSamplerE", 4, "z", 3620.0, 3660.0, _r((1.5, 1.8, 0.025, _PHI64)), noise=0.030, **_PS),
    LayerSpec(
        "EME1", 5, "z", 3730.0, 3820.0,
        _r(
            (1.375, 1.425, 0.05, _PHI64),
            (1.425, 1.5, 0.025, _PHI64),
            (1.5, 1.8, 0.025 / 8, _PHI64),
            (1.8, 2.0, 0.025 / 6, _PHI64),
            (2.0, 2.4, 0.025 / 4, _PHI64),
            (2.4, 2.5, 0.025, _PHI64),
            (2.5, 3.2, 0.1, _PHI64),
        ),
        noise=0.015, **_EME,
    ),
    LayerSpec(
        "EME2", 6, "z", 3820.0, 4200.0,
        _r((1.375, 1.425, 0.05, _PHI256), (1.425, 2.5, 0.025, _PHI256), (2.5, 3.2, 0.1, _PHI64)),
        noise=0.030, **_EME,
    ),
    LayerSpec("EME3", 7, "z", 4200.0, 4250.0, _r((1.5, 2.5, 0.05, _PHI256)), noise=0.025, **_EME),
    LayerSpec("HEC0", 8, "z", 4317.0, 4598.0, _r((1.5, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, _PHI32)), noise=0.15, **_HEC),
    LayerSpec("HEC1", 9, "z", 4598.0, 5134.0, _r((1.5, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, _PHI32)), noise=0.20, **_HEC),
    LayerSpec("HEC2", 10, "z", 5175.0, 5668.0, _r((1.6, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, _PHI32)), noise=0.25, **_HEC),
    LayerSpec("HEC3", 11, "z", 5668.0, 6136.0, _r((1.7, 2.5, 0.1, _PHI64), (2.5, 3.3, 0.2, _PHI32)), noise=0.30, **_HEC),
    LayerSpec("TileBar0", 12, "r", 2300.0, 2600.0, _r((0.0, 1.0, 0.1, _PHI64)), noise=0.020, **_TILE),
    LayerSpec("TileBar1", 13, "r", 2600.0, 3440.0, _r((0.0, 0.9, 0.1, _PHI64)), noise=0.020, **_TILE),
    LayerSpec("TileBar2", 14, "r", 3440.0, 3820.0, _r((0.0, 0.1, 0.1, _PHI64), (0.1, 0.7, 0.2, _PHI64)), noise=0.020, **_TILE),
    # Gap / ITC cells (approx.): C10 behind the barrel's B layer, D4, and the thin E1-E4
    # scintillators; thin in lambda.
    LayerSpec("TileGap1", 15, "r", 2990.0, 3440.0, _r((0.8, 0.9, 0.1, _PHI64)), noise=0.020, **_TILE),
    LayerSpec("TileGap2", 16, "r", 3440.0, 3820.0, _r((0.8, 1.0, 0.2, _PHI64)), noise=0.020, **_TILE),
    LayerSpec(
        "TileGap3", 17, "r", 2230.0, 2263.0,
        _r((1.0, 1.2, 0.1, _PHI64), (1.2, 1.6, 0.2, _PHI64)), noise=0.020, **_TILE,
    ),
    LayerSpec("TileExt0", 18, "r", 2300.0, 2600.0, _r((1.1, 1.6, 0.1, _PHI64)), noise=0.020, **_TILE),
    LayerSpec("TileExt1", 19, "r", 2600.0, 3140.0, _r((1.0, 1.5, 0.1, _PHI64)), noise=0.020, **_TILE),
    LayerSpec("TileExt2", 20, "r", 3140.0, 3820.0, _r((0.9, 1.3, 0.2, _PHI64)), noise=0.020, **_TILE),
)  # fmt: skip


@dataclass(frozen=True)
class DeadMaterial:
    """Uninstrumented material: energy deposited here is lost (it is in no cell)."""

    name: str
    kind: str
    lo: float
    hi: float
    eta_lo: float
    eta_hi: float
    x0: float
    lam: float


#: Material between calorimeter layers. The EM barrel's outer cryostat and the Tile
#: front: CALO.md gives 2.3 lambda in front of the Tile calorimeter at eta = 0, of which
#: ~0.45 upstream and ~1.2 in the EM barrel, leaving ~0.65 lambda over 340 mm (approx.).
DEAD_MATERIAL: tuple[DeadMaterial, ...] = (
    DeadMaterial("PS-strips", "r", 1447.0, 1500.0, 0.0, 1.5, x0=90.0, lam=400.0),
    DeadMaterial("EMB cryostat", "r", 1960.0, 2300.0, 0.0, 1.6, x0=110.0, lam=520.0),
    DeadMaterial("EMEC cryostat", "z", 3660.0, 3730.0, 1.375, 3.3, x0=70.0, lam=300.0),
)


@dataclass(frozen=True)
class DetectorParams:
    """Tracker, upstream material, shower model and clustering constants."""

    # --- solenoid and tracker (ATLAS: 2 T, r < 1150 mm, |z| < 3510 mm)
    field_tesla: float = 2.0
    solenoid_r: float = 1150.0
    solenoid_z: float = 3510.0
    track_eta_max: float = 2.5
    track_pt_min: float = 0.5
    track_vertex_r_max: float = 300.0  # needs silicon hits (approx.)
    track_efficiency: float = 0.95  # flat (approx.; ATLAS ~0.9-0.95 for pions)
    # sigma(pT)/pT = a * pT (+) b (ATLAS inner detector, pT in GeV)
    track_sigma_pt_a: float = 3.6e-4
    track_sigma_pt_b: float = 0.013
    track_sigma_eta: float = 1.0e-3
    track_sigma_phi: float = 3.0e-4
    track_sigma_d0: float = 0.012  # mm, (+) 0.09 mm / pT
    track_sigma_d0_ms: float = 0.09
    # --- upstream material in X0 (CALO.md: ~2 X0 at eta 0, 4-5 near |eta| 1.3, 6+ in the
    # crack, approx.), as (|eta|, X0) points linearly interpolated; lambda = X0 * ratio.
    upstream_x0: tuple[tuple[float, float], ...] = (
        (0.0, 1.8), (0.6, 2.2), (1.0, 3.0), (1.3, 4.5), (1.45, 6.5), (1.55, 5.0),
        (1.8, 4.0), (2.5, 3.5), (3.3, 3.5),
    )  # fmt: skip
    # spread along the ray over the last ``upstream_path`` mm before the calorimeter front
    # (at eta = 0: r ~0.4-1.41 m, the outer tracker, solenoid and cryostat; approx.), so
    # that a hadron interacting there has its secondaries fan out before the calorimeter
    # (tuned with the pi0 angles: eflowRec's EM2 ring-profile tail slopes)
    upstream_path: float = 1000.0
    upstream_lam_per_x0: float = 0.22  # ~0.45 lambda at eta 0: "one hadron in three" (approx.)
    # particles born within this distance (mm) of the origin shower along the projective
    # material of their impact eta (the table); those born further away along their own
    # line from their birth point (simulate/lines.py). Beyond the luminous region (sigma_z
    # 45 mm); within it the projective path lengths are within 1 % of the true line's
    # (cosh(asinh(200 / 1410)) = 1.01) and the upstream slab (r > 410 mm at eta 0) lies
    # wholly ahead of the particle
    projective_vertex_max: float = 200.0
    # --- EM showers (Grindhammer-Peters / GFlash, CALO.md "Showers")
    em_critical_energy: float = 0.011  # GeV, EM barrel
    em_tmax_shift: float = 0.0  # sampling-calorimeter shift of T: 5.6 X0 at 10 GeV (CALO.md)
    em_alpha_coeff: float = 0.458 + 2.26 / 82.0  # (0.458 + 2.26/Z) for Pb
    em_core_radius: tuple[float, float] = (0.12, 0.08)  # R_core/R_M = a + b * t/T
    em_tail_radius: tuple[float, float] = (0.60, 0.30)  # R_tail/R_M = a + b * t/T
    em_core_fraction: float = 0.85  # ~90 % inside 1 R_M, ~95 % inside 2 R_M
    # EM resolution: stochastic and constant terms of the active medium (tuned so that the
    # clustered photon response, with noise and upstream losses, gives ~10 %/sqrt(E) + 0.7 %)
    em_sampling: float = 0.06
    em_constant: float = 0.004
    photon_conversion_x0: float = 9.0 / 7.0  # mean free path of a photon in X0
    # --- hadronic showers (CALO.md "Showers"; simulate/hadron_showers.py)
    # event-by-event f_em: beta distribution of mean 1 - (E / E0)^(k - 1) (Groom / Wigmans,
    # E0 ~ 1 GeV for pions, k ~ 0.82) and standard deviation a * E^-b (tuned: eflowRec mc20
    # sigma(E/p) per LHED at 25 GeV, 0.18-0.28 of <E/p>), capped at a fraction of the
    # largest spread a [0, 1] distribution of that mean allows
    had_fem_k: float = 0.82
    had_fem_e0: float = 1.0  # GeV
    had_fem_sigma: tuple[float, float] = (0.52, 0.10)
    had_fem_sigma_cap: float = 0.8
    # pi0s: 1 + Poisson(c ln(1 + E / GeV)) of them (approx.: a few per decade of energy;
    # c tuned with the angles below), at most ``had_pi0_max``, none below
    # ``had_pi0_min_energy``; energies split by a Dirichlet(alpha) draw (alpha = 1: broken
    # stick); each decays into two photons an exponential depth (lambda) after the first
    # interaction, having left the axis at an angle p_T / E_pi0, p_T ~ Gamma(2) of mean
    # ``had_pi0_pt``, capped at ``had_pi0_theta_max`` (tuned: eflowRec's EM2 ring-profile
    # tail slopes; above the ~0.35-0.45 GeV of first-generation secondaries, standing in for
    # later generations that start off the axis already)
    had_pi0_mult: float = 1.6
    had_pi0_max: int = 12
    had_pi0_min_energy: float = 0.15  # GeV, about a pi0 mass
    had_pi0_split: float = 1.0
    had_pi0_depth: float = 0.7  # lambda
    had_pi0_pt: float = 0.72  # GeV
    had_pi0_theta_max: float = 1.2  # rad
    # the hadronic part: visible = true / (e/h) times one factor per shower of relative
    # spread (stochastic (+) constant: nuclear binding / invisible-energy fluctuations),
    # correlated with f_em's standard score (tuned: eflowRec mc20 sigma(E/p) per LHED, pion
    # E/p of CALO.md)
    had_intrinsic: float = 0.20
    had_invisible_sigma: float = 0.04
    had_invisible_corr: float = 0.3
    had_shape: tuple[float, float] = (0.62, 0.32)  # a = a0 + a1 ln E
    had_rate: tuple[float, float] = (0.91, -0.024)  # b = b0 + b1 ln E, per lambda
    # core + halo lateral profile (CALO.md: core ~0.1, halo ~0.5-1 lambda): the halo radius
    # is ``had_halo_radius`` lambda (+) ``had_halo_angle`` times the distance from the first
    # interaction, so ~0.5-1 lambda a shower length downstream (angle and core share tuned:
    # eflowRec's Tile ring-profile tail slopes)
    had_core_radius: float = 0.15  # lambda
    had_halo_radius: float = 0.45  # lambda
    had_halo_angle: float = 0.30  # rad
    had_core_fraction: float = 0.55
    # spot energies ~ Gamma(shape) normalised per shower (clumpy deposits; tuned: share of
    # 20 GeV pions split over two clusters or more)
    had_spot_shape: float = 0.2
    # pions interact later than nucleons (sigma_piN / sigma_NN ~ 2/3 at a few GeV; 1.2
    # tuned within that: pion E/p at 2-5 GeV against the EM2 tail slopes)
    pion_lambda_scale: float = 1.20
    # --- deposits
    spots_per_sqrt_gev: float = 24.0
    spots_max: int = 400
    mip_landau_width: float = 0.12  # Moyal width relative to the most probable value
    # --- topo-clustering (ATLAS 4/2/0)
    seed_threshold: float = 4.0
    grow_threshold: float = 2.0
    perimeter_threshold: float = 0.0
    # --- cluster splitting at local maxima (ATLAS's topo-cluster splitter, CALO.md "Noise
    # and clustering"; Eur. Phys. J. C 77 (2017) 490, sec. 4.3): maxima above 500 MeV with
    # at least 4 neighbours in the cluster, in EMB2/EMB3/EME2/EME3 (and, not overlapping
    # those, in EMB1/EME1/HEC/Tile); border cells shared with w1 = E1 / (E1 + r E2),
    # r = exp(d1 - d2), d in units of a typical EM shower size (5 cm, athena's
    # EMShowerScale default, approx.). ``split_clusters = False``: no splitting (the
    # maker's clusters only, no shared cells).
    split_clusters: bool = True
    split_min_energy: float = 0.5  # GeV
    split_min_neighbours: int = 4
    split_secondary_maxima: bool = True
    split_shower_scale: float = 50.0  # mm
    # MLTree does not write cells below 5 MeV; we keep that rule for written cells.
    min_written_cell_energy: float = 0.005
    max_eta_calo: float = 3.3
    pile_up_soft_qcd: bool = True
    extra: dict[str, float] = field(default_factory=dict)


DETECTOR = DetectorParams()

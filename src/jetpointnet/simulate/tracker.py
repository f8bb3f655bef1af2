"""Charged-particle propagation and the track model.

Inside the solenoid (r < 1150 mm, |z| < 3510 mm, uniform 2 T along z) a charged particle
moves on a helix; beyond it, in a straight line (the calorimeter's own field is neglected).
For a particle of transverse momentum pT (GeV) and charge q (e), the transverse radius of
curvature is R = pT / (0.3 B) m = 1000 pT / (0.3 B) mm, and the particle turns clockwise
(seen from +z) for q > 0. Positions are in mm.

A particle with turning angle alpha (radians, along its helix) is at::

    x = x0 + h R (sin(phi0 + h alpha) - sin(phi0))
    y = y0 - h R (cos(phi0 + h alpha) - cos(phi0))
    z = z0 + R alpha sinh(eta)

with h = -sign(q), and its momentum then points at phi0 + h alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jetpointnet.io.mltree_layout import MISSING, TRACK_LAYERS, TRACK_SURFACES
from jetpointnet.simulate.params import DETECTOR, LAYERS, DetectorParams

__all__ = [
    "Exit",
    "extrapolate_layers",
    "helix_position",
    "propagate_to_solenoid",
    "radius_of_curvature",
]

_LAYER_ETA = {s.name: (s.eta_min, s.eta_max) for s in LAYERS}


def radius_of_curvature(pt: np.ndarray, field_tesla: float = DETECTOR.field_tesla) -> np.ndarray:
    """Transverse radius of curvature (mm) of a unit-charge particle of ``pt`` GeV."""
    return 1000.0 * np.asarray(pt) / (0.3 * field_tesla)


class _Helix:
    """Helices of given start points and momenta; the terms that do not depend on the
    turning angle are computed once, for the many evaluations of a march and bisection."""

    def __init__(self, x0, y0, z0, pt, eta, phi0, q, field_tesla: float) -> None:
        self.x0, self.y0, self.z0, self.phi0 = x0, y0, z0, phi0
        self.r = radius_of_curvature(pt, field_tesla)
        self.h = -np.sign(q)
        self.hr = self.h * self.r
        self.sin0, self.cos0, self.sinh_eta = np.sin(phi0), np.cos(phi0), np.sinh(eta)

    def at(self, alpha):
        """Position (x, y, z) in mm after turning by ``alpha`` (broadcasts)."""
        turned = self.phi0 + self.h * alpha
        x = self.x0 + self.hr * (np.sin(turned) - self.sin0)
        y = self.y0 - self.hr * (np.cos(turned) - self.cos0)
        z = self.z0 + self.r * alpha * self.sinh_eta
        return x, y, z


def helix_position(
    x0, y0, z0, pt, eta, phi0, q, alpha, *, field_tesla: float = DETECTOR.field_tesla
):
    """Position (x, y, z) in mm after turning by ``alpha`` (broadcasts)."""
    return _Helix(x0, y0, z0, pt, eta, phi0, q, field_tesla).at(alpha)


@dataclass
class Exit:
    """Where particles leave the solenoid volume (or not): positions in mm, unit directions."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    uz: np.ndarray
    escapes: np.ndarray  # bool: reaches the solenoid boundary (False: loops inside)


def propagate_to_solenoid(
    x0: np.ndarray, y0: np.ndarray, z0: np.ndarray,
    px: np.ndarray, py: np.ndarray, pz: np.ndarray, q: np.ndarray,
    *, params: DetectorParams = DETECTOR, steps: int = 64,
) -> Exit:  # fmt: skip
    """Follow each particle from its vertex to the solenoid boundary.

    Neutral particles go straight. Charged ones follow the helix: a coarse march in the
    turning angle finds the first step outside the volume, then bisection refines it to
    better than 1e-6 rad. Particles produced outside the volume start where they are.
    """
    n = x0.size
    pt = np.hypot(px, py)
    p = np.sqrt(pt**2 + pz**2)
    p_safe = np.where(p > 0, p, 1.0)
    out = Exit(
        x0.copy(), y0.copy(), z0.copy(), px / p_safe, py / p_safe, pz / p_safe, np.ones(n, bool)
    )
    rs, zs = params.solenoid_r, params.solenoid_z
    inside = (np.hypot(x0, y0) < rs) & (np.abs(z0) < zs)
    charged = inside & (q != 0) & (pt > 0)
    if charged.any():
        idx = np.flatnonzero(charged)
        eta = np.arcsinh(pz[idx] / pt[idx])
        phi0 = np.arctan2(py[idx], px[idx])
        args = (x0[idx], y0[idx], z0[idx], pt[idx], eta, phi0, q[idx])
        r = radius_of_curvature(pt[idx], params.field_tesla)
        # beyond alpha_max the particle has left through an end-cap, or it loops forever
        alpha_z = np.where(
            np.abs(np.sinh(eta)) > 0,
            (zs + np.abs(z0[idx])) / (r * np.abs(np.sinh(eta)) + 1e-12),
            np.inf,
        )
        # alpha_z lands exactly on the end-cap plane (for z0 = 0): 0.1 % beyond it, so that
        # rounding cannot leave the last grid point just inside and the particle a "looper"
        alpha_max = np.minimum(alpha_z * 1.001, 2.0 * math.pi)
        grid = np.linspace(0.0, 1.0, steps + 1)[None, :] * alpha_max[:, None]  # (k, S)
        helix = _Helix(*args, field_tesla=params.field_tesla)
        cx0, cy0, cz0, cpt, ceta, cphi0, cq = (a[:, None] for a in args)  # (k, 1) columns
        columns = _Helix(cx0, cy0, cz0, cpt, ceta, cphi0, cq, field_tesla=params.field_tesla)
        gx, gy, gz = columns.at(grid)  # (k, S)
        outside = (np.hypot(gx, gy) >= rs) | (np.abs(gz) >= zs)
        first = np.where(outside.any(axis=1), outside.argmax(axis=1), -1)
        escapes = first > 0
        lo = np.where(escapes, grid[np.arange(idx.size), np.maximum(first - 1, 0)], 0.0)
        hi = np.where(escapes, grid[np.arange(idx.size), np.maximum(first, 0)], 0.0)
        for _ in range(24):  # 1/64 of the arc over 2^24: far below 1e-6 rad
            mid = 0.5 * (lo + hi)
            mx, my, mz = helix.at(mid)
            out_mid = (np.hypot(mx, my) >= rs) | (np.abs(mz) >= zs)
            hi = np.where(out_mid, mid, hi)
            lo = np.where(out_mid, lo, mid)
        ex, ey, ez = helix.at(hi)
        h = -np.sign(q[idx])
        phi_exit = phi0 + h * hi
        sin_t = 1.0 / np.cosh(eta)
        out.x[idx], out.y[idx], out.z[idx] = ex, ey, ez
        out.ux[idx] = np.cos(phi_exit) * sin_t
        out.uy[idx] = np.sin(phi_exit) * sin_t
        out.uz[idx] = np.tanh(eta)
        out.escapes[idx] = escapes
    # neutral particles (and charged ones produced outside) start straight from the vertex
    return out


def _line_to_surface(
    ex, ey, ez, ux, uy, uz, kind: str, value: float, sign_z: np.ndarray
) -> np.ndarray:
    """Path length s >= 0 along the line to the surface (NaN if never reached)."""
    if kind == "r":
        a = ux**2 + uy**2
        b = 2.0 * (ex * ux + ey * uy)
        c = ex**2 + ey**2 - value**2
        disc = b * b - 4.0 * a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (-b + np.sqrt(disc)) / (2.0 * a)
        return np.where((disc >= 0) & (a > 0) & (s >= 0), s, np.nan)
    target = sign_z * value
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (target - ez) / uz
    return np.where(np.isfinite(s) & (s >= 0), s, np.nan)


def extrapolate_layers(
    exit_: Exit, eta_track: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(eta, phi) of each track at every MLTree layer surface; :data:`MISSING` if not reached.

    A layer is reached when the straight line from the solenoid exit crosses its surface
    (fixed r, or fixed z on the side given by the sign of the track's eta) at an eta inside
    the layer's coverage. Loopers reach nothing.
    """
    out = {}
    sign_z = np.where(eta_track >= 0, 1.0, -1.0)
    for layer in TRACK_LAYERS:
        kind, value = TRACK_SURFACES[layer]
        s = _line_to_surface(
            exit_.x, exit_.y, exit_.z, exit_.ux, exit_.uy, exit_.uz, kind, value, sign_z
        )
        px = exit_.x + s * exit_.ux
        py = exit_.y + s * exit_.uy
        pz = exit_.z + s * exit_.uz
        rr = np.hypot(px, py)
        with np.errstate(invalid="ignore", divide="ignore"):
            eta = np.arcsinh(pz / rr)
        phi = np.arctan2(py, px)
        lo, hi = _LAYER_ETA[layer]
        ok = exit_.escapes & np.isfinite(s) & (np.abs(eta) >= lo) & (np.abs(eta) < hi)
        out[layer] = (np.where(ok, eta, MISSING), np.where(ok, phi, MISSING))
    return out

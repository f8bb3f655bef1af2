"""Fits for the particle-flow templates: Gaussian cores of E/p, radial ring profiles.

- :func:`gaussian_core`: mean and width of the Gaussian core of a distribution (eflowRec's
  templates are Gaussian fits, not mean and standard deviation);
- :func:`fit_profile`: ``p0 exp(-r / p1) + p2 exp(-r / p3)`` to a radial energy density.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.special import ndtr

__all__ = ["MIN_FIT", "fit_profile", "gaussian_core"]

#: Values a distribution needs for a Gaussian-core fit (fewer: mean and standard deviation).
MIN_FIT = 50


def fit_profile(r: np.ndarray, density: np.ndarray) -> list[float]:
    """Fit ``p0 exp(-r/p1) + p2 exp(-r/p3)`` to positive densities (least squares in log).

    Returns ``[p0, p1, p2, p3]``; with fewer than four positive points a single
    exponential (``p2 = 0``); with none, ``[0, 1, 0, 1]``.
    """
    r = np.asarray(r, dtype=np.float64)
    d = np.asarray(density, dtype=np.float64)
    ok = (d > 0) & np.isfinite(d)
    r, d = r[ok], d[ok]
    if r.size == 0:
        return [0.0, 1.0, 0.0, 1.0]
    if r.size == 1:
        return [float(d[0] * np.exp(r[0] / 0.05)), 0.05, 0.0, 1.0]
    logd = np.log(d)
    slope, icpt = np.polyfit(r, logd, 1)
    p1 = float(np.clip(-1.0 / slope if slope < 0 else 0.5, 1e-3, 0.5))
    single = [float(np.exp(icpt)), p1, 0.0, 1.0]
    if r.size < 4:
        return single

    def resid(q: np.ndarray) -> np.ndarray:
        model = np.exp(q[0]) * np.exp(-r / q[1]) + np.exp(q[2]) * np.exp(-r / q[3])
        return np.log(model) - logd

    x0 = np.array([icpt + np.log(0.8), max(p1 / 3, 1.1e-3), icpt + np.log(0.2), min(p1 * 2, 1.9)])
    lo, hi = [-50, 1e-3, -50, 1e-3], [50, 0.5, 50, 2.0]
    try:
        fit = least_squares(
            resid, np.clip(x0, np.add(lo, 1e-9), np.subtract(hi, 1e-9)), bounds=(lo, hi)
        )
    except (ValueError, FloatingPointError):
        return single
    if not fit.success or fit.cost > 0.5 * np.sum(_resid_single(single, r, logd) ** 2):
        return single
    q = fit.x
    return [float(np.exp(q[0])), float(q[1]), float(np.exp(q[2])), float(q[3])]


def _resid_single(p: list[float], r: np.ndarray, logd: np.ndarray) -> np.ndarray:
    return np.log(p[0]) - r / p[1] - logd


def _truncated_fit(x: np.ndarray, lo: float, hi: float, mu: float, sig: float):
    """Maximum-likelihood (mu, sigma) of a Gaussian truncated to [lo, hi] on ``x``."""

    def nll(q: np.ndarray) -> float:
        m, s = q[0], np.exp(q[1])
        norm = ndtr((hi - m) / s) - ndtr((lo - m) / s)
        if norm <= 1e-300:
            return 1e300
        z = (x - m) / s
        return float(0.5 * np.sum(z**2) + x.size * (np.log(s) + np.log(norm)))

    fit = minimize(nll, np.array([mu, np.log(sig)]), method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 400})  # fmt: skip
    return float(fit.x[0]), float(np.exp(fit.x[1]))


def gaussian_core(
    values: np.ndarray, *, window: float = 2.0, min_fit: int = MIN_FIT, max_iter: int = 20
) -> tuple[float, float, bool]:
    """(mean, sigma, fitted) of the Gaussian core of ``values``.

    Starting from the median and half the 16-84 % range, a Gaussian truncated to
    ``mean +- window * sigma`` is fitted (unbinned maximum likelihood) to the values in
    that window, and the window moves to the new fit until it settles. With fewer than
    ``min_fit`` values (or fewer than ``min_fit / 2`` in the window) the answer is the
    plain mean and standard deviation, ``fitted`` False.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0.0, 0.0, False
    plain = (float(x.mean()), float(x.std()), False)
    if x.size < min_fit:
        return plain
    q16, mu, q84 = np.quantile(x, [0.16, 0.5, 0.84])
    sig = float((q84 - q16) / 2) or float(x.std())
    if sig <= 0:
        return plain
    for _ in range(max_iter):
        lo, hi = mu - window * sig, mu + window * sig
        xs = x[(x >= lo) & (x <= hi)]
        if xs.size < min_fit / 2:
            return plain
        new_mu, new_sig = _truncated_fit(xs, lo, hi, float(mu), sig)
        done = abs(new_mu - mu) < 1e-4 * sig and abs(new_sig - sig) < 1e-3 * sig
        mu, sig = new_mu, new_sig
        if done:
            break
    return float(mu), float(sig), True

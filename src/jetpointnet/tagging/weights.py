"""Background pT reweighting to the signal's spectrum: flat weights per pT bin.

As weaver's ``weights:`` block (``reweight_method: flat`` on one variable): in each bin of
the jet pT, background jets get ``w = n_signal(bin) / n_background(bin)`` (bins without
background jets: 0; jets outside the edges: the nearest bin); signal jets get 1. Weights
are then scaled to mean 1 per class. The histograms come from the training split only, and
the same weights apply to every split.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bin_ratio", "pt_weights"]


def bin_ratio(signal_pt: np.ndarray, background_pt: np.ndarray, edges) -> np.ndarray:
    """Per bin of ``edges`` (GeV): n_signal / n_background (0 without background)."""
    e = np.asarray(edges, np.float64)
    s, _ = np.histogram(np.clip(signal_pt, e[0], np.nextafter(e[-1], -np.inf)), e)
    b, _ = np.histogram(np.clip(background_pt, e[0], np.nextafter(e[-1], -np.inf)), e)
    return np.where(b > 0, s / np.maximum(b, 1), 0.0)


def pt_weights(pt: np.ndarray, is_background: np.ndarray, ratio: np.ndarray, edges) -> np.ndarray:
    """float32 weight per jet: background jets by ``ratio`` of their pT bin, signal 1;
    each class scaled to mean 1."""
    e = np.asarray(edges, np.float64)
    k = np.clip(np.searchsorted(e, pt, side="right") - 1, 0, len(e) - 2)
    w = np.where(is_background, ratio[k], 1.0)
    for cls in (True, False):
        sel = is_background == cls
        if sel.any() and w[sel].mean() > 0:
            w[sel] = w[sel] / w[sel].mean()
    return w.astype(np.float32)

"""Event-level train / val / test splits, reproducible and independent of chunking.

Each event goes to a split by a hash of (seed, source file name, eventNumber): the same
event lands in the same split whatever the chunk size, the number of workers or the
order of the input files, and no event is ever in two splits (seed 000's advice).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["SPLITS", "assign_splits", "split_fractions"]

SPLITS = ("train", "val", "test")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def split_fractions(train: float, val: float, test: float) -> tuple[float, float, float]:
    """Normalised split fractions (they need not add up to exactly 1)."""
    total = train + val + test
    if min(train, val, test) < 0 or total <= 0:
        raise ValueError("split fractions must be >= 0 and not all 0")
    return train / total, val / total, test / total


def assign_splits(
    event_numbers: np.ndarray,
    *,
    seed: int,
    file_key: str,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test; int8) of every event."""
    digest = hashlib.blake2b(f"{seed}:{file_key}".encode(), digest_size=8).digest()
    base = np.uint64(int.from_bytes(digest, "little"))
    ev = np.asarray(event_numbers, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix(_mix(ev + _GOLD) ^ base)
    u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    f_train, f_val, _ = split_fractions(*fractions)
    return np.where(u < f_train, 0, np.where(u < f_train + f_val, 1, 2)).astype(np.int8)

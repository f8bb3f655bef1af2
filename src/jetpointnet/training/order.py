"""The order of an epoch over the samples of a split's chunk files, shared by the streams.

Samples are numbered over the split (files in the given order, samples in file order):
file ``f`` owns ids ``starts[f]:starts[f+1]``. With ``shuffle`` the order is a pure
function of ``(seed, epoch)``: a random subset of ``max_samples`` ids (if given), files
in a random order, the samples within each file in a random order, then shuffled again
within consecutive windows of ``buffer_size`` ids (none: no window shuffle). Without
``shuffle`` the files' order, and ``max_samples`` a fixed subset (epoch 0's). Each rank
then takes a contiguous share: equal in size when ``equal_shares`` (the remainder is
dropped, as DDP needs), else split as evenly as the count allows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EpochOrdered", "epoch_order"]


def epoch_order(
    starts: np.ndarray,
    *,
    seed: int,
    epoch: int,
    shuffle: bool,
    max_samples: int | None = None,
    buffer_size: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    equal_shares: bool = False,
) -> np.ndarray:
    """This rank's sample ids of epoch ``epoch``, in stream order (int64; module docstring).

    ``starts``: ``(n_files + 1,)`` cumulative sample counts, ``starts[0] == 0``.
    """
    rng = np.random.default_rng([seed, epoch if shuffle else 0])
    n_files, total = len(starts) - 1, int(starts[-1])
    keep = None
    if max_samples is not None and max_samples < total:
        keep = np.zeros(total, dtype=bool)
        keep[rng.choice(total, size=max_samples, replace=False)] = True
    file_order = rng.permutation(n_files) if shuffle else range(n_files)
    parts = []
    for fi in file_order:
        ids = np.arange(starts[fi], starts[fi + 1])
        if keep is not None:
            ids = ids[keep[ids]]
        parts.append(rng.permutation(ids) if shuffle else ids)
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if shuffle and buffer_size is not None:
        for lo in range(0, len(ids), buffer_size):
            ids[lo : lo + buffer_size] = rng.permutation(ids[lo : lo + buffer_size])
    if equal_shares:
        share = len(ids) // world_size
        return ids[rank * share : (rank + 1) * share]
    bounds = np.linspace(0, len(ids), world_size + 1).astype(np.int64)
    return ids[bounds[rank] : bounds[rank + 1]]


class EpochOrdered:
    """The epoch bookkeeping of a sample stream (ChunkStream, JetStream).

    The stream sets ``starts`` (cumulative sample counts per file), ``seed``, ``epoch``,
    ``shuffle``, ``max_samples``, ``buffer_size``, ``rank``, ``world_size`` and
    ``equal_shares``; this gives it ``set_epoch``, ``total`` and :func:`epoch_order`'s ids.
    """

    starts: np.ndarray
    seed: int
    epoch: int
    shuffle: bool
    max_samples: int | None
    buffer_size: int
    rank: int
    world_size: int
    equal_shares: bool

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration produces."""
        self.epoch = epoch

    @property
    def total(self) -> int:
        return int(self.starts[-1])

    def order(self) -> np.ndarray:
        """This rank's sample ids of the current epoch, in stream order."""
        return epoch_order(
            self.starts,
            seed=self.seed,
            epoch=self.epoch,
            shuffle=self.shuffle,
            max_samples=self.max_samples,
            buffer_size=self.buffer_size,
            rank=self.rank,
            world_size=self.world_size,
            equal_shares=self.equal_shares,
        )

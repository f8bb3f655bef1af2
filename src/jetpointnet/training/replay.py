"""Replay (seed 001): mix samples of a source dataset into training on a target dataset.

Fine-tuning on a new dataset (e.g. dijets) makes a model forget the old one (e.g. rho);
replaying some source samples in every epoch keeps it. :class:`ReplayStream` composes
two :class:`~jetpointnet.training.dataset.ChunkStream` objects, one over the target's
training split and one over the source's, without changing either:

- in epoch ``e`` the replay fraction is ``f = schedule[min(e, len(schedule) - 1)]``
  (the last value holds for later epochs); it is the share of the epoch's training
  samples that come from the source, so ``n_source = round(f / (1 - f) * n_target)``
  (at most the source split's size), drawn at random per ``(seed, e)``;
- source and target batches are interleaved in a random order per ``(seed, e)``; each
  batch comes from one dataset (both are padded per batch, so lengths never mix);
- every batch carries ``replay`` ``(B,)`` bool: True for source samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset

from jetpointnet.errors import UserError
from jetpointnet.training.dataset import ChunkStream

__all__ = ["ReplayStream", "check_schedule", "replay_fraction"]


def check_schedule(schedule: Sequence[float], *, where: str = "config") -> None:
    """Every fraction must lie in [0, 1); an empty schedule is an error."""
    if not schedule:
        raise UserError(f"{where}: 'transfer.replay_schedule' needs at least one fraction")
    for f in schedule:
        if not 0.0 <= float(f) < 1.0:
            raise UserError(f"{where}: replay fraction {f} is not in [0, 1)")


def replay_fraction(schedule: Sequence[float], epoch: int) -> float:
    """The fraction of epoch ``epoch`` (0-based): the schedule's value, the last one held."""
    return float(schedule[min(epoch, len(schedule) - 1)])


class ReplayStream(IterableDataset):
    """Target batches with replayed source batches interleaved (see the module docstring)."""

    def __init__(
        self, target: ChunkStream, source: ChunkStream, *, schedule: Sequence[float], seed: int
    ) -> None:
        super().__init__()
        check_schedule(schedule)
        self.target = target
        self.source = source
        self.schedule = [float(f) for f in schedule]
        self.seed = seed
        self.epoch = 0
        self._set_source_size()

    def _n_target(self) -> int:
        return len(self.target.order())

    def _set_source_size(self) -> None:
        f = replay_fraction(self.schedule, self.epoch)
        n = round(f / (1.0 - f) * self._n_target())
        self.source.max_samples = min(n, self.source.total)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch for both streams and size the source draw for it."""
        self.epoch = epoch
        self.target.set_epoch(epoch)
        self.source.set_epoch(epoch)
        self._set_source_size()

    def _n_source_batches(self) -> int:
        return len(self.source) if self.source.max_samples else 0

    def __len__(self) -> int:
        return len(self.target) + self._n_source_batches()

    def __iter__(self) -> Iterator[dict]:
        n_t, n_s = len(self.target), self._n_source_batches()
        rng = np.random.default_rng([self.seed, self.epoch, 7])
        from_source = np.zeros(n_t + n_s, dtype=bool)
        from_source[rng.choice(n_t + n_s, size=n_s, replace=False)] = True
        streams = {False: iter(self.target), True: iter(self.source) if n_s else iter(())}
        for src in from_source:
            batch = next(streams[bool(src)])
            batch["replay"] = torch.full((len(batch["x"]),), bool(src))
            yield batch

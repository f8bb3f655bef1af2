"""Streaming batches from the stage-2 npz chunks of a split, in either layout.

The order of an epoch is a pure function of ``(seed, epoch)`` and the per-file sample
counts: chunk files are visited in a random order, samples within a file in a random
order, and then shuffled within consecutive windows of ``buffer_size`` samples (a
shuffle buffer across chunk boundaries). Only the files that the current window spans
are held in memory, so memory stays bounded whatever the size of the split.

Batches are padded to their longest sample (never to the file's ``L``); with bucketing,
``bucket_batches`` batches' worth of samples are sorted by length before being cut into
batches, whose order is then shuffled. A batch is a dict of tensors:

``x`` (B, N, F) float32, ``mask`` (B, N) bool (real points), ``energy`` (B, N) GeV,
``point_type`` (B, N), ``label_mask`` (B, N) bool (False on padding), ``y_energy`` (B, N)
GeV, ``y_binary`` (B, N), ``y_class`` (B, N), ``sample_id`` (B,) int64 (index of the
sample in the split: files in sorted order, samples in file order). Optional stage-2
arrays named in ``extras`` (those a model lists in ``inputs``, see
``jetpointnet.data.extras``) come along, padded as :data:`EXTRA_FILL` says:
``d_eta``, ``d_phi`` (B, N) float32, ``sampling`` (B, N) int64, ``neighbours``
(B, N, 7) int64 (sample-local indices, so unchanged by batching).

Under ``torch.distributed`` each rank takes a contiguous share of the epoch's order
(training: the same number of samples on every rank); with DataLoader workers each
worker takes a contiguous share of the rank's batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from jetpointnet.data.config import refuse_truth_features
from jetpointnet.data.schema import IGNORE, PER_SAMPLE
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.prep_folder import Chunk, peek_n_points, read_chunk
from jetpointnet.training.order import EpochOrdered

__all__ = [
    "EXTRA_FILL",
    "OPTIONAL_LABELS",
    "POINT_ARRAYS",
    "ChunkStream",
    "feature_indices",
    "feature_names",
    "load_chunk",
    "sample_counts",
]

#: Per-point arrays a batch carries (besides ``X``).
POINT_ARRAYS = ("point_type", "energy", "label_mask", "y_energy", "y_binary", "y_class")
#: Per-point arrays kept for evaluation when a file has them (never batched).
OPTIONAL_LABELS = ("y_total", "y_fraction", "cell_id")
#: Optional per-point arrays a batch can carry: name -> (batch dtype, padding value).
EXTRA_FILL: dict[str, tuple[type, float]] = {
    "d_eta": (np.float32, 0.0),
    "d_phi": (np.float32, 0.0),
    "sampling": (np.int64, -1),
    "neighbours": (np.int64, -1),
}


def feature_indices(metadata: dict, names: Sequence[str], *, where: str) -> list[int] | None:
    """Column indices of ``names`` in ``metadata["features"]`` (None: all columns).

    Features derived from truth (:func:`~jetpointnet.data.config.truth_derived`) among
    those the model would see are refused, naming the feature.
    """
    have = list(metadata.get("features") or [])
    if names:
        refuse_truth_features(names, where=f"{where}: data.features")
    else:
        refuse_truth_features(have, where=f"{where}: the data's features")
    if not names:
        return None
    if not have:
        raise UserError(f"{where}: metadata lists no 'features'; data.features cannot select")
    out = []
    for name in names:
        if name not in have:
            raise UserError(f"{where}: unknown feature {name!r}" + did_you_mean(name, have))
        out.append(have.index(name))
    return out


def feature_names(metadata: dict, names: Sequence[str]) -> list[str] | None:
    """The names of the columns a model sees: ``names`` if given, else metadata's list."""
    if names:
        return list(names)
    have = metadata.get("features")
    return list(have) if have else None


def sample_counts(files: Sequence[Path]) -> list[int]:
    """Number of samples in each chunk file (reads only ``n_points``)."""
    return [len(peek_n_points(path)) for path in files]


def load_chunk(
    path: Path,
    *,
    features: Sequence[int] | None = None,
    extras: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> Chunk:
    """Read a chunk file of either layout into a ragged :class:`Chunk` (the batch arrays).

    ``extras``: optional per-point arrays (keys of :data:`EXTRA_FILL`) to carry; a file
    without one is a UserError naming the ``arrays.extra`` setting that writes it.
    ``optional``: further per-point arrays kept when present (e.g. ``cell_id``).
    """
    for name in extras:
        if name not in EXTRA_FILL:
            raise UserError(
                f"{path}: unknown extra array {name!r}" + did_you_mean(name, EXTRA_FILL)
            )
    return read_chunk(
        path,
        points=POINT_ARRAYS,
        optional=optional,
        extras=extras,
        per_sample=PER_SAMPLE,
        features=features,
    )


def collate(chunks: dict[int, Chunk], picks: Sequence[tuple[int, int]], ids: np.ndarray) -> dict:
    """Pad the samples ``picks`` (file, index) into one batch of tensors."""
    spans = [(chunks[c].offsets[i], chunks[c].offsets[i + 1]) for c, i in picks]
    lengths = np.array([b - a for a, b in spans], dtype=np.int64)
    b, n = len(picks), max(1, int(lengths.max(initial=0)))
    nf = next(iter(chunks.values())).x.shape[1]
    x = np.zeros((b, n, nf), dtype=np.float32)
    energy = np.zeros((b, n), dtype=np.float32)
    y_energy = np.zeros((b, n), dtype=np.float32)
    point_type = np.full((b, n), -1, dtype=np.int64)
    label_mask = np.zeros((b, n), dtype=bool)
    y_binary = np.full((b, n), IGNORE, dtype=np.int64)
    y_class = np.full((b, n), IGNORE, dtype=np.int64)
    first = next(iter(chunks.values())).points
    extra = {
        k: np.full((b, n, *first[k].shape[1:]), EXTRA_FILL[k][1], dtype=EXTRA_FILL[k][0])
        for k in EXTRA_FILL
        if k in first
    }
    for row, ((c, _), (lo, hi)) in enumerate(zip(picks, spans, strict=True)):
        ch, m = chunks[c], hi - lo
        for k, arr in extra.items():
            arr[row, :m] = ch.points[k][lo:hi]
        x[row, :m] = ch.x[lo:hi]
        energy[row, :m] = ch.points["energy"][lo:hi]
        y_energy[row, :m] = ch.points["y_energy"][lo:hi]
        point_type[row, :m] = ch.points["point_type"][lo:hi]
        label_mask[row, :m] = ch.points["label_mask"][lo:hi]
        y_binary[row, :m] = ch.points["y_binary"][lo:hi]
        y_class[row, :m] = ch.points["y_class"][lo:hi]
    mask = np.arange(n)[None, :] < lengths[:, None]
    arrays = {
        "x": x,
        "mask": mask,
        "energy": energy,
        "point_type": point_type,
        "label_mask": label_mask & mask,
        "y_energy": y_energy,
        "y_binary": y_binary,
        "y_class": y_class,
        "sample_id": np.asarray(ids, dtype=np.int64),
        **extra,
    }
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


class ChunkStream(EpochOrdered, IterableDataset):
    """Batches over the chunk files of a split (see the module docstring).

    ``shuffle``: random order per ``(seed, epoch)`` (call :meth:`set_epoch`); otherwise
    the files' order. ``max_samples``: a random subset of that size per epoch
    (training) or a fixed subset (``shuffle`` False). ``extras``: optional per-point
    arrays to carry (:data:`EXTRA_FILL`). ``equal_shares``: drop the
    remainder so that every rank gets the same number of samples (needed by DDP).
    """

    def __init__(
        self,
        files: Sequence[Path],
        *,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        buffer_size: int = 4096,
        bucketing: bool = False,
        bucket_batches: int = 16,
        features: Sequence[int] | None = None,
        max_samples: int | None = None,
        extras: Sequence[str] = (),
        rank: int = 0,
        world_size: int = 1,
        equal_shares: bool = False,
    ) -> None:
        super().__init__()
        self.files = [Path(f) for f in files]
        self.counts = np.asarray(sample_counts(self.files), dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.buffer_size = max(1, buffer_size)
        self.bucketing = bucketing
        self.bucket_batches = max(1, bucket_batches)
        self.features = list(features) if features is not None else None
        self.max_samples = max_samples
        self.extras = tuple(extras)
        self.rank = rank
        self.world_size = world_size
        self.equal_shares = equal_shares
        self.epoch = 0
        self._length_cache: np.ndarray | None = None

    def batches(self) -> list[np.ndarray]:
        """This rank's batches (sample ids) of the current epoch."""
        ids = self.order()
        bs = self.batch_size
        if not self.bucketing:
            return [ids[i : i + bs] for i in range(0, len(ids), bs)]
        rng = np.random.default_rng([self.seed, self.epoch, 1 + self.rank])
        lengths = self._lengths()
        out: list[np.ndarray] = []
        pool = bs * self.bucket_batches
        for lo in range(0, len(ids), pool):
            part = ids[lo : lo + pool]
            part = part[np.argsort(lengths[part], kind="stable")]
            group = [part[i : i + bs] for i in range(0, len(part), bs)]
            idx = rng.permutation(len(group)) if self.shuffle else range(len(group))
            out.extend(group[j] for j in idx)
        return out

    def _lengths(self) -> np.ndarray:
        if self._length_cache is None:
            self._length_cache = np.concatenate([peek_n_points(p) for p in self.files])
        return self._length_cache

    def __len__(self) -> int:
        return len(self.batches())

    def __iter__(self) -> Iterator[dict]:
        batches = self.batches()
        info = get_worker_info()
        if info is not None and info.num_workers > 1:
            bounds = np.linspace(0, len(batches), info.num_workers + 1).astype(np.int64)
            batches = batches[bounds[info.id] : bounds[info.id + 1]]
        file_of = [np.searchsorted(self.starts, b, side="right") - 1 for b in batches]
        last_use: dict[int, int] = {}
        for k, fs in enumerate(file_of):
            for fi in np.unique(fs):
                last_use[int(fi)] = k
        cache: dict[int, Chunk] = {}
        for k, (ids, fs) in enumerate(zip(batches, file_of, strict=True)):
            for fi in np.unique(fs):
                if int(fi) not in cache:
                    cache[int(fi)] = load_chunk(
                        self.files[fi], features=self.features, extras=self.extras
                    )
            picks = [(int(fi), int(i - self.starts[fi])) for fi, i in zip(fs, ids, strict=True)]
            yield collate(cache, picks, ids)
            for fi in [f for f, last in last_use.items() if last == k]:
                cache.pop(fi, None)

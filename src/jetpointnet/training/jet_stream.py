"""Streaming per-cloud batches from the npz chunks of a preprocessed ``jet`` folder.

The folder is the contract's (``/work/contracts/jet.md``): ``DIR/arrays/SPLIT/*.npz`` in
the padded layout with ``X`` (n, L, F), ``mask``, ``p4`` (n, L, 4, GeV), ``y_cloud``,
``weight``, the per-jet observers and the links. Chunks are listed with
:func:`jetpointnet.training.dataset.split_files` and read with
:func:`jetpointnet.io.sample_files.read_npz`.

The order of an epoch is a pure function of ``(seed, epoch)``, as in
:class:`~jetpointnet.training.dataset.ChunkStream`: chunk files in a random order, jets
within a file in a random order, then shuffled within windows of ``buffer_size`` jets
(only the files a window spans are held in memory). A batch is padded to its longest
jet (never to the file's L) and is a dict of tensors:

``x`` (B, N, F) float32, ``mask`` (B, N) bool, ``p4`` (B, N, 4) float32 GeV,
``y_cloud`` (B,) int64, ``weight`` (B,) float32, ``sample_id`` (B,) int64 (index of the
jet in the split: files in sorted order, jets in file order), the observers
(:data:`OBSERVERS`, (B,) float32, ``n_constituents`` int32) and the links
(:data:`LINKS`).

Other per-object kinds (``photon``, /work/contracts/photon.md) name their observers and
further per-object arrays in ``metadata.json`` (``observers``, ``cloud_arrays``): a
stream built with ``observers=`` and ``cloud_arrays=`` checks and carries those instead
(each cloud array stacked as stored, ``(B, ...)``; the arrays of a mask in
:data:`TRIMMED` are cut to the batch's last real row along axis 1).

``batch_order``: ``shuffled`` (the order above) or ``class_sorted``: the same jets,
grouped by class into batches of one class each (as a file order sorted by class gives
them), the batches in a random order per ``(seed, epoch)``; the setting of seed 003's
batch-norm puzzle.

Class mixing: the class fractions of every batch follow from the order and the labels
alone; :meth:`JetStream.class_fractions` returns them per batch (without reading ``X``),
and :meth:`JetStream.epoch_stats` their min and max over the epoch for the log row, so
that a batch of a single class (batch norm would learn the label) is visible.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.sample_files import read_npz
from jetpointnet.training.order import EpochOrdered

__all__ = [
    "BATCH_ORDERS",
    "LINKS",
    "OBSERVERS",
    "TRIMMED",
    "JetStream",
    "collate_jets",
    "load_jet_chunk",
    "read_labels",
]

#: Per-jet observers of the contract (float32, except n_constituents).
OBSERVERS = (
    "jet_pt",
    "jet_eta",
    "jet_phi",
    "jet_m",
    "jet_m_ungroomed",
    "truth_jet_pt",
    "truth_jet_m",
    "tau21",
    "d2",
    "n_constituents",
)
#: Links to the ROOT event: file_index, entry, event_number, object_index.
LINKS = ("file_index", "entry", "event_number", "object_index")
#: Per-object masks and the cloud arrays cut with them to the batch's last real row.
TRIMMED = {"node_mask": ("node_x", "node_mask"), "edge_mask": ("edges", "edge_mask")}
#: The values of ``batch_order``.
BATCH_ORDERS = ("shuffled", "class_sorted")
_NEEDED = ("X", "mask", "p4", "y_cloud", "weight")


def load_jet_chunk(
    path: Path,
    *,
    features: Sequence[int] | None = None,
    observers: Sequence[str] = OBSERVERS,
    cloud_arrays: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """A jet chunk: its arrays, with ``X`` reduced to the ``features`` columns (None: all).

    ``observers`` and ``cloud_arrays``: the further arrays the chunk must hold.
    """
    try:
        f = read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable npz file ({exc})") from None
    for name in (*_NEEDED, *observers, *LINKS, *cloud_arrays):
        if name not in f:
            raise UserError(f"{path}: missing array '{name}'" + did_you_mean(name, list(f)))
    x, mask = f["X"], f["mask"].astype(bool)
    if x.ndim != 3 or mask.shape != x.shape[:2] or f["p4"].shape != (*mask.shape, 4):
        raise UserError(
            f"{path}: X {x.shape}, mask {mask.shape}, p4 {f['p4'].shape} do not match "
            "(padded layout: X (n, L, F), mask (n, L), p4 (n, L, 4))"
        )
    if features is not None:
        if max(features) >= x.shape[-1]:
            raise UserError(f"{path}: X has {x.shape[-1]} features, fewer than metadata lists")
        f["X"] = x[..., list(features)]
    f["mask"] = mask
    return f


def read_labels(path: Path) -> np.ndarray:
    """Only ``y_cloud`` of a chunk (one npz member)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "y_cloud" not in f.files:
                raise UserError(
                    f"{path}: missing array 'y_cloud'" + did_you_mean("y_cloud", f.files)
                )
            return np.asarray(f["y_cloud"], dtype=np.int64)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable npz file ({exc})") from None


def _cloud_arrays(rows: list, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The per-object arrays ``names`` of ``rows`` stacked, masked ones trimmed (:data:`TRIMMED`)."""
    out = {name: np.stack([ch[name][i] for ch, i in rows]) for name in names}
    for mask_name, cut in TRIMMED.items():
        if mask_name in out:
            real = out[mask_name].astype(bool).any(axis=0)  # (M,)
            n = max(1, int(np.flatnonzero(real).max(initial=-1)) + 1)
            for name in cut:
                if name in out:
                    out[name] = out[name][:, :n]
    return out


def collate_jets(
    chunks: dict[int, dict[str, np.ndarray]],
    picks: Sequence[tuple[int, int]],
    ids: np.ndarray,
    *,
    observers: Sequence[str] = OBSERVERS,
    cloud_arrays: Sequence[str] = (),
) -> dict[str, torch.Tensor]:
    """Pad the jets ``picks`` (file, index) to the longest of them; tensors as documented."""
    rows = [(chunks[c], i) for c, i in picks]
    lengths = np.array([int(ch["mask"][i].sum()) for ch, i in rows], dtype=np.int64)
    b, n = len(rows), max(1, int(lengths.max(initial=0)))
    nf = rows[0][0]["X"].shape[-1]
    x = np.zeros((b, n, nf), dtype=np.float32)
    p4 = np.zeros((b, n, 4), dtype=np.float32)
    for r, (ch, i) in enumerate(rows):
        real = ch["mask"][i]
        x[r, : lengths[r]] = ch["X"][i][real]
        p4[r, : lengths[r]] = ch["p4"][i][real]
    out = {
        "x": x,
        "mask": np.arange(n)[None, :] < lengths[:, None],
        "p4": p4,
        "y_cloud": np.array([ch["y_cloud"][i] for ch, i in rows], dtype=np.int64),
        "weight": np.array([ch["weight"][i] for ch, i in rows], dtype=np.float32),
        "sample_id": np.asarray(ids, dtype=np.int64),
    }
    for name in (*observers, *LINKS):
        out[name] = np.array([ch[name][i] for ch, i in rows], dtype=rows[0][0][name].dtype)
    out.update(_cloud_arrays(rows, cloud_arrays))
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}


class JetStream(EpochOrdered, IterableDataset):
    """Batches of jets over the chunk files of a split (see the module docstring).

    ``stats_keys``: the names :meth:`epoch_stats` returns (columns of the run's log).

    ``shuffle``: random order per ``(seed, epoch)`` (call :meth:`set_epoch`), otherwise
    the files' order; ``max_samples``: a random subset of that size per epoch;
    ``equal_shares``: every rank gets the same number of jets (DDP); ``observers``,
    ``cloud_arrays``, ``batch_order``: see the module docstring.
    """

    stats_keys = ("class_frac_min", "class_frac_max")

    def __init__(
        self,
        files: Sequence[Path],
        *,
        batch_size: int,
        n_classes: int,
        shuffle: bool = True,
        seed: int = 0,
        buffer_size: int = 4096,
        features: Sequence[int] | None = None,
        max_samples: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        equal_shares: bool = False,
        observers: Sequence[str] = OBSERVERS,
        cloud_arrays: Sequence[str] = (),
        batch_order: str = "shuffled",
    ) -> None:
        super().__init__()
        if batch_order not in BATCH_ORDERS:
            raise UserError(f"data.batch_order: must be one of {BATCH_ORDERS}, not {batch_order!r}")
        self.observers, self.cloud_arrays = tuple(observers), tuple(cloud_arrays)
        self.batch_order = batch_order
        self.files = [Path(f) for f in files]
        per_file = [read_labels(p) for p in self.files]
        self.labels = np.concatenate(per_file) if per_file else np.zeros(0, dtype=np.int64)
        counts = np.array([len(y) for y in per_file], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= n_classes):
            raise UserError(f"{self.files[0].parent}: y_cloud outside [0, {n_classes})")
        self.batch_size, self.n_classes, self.shuffle, self.seed = (
            batch_size,
            n_classes,
            shuffle,
            seed,
        )
        self.buffer_size = max(1, buffer_size)
        self.features = list(features) if features is not None else None
        self.max_samples, self.rank, self.world_size = max_samples, rank, world_size
        self.equal_shares = equal_shares
        self.epoch = 0

    def batches(self) -> list[np.ndarray]:
        """This rank's batches (jet ids) of the current epoch."""
        ids = self.order()
        if self.batch_order == "class_sorted":
            return self._class_sorted(ids)
        return [ids[i : i + self.batch_size] for i in range(0, len(ids), self.batch_size)]

    def _class_sorted(self, ids: np.ndarray) -> list[np.ndarray]:
        """``ids`` in batches of one class each: every class's batches in stream order,
        the classes interleaved at random (so a batch's files are near its neighbours')."""
        per_class = []
        for c in range(self.n_classes):
            mine = ids[self.labels[ids] == c]
            per_class.append(
                [mine[i : i + self.batch_size] for i in range(0, len(mine), self.batch_size)]
            )
        turns = np.concatenate([np.full(len(b), c) for c, b in enumerate(per_class)])
        if self.shuffle:
            turns = np.random.default_rng([self.seed, self.epoch, 7]).permutation(turns)
        nxt = [0] * self.n_classes
        out = []
        for c in turns:
            out.append(per_class[c][nxt[c]])
            nxt[c] += 1
        return out

    def class_fractions(self) -> np.ndarray:
        """``(n_batches, n_classes)``: the fraction of each class in every batch of the epoch."""
        rows = [
            np.bincount(self.labels[b], minlength=self.n_classes) / len(b) for b in self.batches()
        ]
        return np.array(rows).reshape(-1, self.n_classes)

    def epoch_stats(self) -> dict[str, float]:
        """Min and max over the epoch's batches of the last class's fraction (signal)."""
        frac = self.class_fractions()
        if not len(frac):
            return {"class_frac_min": float("nan"), "class_frac_max": float("nan")}
        return {
            "class_frac_min": float(frac[:, -1].min()),
            "class_frac_max": float(frac[:, -1].max()),
        }

    def __len__(self) -> int:
        return len(self.batches())

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
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
        cache: dict[int, dict[str, np.ndarray]] = {}
        for k, (ids, fs) in enumerate(zip(batches, file_of, strict=True)):
            for fi in np.unique(fs):
                if int(fi) not in cache:
                    cache[int(fi)] = load_jet_chunk(
                        self.files[fi],
                        features=self.features,
                        observers=self.observers,
                        cloud_arrays=self.cloud_arrays,
                    )
            picks = [(int(fi), int(i - self.starts[fi])) for fi, i in zip(fs, ids, strict=True)]
            yield collate_jets(
                cache, picks, ids, observers=self.observers, cloud_arrays=self.cloud_arrays
            )
            for fi in [f for f, last in last_use.items() if last == k]:
                cache.pop(fi, None)

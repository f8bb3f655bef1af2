"""Streaming batches of events (or regions) from the chunk files of a kind-"event" folder.

The folder layout and arrays are those of /work/contracts/event.md (padded npz chunks
read with :func:`jetpointnet.io.sample_files.read_npz`, split listing of
:func:`jetpointnet.io.prep_folder.split_files`). A batch is padded to its own longest
sample, not to the file's ``Lc``/``Lt``/``Kt``: real cells, tracks and target neutrals
are packed to the front of each row, and the incidence columns follow them
(``Nt`` track columns, ``Kn`` neutral columns, the noise column last).

The order of an epoch is a pure function of ``(seed, epoch)``: files in a random order,
samples within a file in a random order, cut into batches; only one file is in memory at
a time. Under ``torch.distributed`` each rank takes a contiguous, equal share.

Batch keys (``B`` samples; GeV, radians):

- ``cell_x`` (B, Nc, Fc), ``cell_mask`` (B, Nc) bool, ``cell_energy``, ``cell_eta``,
  ``cell_phi`` (B, Nc) float32, ``cell_id`` (B, Nc) int64 (-1 on padding), ``cell_core``
  (B, Nc) bool (the cell is in the sample's own tile, not its halo);
- ``track_x`` (B, Nt, Ft), ``track_mask`` (B, Nt), ``track_pt``, ``track_eta``,
  ``track_phi`` (perigee), ``track_calo_eta``, ``track_calo_phi`` (calorimeter impact)
  (B, Nt) float32, ``track_index`` (B, Nt) int32 (-1 on padding), ``track_core`` (B, Nt);
- targets: ``q`` (B, Nc, Nt + Kn + 1), ``charged_class`` (B, Nt) int64 (-1 on padding),
  ``charged_e`` (B, Nt), ``neutral_mask`` (B, Kn), ``neutral_class`` (B, Kn) int64,
  ``neutral_e``, ``neutral_e_vis``, ``neutral_eta``, ``neutral_phi``, ``neutral_core`` (B, Kn);

Chunks written before the halo and the calorimeter impact existed lack ``*_core`` and
``track_calo_*``: every entry is then core and the impact is the perigee direction.
- links (B,): ``file_index``, ``entry``, ``event_number``, ``region_index``,
  ``region_eta``, ``region_phi``, and ``sample_id`` (index in the split: files sorted,
  samples in file order).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.sample_files import read_npz
from jetpointnet.training.order import epoch_order

__all__ = ["CELL_ARRAYS", "LINKS", "NEUTRAL_ARRAYS", "TRACK_ARRAYS", "EventStream", "collate"]

#: name -> padding value, per cell / track / target-neutral / sample.
CELL_ARRAYS = {"cell_x": 0.0, "cell_mask": False, "cell_energy": 0.0, "cell_eta": 0.0,
               "cell_phi": 0.0, "cell_id": -1, "cell_core": False}  # fmt: skip
TRACK_ARRAYS = {"track_x": 0.0, "track_mask": False, "track_pt": 0.0, "track_eta": 0.0,
                "track_phi": 0.0, "track_calo_eta": 0.0, "track_calo_phi": 0.0,
                "track_core": False, "track_index": -1, "charged_class": -1, "charged_e": 0.0}  # fmt: skip
NEUTRAL_ARRAYS = {"neutral_mask": False, "neutral_class": -1, "neutral_e": 0.0,
                  "neutral_e_vis": 0.0, "neutral_eta": 0.0, "neutral_phi": 0.0,
                  "neutral_core": False}  # fmt: skip
#: Arrays older chunks lack, and what stands in for them.
_FALLBACK = {"cell_core": "cell_mask", "track_core": "track_mask", "track_calo_eta": "track_eta",
             "track_calo_phi": "track_phi", "neutral_core": "neutral_mask"}  # fmt: skip
LINKS = ("file_index", "entry", "event_number", "region_index", "region_eta", "region_phi")
_TARGETS = ("q", "charged_class", "charged_e", *NEUTRAL_ARRAYS)


def read_event_chunk(path: Path, *, targets: bool = True) -> dict[str, np.ndarray]:
    """All arrays of one chunk file, checked against the contract (one clear line if not).

    ``targets=False`` does not require the truth arrays (prediction on data without truth).
    """
    try:
        arrays = read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable npz file ({type(exc).__name__})") from None
    for name, source in _FALLBACK.items():
        if name not in arrays and source in arrays:
            arrays[name] = arrays[source].copy()
    need = [k for k in (*CELL_ARRAYS, *TRACK_ARRAYS, *LINKS) if k not in _TARGETS]
    if targets:
        need += list(_TARGETS)
    for name in need:
        if name not in arrays:
            raise UserError(
                f"{path}: missing array '{name}' (not a kind-'event' chunk?)"
                + did_you_mean(name, list(arrays))
            )
    return arrays


def _front(mask: np.ndarray) -> np.ndarray:
    """Indices that move the True entries of each row of ``mask`` (n, L) to the front."""
    return np.argsort(~mask, axis=1, kind="stable")  # (n, L)


def collate(arrays: dict[str, np.ndarray], rows: np.ndarray, ids: np.ndarray) -> dict:
    """The samples ``rows`` of one chunk's arrays as a batch (see the module docstring)."""
    cm, tm = arrays["cell_mask"][rows], arrays["track_mask"][rows]
    nc = max(1, int(cm.sum(1).max(initial=0)))
    nt = max(1, int(tm.sum(1).max(initial=0)))
    ci, ti = _front(cm)[:, :nc], _front(tm)[:, :nt]  # (B, Nc), (B, Nt)
    cell_ok = np.take_along_axis(cm, ci, 1)
    track_ok = np.take_along_axis(tm, ti, 1)

    def gather(name: str, idx: np.ndarray, ok: np.ndarray, fill: float) -> np.ndarray:
        a = arrays[name][rows]
        ix = idx.reshape(*idx.shape, *([1] * (a.ndim - 2)))
        out = np.take_along_axis(a, ix, 1)
        keep = ok.reshape(*ok.shape, *([1] * (a.ndim - 2)))
        return np.where(keep, out, np.asarray(fill, dtype=a.dtype))

    batch = {k: gather(k, ci, cell_ok, v) for k, v in CELL_ARRAYS.items()}
    batch.update({k: gather(k, ti, track_ok, v) for k, v in TRACK_ARRAYS.items() if k in arrays})
    if "neutral_mask" in arrays:
        nm = arrays["neutral_mask"][rows]
        kn = max(1, int(nm.sum(1).max(initial=0)))
        ni = _front(nm)[:, :kn]
        neutral_ok = np.take_along_axis(nm, ni, 1)
        batch.update({k: gather(k, ni, neutral_ok, v) for k, v in NEUTRAL_ARRAYS.items()})
        lt = arrays["track_mask"].shape[1]
        q = arrays["q"][rows]  # (B, Lc, Lt + Kt + 1)
        q = np.take_along_axis(q, ci[:, :, None], 1) * cell_ok[:, :, None]  # (B, Nc, ...)
        cols = np.concatenate(
            [ti, lt + ni, np.full((len(rows), 1), q.shape[2] - 1)], axis=1
        )  # (B, Nt + Kn + 1)
        ok = np.concatenate([track_ok, neutral_ok, np.ones((len(rows), 1), bool)], axis=1)
        q = np.take_along_axis(q, cols[:, None, :], 2) * ok[:, None, :]
        batch["q"] = q.astype(np.float32)
    batch.update({k: arrays[k][rows] for k in LINKS})
    batch["sample_id"] = np.asarray(ids, dtype=np.int64)
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}


class EventStream(IterableDataset):
    """Batches of ``batch_size`` samples over the chunk files of a split.

    ``shuffle``: a random order per ``(seed, epoch)`` (:meth:`set_epoch`), else file
    order. ``max_samples``: a random subset of that size per epoch (or a fixed one
    without shuffling). ``targets``: carry (and require) the truth arrays.
    """

    def __init__(
        self,
        files: Sequence[Path],
        *,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        max_samples: int | None = None,
        targets: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__()
        self.files = [Path(f) for f in files]
        self.counts = np.array([self._count(f) for f in self.files], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_samples = max_samples
        self.targets = targets
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    @staticmethod
    def _count(path: Path) -> int:
        try:
            with np.load(path, allow_pickle=False) as f:
                if "entry" not in f.files:
                    raise UserError(f"{path}: missing array 'entry' (not a kind-'event' chunk?)")
                return len(f["entry"])
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise UserError(f"{path}: not a readable npz file ({type(exc).__name__})") from None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration produces."""
        self.epoch = epoch

    def batches(self) -> list[np.ndarray]:
        """This rank's batches of the current epoch (sample ids; one file per batch)."""
        ids = epoch_order(
            self.starts,
            seed=self.seed,
            epoch=self.epoch,
            shuffle=self.shuffle,
            max_samples=self.max_samples,
            rank=self.rank,
            world_size=self.world_size,
            equal_shares=True,
        )
        out: list[np.ndarray] = []
        for lo in range(0, len(ids), self.batch_size):  # split batches at file boundaries
            part = ids[lo : lo + self.batch_size]
            f = np.searchsorted(self.starts, part, side="right") - 1
            out.extend(part[f == fi] for fi in dict.fromkeys(f.tolist()))
        return out

    def __len__(self) -> int:
        return len(self.batches())

    def __iter__(self) -> Iterator[dict]:
        current, arrays = -1, {}
        for ids in self.batches():
            fi = int(np.searchsorted(self.starts, ids[0], side="right") - 1)
            if fi != current:
                current, arrays = fi, read_event_chunk(self.files[fi], targets=self.targets)
            yield collate(arrays, ids - self.starts[fi], ids)

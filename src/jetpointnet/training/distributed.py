"""Several processes through ``torch.distributed`` (launched by ``torchrun``).

``torchrun --nproc-per-node N -m jetpointnet.cli train ...`` sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address; :func:`setup` reads them
and joins the process group: NCCL on CUDA, gloo on CPU. Without those variables the
run is a single process and nothing is initialised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from jetpointnet.errors import UserError

__all__ = [
    "DistInfo",
    "all_reduce_sum",
    "barrier",
    "broadcast_buffers",
    "cleanup",
    "resolve_device",
    "setup",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place: ``rank`` of ``world_size``; ``device`` to compute on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    initialised: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(kind: str, *, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA when available, else CPU; ``cuda`` without a GPU is a UserError."""
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is available (use cpu or auto)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(device: str = "auto") -> DistInfo:
    """Join the process group if launched by torchrun; return this process's place."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    dev = resolve_device(device, local_rank=local_rank)
    initialised = False
    if world > 1:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            backend = "nccl" if dev.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, rank=rank, world_size=world)
            initialised = True
    return DistInfo(rank, world, local_rank, dev, initialised)


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum ``values`` over all ranks (identity for a single process)."""
    if info.world_size == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def broadcast_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (batch-norm running statistics) to every rank."""
    if info.world_size > 1:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op for a single process)."""
    if info.world_size > 1:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    """Leave the process group if :func:`setup` joined it."""
    if info.initialised and dist.is_initialized():
        dist.destroy_process_group()

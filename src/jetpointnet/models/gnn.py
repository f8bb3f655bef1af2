"""A graph network on the sample's CellGeo neighbour links plus track-to-cell edges.

Seed 003's graph approach (Bauckhage, Meloni, DESY FH-SciComp 2024: calorimeter cells as
graph nodes, message passing) as a per-node segmentation model. The layer is EdgeConv on
a fixed graph (Wang et al., "Dynamic Graph CNN for Learning on Point Clouds", ACM TOG 38
(2019), arXiv:1801.07829) with the edge gates of residual gated graph ConvNets (Bresson,
Laurent, arXiv:1711.07553); plain PyTorch gathers, no compiled extension.

Data flow, for ``x`` ``(B, N, F)``, a real-point ``mask`` ``(B, N)`` and the stage-2
``neighbours`` ``(B, N, 7)`` (sample-local point indices, -1 none; see
:mod:`jetpointnet.data.extras`)::

    x ─ node MLP ─ h (B, N, D) ─ [gated EdgeConv + residual] x depth ─┐
    [h, masked mean + max of h] ─ segmentation MLP ─ (B, N, C) ───────┘

Edges: a cell receives from its CellGeo neighbours (prev/next in eta, phi and sampling)
that are in the sample and from its nearest same-layer track point; a track point
receives from its 6 nearest same-layer cells. The message from ``j`` to ``i`` along link
slot ``s`` is ``m = MLP([h_i, h_j - h_i, onehot(s)])`` (so the direction of the link is
known), weighted by the gate ``sigmoid(W m)`` and averaged over ``i``'s valid links; a
node without links keeps ``h_i`` through the residual. Links to padding (or out of range)
are never used, so padding does not change real points; relabelling the points together
with the link indices permutes the outputs (equivariance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.edgeconv import masked_mean_pool
from jetpointnet.models.knn import gather_neighbours
from jetpointnet.models.layers import (
    Norm,
    SharedMLP,
    apply_norm,
    make_norm,
    masked_max_pool,
)

__all__ = ["GNN", "GNNConfig", "GatedEdgeConv"]


@dataclass
class GNNConfig:
    """Options of :class:`GNN` (defaults: three message-passing layers of width 64)."""

    embed: list[int] = field(default_factory=lambda: [64])
    dim: int = 64
    depth: int = 3
    message: list[int] = field(default_factory=lambda: [64])
    global_pool: bool = True
    seg_mlp: list[int] = field(default_factory=lambda: [64])
    dropout: float = 0.0
    norm: Norm = "batch"


class GatedEdgeConv(nn.Module):
    """One gated EdgeConv layer on given links: ``(B, N, D)`` -> ``(B, N, D)``."""

    def __init__(self, dim: int, message: list[int], n_slots: int, *, norm: Norm) -> None:
        super().__init__()
        self.n_slots = n_slots
        self.mlp = SharedMLP(2 * dim + n_slots, message, norm=norm)
        c = self.mlp.out_channels
        self.gate = nn.Linear(c, 1)
        self.update = nn.Linear(c, dim)
        self.norm = make_norm(dim, norm)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        b, n, k = idx.shape
        nbr = gather_neighbours(h, idx)  # (B, N, k, D)
        centre = h.unsqueeze(2).expand_as(nbr)  # (B, N, k, D)
        slot = torch.eye(self.n_slots, dtype=h.dtype, device=h.device)[:k]  # (k, k_max)
        slot = slot.view(1, 1, k, self.n_slots).expand(b, n, k, self.n_slots)
        m = self.mlp(torch.cat([centre, nbr - centre, slot], dim=-1), valid)  # (B, N, k, C)
        w = torch.sigmoid(self.gate(m)) * valid.unsqueeze(-1).to(m.dtype)  # (B, N, k, 1)
        agg = (w * m).sum(2) / valid.sum(2, keepdim=True).clamp(min=1).to(m.dtype)  # (B, N, C)
        out = h + self.update(agg)  # (B, N, D)
        out = apply_norm(self.norm, out, mask)
        return torch.relu(out)


class GNN(nn.Module):
    """Per-node features: ``forward(x, mask, *, neighbours)`` -> ``((B, N, C), zero aux)``."""

    inputs = ("neighbours",)

    def __init__(self, in_features: int, cfg: GNNConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or GNNConfig()
        if cfg.depth < 1:
            raise ValueError("gnn: depth must be >= 1")
        self.cfg = cfg
        self.n_slots = 7  # jetpointnet.data.extras.N_LINKS (data does not reach models)
        self.embed = SharedMLP(in_features, [*cfg.embed, cfg.dim], norm=cfg.norm)
        self.layers = nn.ModuleList(
            GatedEdgeConv(cfg.dim, cfg.message, self.n_slots, norm=cfg.norm)
            for _ in range(cfg.depth)
        )
        c_in = cfg.dim * (3 if cfg.global_pool else 1)
        self.seg_mlp = SharedMLP(c_in, cfg.seg_mlp, norm=cfg.norm, dropout=cfg.dropout)
        self.out_channels = self.seg_mlp.out_channels

    def links(self, mask: torch.Tensor, neighbours: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Gather indices ``(B, N, k)`` and ``valid`` flags: real target, real source."""
        b, n = mask.shape
        nb = neighbours[..., : self.n_slots].long()
        ok = (nb >= 0) & (nb < n) & mask.unsqueeze(-1)  # (B, N, k)
        idx = torch.where(ok, nb, torch.zeros_like(nb))
        src_real = torch.gather(mask, 1, idx.reshape(b, -1)).view_as(idx)  # (B, N, k)
        return idx, ok & src_real

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, *, neighbours: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        idx, valid = self.links(mask, neighbours)
        h = self.embed(x, mask)  # (B, N, D)
        for layer in self.layers:
            h = layer(h, mask, idx, valid)
        if self.cfg.global_pool:
            glob = torch.cat([masked_mean_pool(h, mask), masked_max_pool(h, mask)], dim=-1)
            h = torch.cat([h, glob.unsqueeze(1).expand(-1, h.shape[1], -1)], dim=-1)
        feats = self.seg_mlp(h, mask)  # (B, N, C)
        return feats, x.new_zeros(())

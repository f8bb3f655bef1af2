"""EdgeConv / ParticleNet segmentation body.

Qu, Gouskos, "ParticleNet: Jet Tagging via Particle Clouds", Phys. Rev. D 101 (2020)
056019, arXiv:1902.08570; EdgeConv from Wang et al., "Dynamic Graph CNN for Learning on
Point Clouds", ACM TOG 38 (2019), arXiv:1801.07829.

Data flow, for ``x`` ``(B, N, F)`` and a real-point ``mask`` ``(B, N)``::

    coords (eta-phi, x-y-z or the features) ─ kNN ─┐
    x ─ EdgeConv block 1 ─ kNN in its features ─ EdgeConv block 2 ─ ... ─┐
    [block outputs] ─ fusion MLP ─ masked mean + max pool ─ global ──────┤
    [fused per point, global] ─ segmentation MLP ─ (B, N, C) to a task head

An EdgeConv block (ParticleNet's): for each point ``i`` and neighbour ``j`` the edge
feature ``[h_i, h_j - h_i]`` goes through a shared MLP, is averaged over the valid
neighbours, and is added to a linear shortcut of ``h_i``. Neighbours are real points only
(:mod:`jetpointnet.models.knn`), so padding never influences a real point. The first
block's neighbours come from ``coords``: ``etaphi`` (default; Delta-R from the ``x, y, z``
features), ``xyz`` (3-D distance) or ``features`` (all input features); later blocks use
the previous block's features (the "dynamic" graph).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from jetpointnet.models.geometry import eta_phi_vectors, pairwise_delta_r, require_columns
from jetpointnet.models.knn import gather_neighbours, knn, pairwise_sq_dist
from jetpointnet.models.layers import (
    Norm,
    SharedMLP,
    apply_norm,
    make_norm,
    masked_max_pool,
)

__all__ = ["EdgeConv", "EdgeConvBlock", "EdgeConvConfig"]


@dataclass
class EdgeConvConfig:
    """Options of :class:`EdgeConv` (defaults: ParticleNet's three blocks, k = 16)."""

    k: int = 16
    coords: Literal["etaphi", "xyz", "features"] = "etaphi"
    blocks: list[list[int]] = field(
        default_factory=lambda: [[64, 64, 64], [128, 128, 128], [256, 256, 256]]
    )
    fusion: list[int] = field(default_factory=lambda: [256])
    seg_mlp: list[int] = field(default_factory=lambda: [256, 128])
    dropout: float = 0.1
    norm: Norm = "batch"


def masked_mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real points: ``(B, N, C)``, ``(B, N)`` -> ``(B, C)`` (zeros when none)."""
    w = mask.to(x.dtype).unsqueeze(-1)  # (B, N, 1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class EdgeConvBlock(nn.Module):
    """One ParticleNet EdgeConv block on given neighbours: ``(B, N, C)`` -> ``(B, N, C')``."""

    def __init__(self, c_in: int, widths: Sequence[int], *, norm: Norm) -> None:
        super().__init__()
        self.mlp = SharedMLP(2 * c_in, widths, norm=norm)
        c_out = self.mlp.out_channels
        self.shortcut = nn.Linear(c_in, c_out, bias=norm == "none")
        self.shortcut_norm = make_norm(c_out, norm)
        self.out_channels = c_out

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        nbr = gather_neighbours(h, idx)  # (B, N, k, C)
        centre = h.unsqueeze(2).expand_as(nbr)  # (B, N, k, C)
        edges = torch.cat([centre, nbr - centre], dim=-1)  # (B, N, k, 2C)
        e = self.mlp(edges, valid)  # (B, N, k, C')
        w = valid.to(e.dtype).unsqueeze(-1)  # (B, N, k, 1)
        agg = (e * w).sum(2) / w.sum(2).clamp(min=1.0)  # (B, N, C')
        sc = apply_norm(self.shortcut_norm, self.shortcut(h), mask)  # (B, N, C')
        return torch.relu(agg + sc)


class EdgeConv(nn.Module):
    """Per-point features from a padded point cloud: ``(B, N, F)`` -> ``(B, N, C)``.

    ``feature_names`` (the columns of ``x``) are needed for ``coords`` ``etaphi`` and
    ``xyz`` (features ``x``, ``y``, ``z``). ``forward`` returns the features and a zero
    auxiliary loss.
    """

    def __init__(
        self,
        in_features: int,
        cfg: EdgeConvConfig | None = None,
        *,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        cfg = cfg or EdgeConvConfig()
        if cfg.k < 1 or not cfg.blocks:
            raise ValueError("EdgeConvConfig needs k >= 1 and at least one block")
        self.cfg = cfg
        self.xyz: list[int] = []
        if cfg.coords != "features":
            self.xyz = require_columns(
                feature_names, ["x", "y", "z"], model="edgeconv", why=f"coords={cfg.coords!r}"
            )
        blocks = []
        c = in_features
        for widths in cfg.blocks:
            blocks.append(EdgeConvBlock(c, widths, norm=cfg.norm))
            c = blocks[-1].out_channels
        self.blocks = nn.ModuleList(blocks)
        c_cat = sum(b.out_channels for b in blocks)
        self.fusion = SharedMLP(c_cat, cfg.fusion, norm=cfg.norm)
        g = self.fusion.out_channels
        self.seg_mlp = SharedMLP(g + 2 * g, cfg.seg_mlp, norm=cfg.norm, dropout=cfg.dropout)
        self.out_channels = self.seg_mlp.out_channels

    def _coord_dist(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.coords == "features":
            return pairwise_sq_dist(x)
        px, py, pz = (x[..., i] for i in self.xyz)
        if self.cfg.coords == "xyz":
            return pairwise_sq_dist(torch.stack([px, py, pz], dim=-1))
        return pairwise_delta_r(*eta_phi_vectors(px, py, pz))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            idx, valid = knn(self._coord_dist(x), mask, self.cfg.k)  # (B, N, k)
        h = x
        outs = []
        for i, block in enumerate(self.blocks):
            if i > 0:
                with torch.no_grad():
                    idx, valid = knn(pairwise_sq_dist(h), mask, self.cfg.k)
            h = block(h, mask, idx, valid)  # (B, N, C_i)
            outs.append(h)
        fused = self.fusion(torch.cat(outs, dim=-1), mask)  # (B, N, G)
        glob = torch.cat([masked_mean_pool(fused, mask), masked_max_pool(fused, mask)], -1)
        glob = glob.unsqueeze(1).expand(-1, x.shape[1], -1)  # (B, N, 2G)
        feats = self.seg_mlp(torch.cat([fused, glob], dim=-1), mask)  # (B, N, C)
        return feats, x.new_zeros(())

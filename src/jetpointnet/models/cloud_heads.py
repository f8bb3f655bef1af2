"""Cloud heads: one output vector per point cloud (a jet, a cluster) from per-point features.

Two heads, both invariant to the order of the points and blind to padding:

- :class:`PoolingHead`: masked mean and max over the real points, concatenated, then an
  MLP to the logits (the pooling of PointNet / ParticleNet).
- :class:`ClassAttentionHead`: ParT's class-attention blocks (Qu, Li, Qian, "Particle
  Transformer for Jet Tagging", ICML 2022, arXiv:2202.03772, after CaiT, Touvron et al.,
  arXiv:2103.17239): a learned class token attends to ``[class token, particles]``
  (keys of padded particles masked), block after block; the final token goes through a
  norm and a linear layer to the logits.

Inputs: per-point features ``h`` ``(B, N, C)`` and the real-point ``mask`` ``(B, N)``;
output: logits ``(B, K)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from jetpointnet.models.layers import masked_max_pool

__all__ = ["ClassAttentionBlock", "ClassAttentionHead", "PoolingHead", "masked_mean_pool"]


def masked_mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real points: ``(B, N, C)``, ``(B, N)`` -> ``(B, C)`` (zeros when none)."""
    w = mask.to(x.dtype).unsqueeze(-1)  # (B, N, 1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


def _mlp(c_in: int, widths: Sequence[int], n_out: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in widths:
        layers += [nn.Linear(c_in, c), nn.ReLU(), nn.Dropout(dropout)]
        c_in = c
    layers.append(nn.Linear(c_in, n_out))
    return nn.Sequential(*layers)


class PoolingHead(nn.Module):
    """Masked mean (and optionally max) pooling, then an MLP: ``(B, N, C)`` -> ``(B, K)``.

    ``pool``: ``"mean+max"`` (default) or ``"mean"`` (ParticleNet's global average).
    """

    def __init__(
        self,
        c_in: int,
        n_out: int,
        *,
        widths: Sequence[int] = (256,),
        dropout: float = 0.1,
        pool: str = "mean+max",
    ) -> None:
        super().__init__()
        if pool not in ("mean", "mean+max"):
            raise ValueError(f"PoolingHead: pool must be 'mean' or 'mean+max', not {pool!r}")
        self.pool = pool
        width = 2 * c_in if pool == "mean+max" else c_in
        self.mlp = _mlp(width, widths, n_out, dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        g = masked_mean_pool(h, mask)  # (B, C)
        if self.pool == "mean+max":
            g = torch.cat([g, masked_max_pool(h, mask)], dim=-1)  # (B, 2C)
        return self.mlp(g)  # (B, K)


class ClassAttentionBlock(nn.Module):
    """One class-attention block: the token ``(B, 1, D)`` attends to ``[token, h]``.

    Pre-norm: ``t + MHA(norm(t), norm([t, h]))`` then ``t + FFN(norm(t))``; padded
    particles are masked out of the keys (the token itself is always a valid key).
    """

    def __init__(self, dim: int, heads: int, *, ffn_ratio: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"ClassAttentionBlock: dim {dim} is not a multiple of heads {heads}")
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_ratio * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_ratio * dim, dim),
        )

    def forward(self, token: torch.Tensor, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        z = self.norm_kv(torch.cat([token, h], dim=1))  # (B, 1 + N, D)
        keep = torch.cat([mask.new_ones(b, 1), mask], dim=1)  # (B, 1 + N)
        q = self.q(self.norm_q(token)).view(b, 1, self.heads, d // self.heads).transpose(1, 2)
        k, v = self.kv(z).chunk(2, dim=-1)  # (B, 1 + N, D) each
        k, v = (t.reshape(b, n + 1, self.heads, -1).transpose(1, 2) for t in (k, v))
        bias = torch.zeros_like(keep, dtype=h.dtype).masked_fill(~keep, torch.finfo(h.dtype).min)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.view(b, 1, 1, n + 1))
        token = token + self.proj(att.transpose(1, 2).reshape(b, 1, d))  # (B, 1, D)
        return token + self.ffn(self.norm_ffn(token))


class ClassAttentionHead(nn.Module):
    """ParT's head: ``blocks`` class-attention blocks, norm, linear: ``(B, N, D)`` -> ``(B, K)``."""

    def __init__(
        self,
        dim: int,
        n_out: int,
        *,
        heads: int = 8,
        blocks: int = 2,
        fc: Sequence[int] = (),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.token, std=0.02)
        self.blocks = nn.ModuleList(
            ClassAttentionBlock(dim, heads, dropout=dropout) for _ in range(blocks)
        )
        self.norm = nn.LayerNorm(dim)
        self.fc = _mlp(dim, fc, n_out, dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        token = self.token.expand(h.shape[0], -1, -1)  # (B, 1, D)
        for block in self.blocks:
            token = block(token, h, mask)
        return self.fc(self.norm(token[:, 0]))  # (B, K)

"""A ParT-style transformer encoder with a pairwise-feature attention bias.

Qu, Li, Qian, "Particle Transformer for Jet Tagging", ICML 2022, arXiv:2202.03772; the
point-cloud transformer of seed 002 is the same encoder without the bias.

Data flow, for ``x`` ``(B, N, F)``, a real-point ``mask`` ``(B, N)`` and the raw point
energy ``energy`` ``(B, N)`` in GeV::

    x ─ embedding MLP ─ (B, N, D) ─ [pre-norm block] x depth ─ norm ─ segmentation MLP
    pairwise features U (B, N, N, 6) ─ pair MLP ─ (B, H, N, N) bias, added to every block's
    attention logits (ParT's "interaction" matrix, shared by all blocks)

A pre-norm block is ``h + MHA(norm(h))`` then ``h + FFN(norm(h))``; keys of padded points
get a logit of ``-max`` (key padding mask), so padding never influences a real point.
There is no positional encoding: the encoder is permutation equivariant.

The pairwise features of points ``i, j`` (``pair_bias: true``; features ``x, y, z`` and
``layer`` must be among the inputs, scaled or not): ``ln(Delta-R + 1e-3)``,
``ln(d_3D + 1e-3)`` (in the scaled unit of ``x, y, z``), ``ln E_i``, ``ln E_j`` (energies
clamped at 1 MeV), ``ln(min(E_i, E_j) / (E_i + E_j))`` and the same-layer flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from jetpointnet.models.geometry import eta_phi_vectors, pairwise_delta_r, require_columns
from jetpointnet.models.knn import pairwise_sq_dist
from jetpointnet.models.layers import Norm, SharedMLP, apply_norm, make_norm

__all__ = ["N_PAIR_FEATURES", "PairFeatures", "Transformer", "TransformerConfig"]

N_PAIR_FEATURES = 6


@dataclass
class TransformerConfig:
    """Options of :class:`Transformer` (defaults: a small ParT, 4 blocks of width 64)."""

    embed: list[int] = field(default_factory=lambda: [64, 64])
    dim: int = 64
    heads: int = 4
    depth: int = 4
    ffn_ratio: int = 4
    pair_bias: bool = True
    pair_mlp: list[int] = field(default_factory=lambda: [32, 32])
    seg_mlp: list[int] = field(default_factory=lambda: [64])
    dropout: float = 0.0
    norm: Norm = "layer"


class PairFeatures(nn.Module):
    """The 6 pairwise features ``(B, N, N, 6)`` from ``x`` and the raw energies (no weights)."""

    def __init__(self, columns: Sequence[int]) -> None:
        super().__init__()
        self.ix, self.iy, self.iz, self.il = columns

    def forward(self, x: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        px, py, pz, layer = x[..., self.ix], x[..., self.iy], x[..., self.iz], x[..., self.il]
        dr = pairwise_delta_r(*eta_phi_vectors(px, py, pz))  # (B, N, N)
        d3 = torch.sqrt(pairwise_sq_dist(torch.stack([px, py, pz], dim=-1)))  # (B, N, N)
        e = energy.clamp(min=1e-3)
        ei, ej = e.unsqueeze(2).expand_as(dr), e.unsqueeze(1).expand_as(dr)  # (B, N, N)
        ratio = torch.minimum(ei, ej) / (ei + ej)
        same = (layer.unsqueeze(2) == layer.unsqueeze(1)).to(x.dtype)  # (B, N, N)
        feats = [torch.log(dr + 1e-3), torch.log(d3 + 1e-3), ei.log(), ej.log(), ratio.log(), same]
        return torch.stack(feats, dim=-1)  # (B, N, N, 6)


class Block(nn.Module):
    """Pre-norm multi-head self-attention with an additive bias, then a pre-norm FFN."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.heads = cfg.heads
        self.norm1 = make_norm(d, cfg.norm)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = make_norm(d, cfg.norm)
        self.ffn = nn.Sequential(
            nn.Linear(d, cfg.ffn_ratio * d),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.ffn_ratio * d, d),
        )
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        q, k, v = self.qkv(apply_norm(self.norm1, h, mask)).chunk(3, dim=-1)  # (B, N, D) each
        shape = (b, n, self.heads, d // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))  # (B, H, N, D/H)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        att = att.transpose(1, 2).reshape(b, n, d)  # (B, N, D)
        h = h + self.dropout(self.proj(att))
        return h + self.dropout(self.ffn(apply_norm(self.norm2, h, mask)))


class Transformer(nn.Module):
    """Per-point features: ``forward(x, mask, energy)`` -> ``((B, N, C), zero aux loss)``.

    ``feature_names`` (the columns of ``x``) must contain ``x, y, z, layer`` when
    ``pair_bias`` is on.
    """

    inputs = ("energy",)

    def __init__(
        self,
        in_features: int,
        cfg: TransformerConfig | None = None,
        *,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        cfg = cfg or TransformerConfig()
        if cfg.dim % cfg.heads:
            raise ValueError(f"transformer: dim {cfg.dim} is not a multiple of heads {cfg.heads}")
        self.cfg = cfg
        self.embed = SharedMLP(in_features, [*cfg.embed, cfg.dim], norm=cfg.norm)
        self.pairs: PairFeatures | None = None
        self.pair_mlp: SharedMLP | None = None
        self.pair_out: nn.Linear | None = None
        if cfg.pair_bias:
            cols = require_columns(
                feature_names, ["x", "y", "z", "layer"], model="transformer", why="pair_bias"
            )
            self.pairs = PairFeatures(cols)
            self.pair_mlp = SharedMLP(N_PAIR_FEATURES, cfg.pair_mlp, norm="none")
            self.pair_out = nn.Linear(self.pair_mlp.out_channels, cfg.heads)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.final_norm = make_norm(cfg.dim, cfg.norm)
        self.seg_mlp = SharedMLP(cfg.dim, cfg.seg_mlp, norm=cfg.norm, dropout=cfg.dropout)
        self.out_channels = self.seg_mlp.out_channels

    def _bias(self, x: torch.Tensor, mask: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """Additive attention logits ``(B, H, N, N)``: pair bias, ``-max`` on padded keys."""
        b, n = mask.shape
        if self.pairs is not None and self.pair_mlp is not None and self.pair_out is not None:
            u = self.pairs(x, energy)  # (B, N, N, 6)
            bias = self.pair_out(self.pair_mlp(u)).permute(0, 3, 1, 2)  # (B, H, N, N)
        else:
            bias = x.new_zeros(b, self.cfg.heads, n, n)
        keys = mask.view(b, 1, 1, n)  # (B, 1, 1, N)
        return bias.masked_fill(~keys, torch.finfo(bias.dtype).min)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, *, energy: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        bias = self._bias(x, mask, energy)
        h = self.embed(x, mask)  # (B, N, D)
        for block in self.blocks:
            h = block(h, mask, bias)
        feats = self.seg_mlp(apply_norm(self.final_norm, h, mask), mask)  # (B, N, C)
        return feats, x.new_zeros(())

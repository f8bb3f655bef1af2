"""Particle Transformer (ParT): particle attention with Lorentz pair features, class attention.

Qu, Li, Qian, "Particle Transformer for Jet Tagging", ICML 2022, arXiv:2202.03772; pair
features after LundNet (Dreyer, Qu, arXiv:2012.08526).

Data flow, for constituent features ``x`` ``(B, N, F)``, a real-constituent ``mask``
``(B, N)`` and four-momenta ``p4`` ``(B, N, 4)`` = ``(px, py, pz, E)`` in GeV::

    x ─ masked batch norm ─ embedding MLP ─ (B, N, D)
    p4 ─ pair features U (B, N, N, 4) ─ pair MLP ─ (B, H, N, N) attention bias
    [particle-attention block (P-MHA with the bias) ─ FFN] x depth ─ (B, N, D)
    class token ─ [class-attention block] x 2 ─ norm ─ linear ─ logits (B, K)

The pair features of constituents ``a, b`` are ``ln kT``, ``ln z``, ``ln Delta``,
``ln m^2`` with ``Delta = sqrt(dy^2 + dphi^2)`` (rapidity, azimuth),
``kT = min(pT_a, pT_b) Delta``, ``z = min(pT_a, pT_b) / (pT_a + pT_b)`` and
``m^2 = (E_a + E_b)^2 - |p_a + p_b|^2`` (GeV^2), each clamped away from 0 before the log
and set to 0 on pairs that involve padding. Padded keys get a logit of ``-max`` in every
block, so padding never changes a jet's output; there is no positional encoding, so the
output does not depend on the order of the constituents. The particle-attention block
is :class:`jetpointnet.models.transformer.Block` (pre-norm, additive bias); the class
head is :class:`jetpointnet.models.cloud_heads.ClassAttentionHead`. Paper widths: embed
(128, 512, 128), D = 128, 8 heads, 8 blocks, pair MLP (64, 64, 64), 2 class blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.cloud_heads import ClassAttentionHead
from jetpointnet.models.layers import MaskedBatchNorm
from jetpointnet.models.transformer import Block, TransformerConfig

__all__ = ["N_LORENTZ_PAIRS", "ParT", "ParTConfig", "lorentz_pair_features"]

N_LORENTZ_PAIRS = 4
_EPS = 1e-8


@dataclass
class ParTConfig:
    """Options of :class:`ParT` (defaults: the paper's widths)."""

    embed: list[int] = field(default_factory=lambda: [128, 512])
    dim: int = 128
    heads: int = 8
    depth: int = 8
    class_blocks: int = 2
    ffn_ratio: int = 4
    pair_mlp: list[int] = field(default_factory=lambda: [64, 64, 64])
    fc: list[int] = field(default_factory=list)
    dropout: float = 0.1
    input_norm: bool = True


def lorentz_pair_features(p4: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ParT's 4 pair features ``(B, N, N, 4)``: ln kT, ln z, ln Delta, ln m^2 (GeV units).

    Written with ONNX-exportable operators: the azimuth difference is
    ``2 asin(|u_a - u_b| / 2)`` for the transverse unit vectors ``u`` (no ``atan2``).
    """
    px, py, pz, e = p4.unbind(-1)  # (B, N) each
    pt = torch.sqrt(px * px + py * py).clamp(min=_EPS)  # (B, N)
    rap = 0.5 * torch.log((e + pz).clamp(min=_EPS) / (e - pz).clamp(min=_EPS))  # (B, N)
    ux, uy = px / pt, py / pt
    chord = torch.sqrt(
        (ux.unsqueeze(2) - ux.unsqueeze(1)) ** 2 + (uy.unsqueeze(2) - uy.unsqueeze(1)) ** 2
    )
    dphi = 2 * torch.asin((0.5 * chord).clamp(max=1.0))  # (B, N, N)
    dy = rap.unsqueeze(2) - rap.unsqueeze(1)  # (B, N, N)
    delta = torch.sqrt(dy * dy + dphi * dphi)  # (B, N, N)
    pt_min = torch.minimum(pt.unsqueeze(2), pt.unsqueeze(1))  # (B, N, N)
    kt = pt_min * delta
    z = pt_min / (pt.unsqueeze(2) + pt.unsqueeze(1))
    psum = p4.unsqueeze(2) + p4.unsqueeze(1)  # (B, N, N, 4)
    m2 = psum[..., 3] ** 2 - (psum[..., :3] ** 2).sum(-1)  # (B, N, N)
    feats = torch.stack(
        [kt.clamp(min=_EPS).log(), z.clamp(min=_EPS).log(), delta.clamp(min=_EPS).log(),
         m2.clamp(min=_EPS).log()],
        dim=-1,
    )  # fmt: skip  # (B, N, N, 4)
    pair = (mask.unsqueeze(2) & mask.unsqueeze(1)).unsqueeze(-1)  # (B, N, N, 1)
    return torch.where(pair, feats, torch.zeros_like(feats))


def _mlp(c_in: int, widths: list[int], *, norm: bool) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for c in widths:
        layers += [nn.Linear(c_in, c), *([nn.LayerNorm(c)] if norm else []), nn.GELU()]
        c_in = c
    return nn.Sequential(*layers), c_in


class ParT(nn.Module):
    """Jet logits: ``forward(x, mask, p4)`` -> ``(B, n_classes)``."""

    inputs: tuple[str, ...] = ("p4",)

    def __init__(self, in_features: int, n_classes: int, cfg: ParTConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or ParTConfig()
        if cfg.dim % cfg.heads:
            raise ValueError(f"part: dim {cfg.dim} is not a multiple of heads {cfg.heads}")
        self.cfg = cfg
        self.input_norm = MaskedBatchNorm(in_features) if cfg.input_norm else None
        embed, c = _mlp(in_features, cfg.embed, norm=True)
        self.embed = nn.Sequential(embed, nn.Linear(c, cfg.dim))
        pair, c = _mlp(N_LORENTZ_PAIRS, cfg.pair_mlp, norm=False)
        self.pair_embed = nn.Sequential(pair, nn.Linear(c, cfg.heads))
        block_cfg = TransformerConfig(
            dim=cfg.dim, heads=cfg.heads, ffn_ratio=cfg.ffn_ratio, dropout=cfg.dropout, norm="layer"
        )
        self.blocks = nn.ModuleList(Block(block_cfg) for _ in range(cfg.depth))
        self.head = ClassAttentionHead(
            cfg.dim,
            n_classes,
            heads=cfg.heads,
            blocks=cfg.class_blocks,
            fc=cfg.fc,
            dropout=cfg.dropout,
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, p4: torch.Tensor) -> torch.Tensor:
        b, n = mask.shape
        u = lorentz_pair_features(p4.float(), mask)  # (B, N, N, 4)
        bias = self.pair_embed(u.to(x.dtype)).permute(0, 3, 1, 2)  # (B, H, N, N)
        bias = bias.masked_fill(~mask.view(b, 1, 1, n), torch.finfo(bias.dtype).min)
        h = self.input_norm(x, mask) if self.input_norm is not None else x  # (B, N, F)
        h = self.embed(h * mask.unsqueeze(-1).to(h.dtype))  # (B, N, D)
        for block in self.blocks:
            h = block(h, mask, bias)  # (B, N, D)
        return self.head(h, mask)  # (B, K)

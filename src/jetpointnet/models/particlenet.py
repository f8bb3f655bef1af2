"""ParticleNet: a jet tagger on the particle cloud, built from EdgeConv blocks.

Qu, Gouskos, "ParticleNet: Jet Tagging via Particle Clouds", Phys. Rev. D 101 (2020)
056019, arXiv:1902.08570 (EdgeConv: Wang et al., arXiv:1801.07829).

Data flow, for constituent features ``x`` ``(B, N, F)`` and a real-constituent ``mask``
``(B, N)``::

    x ─ masked batch norm ─ EdgeConv (kNN in (d_eta, d_phi)) ─ EdgeConv (kNN in features)
      ─ EdgeConv (kNN in features) ─ masked mean over constituents ─ FC 256 ─ dropout ─ FC K

The EdgeConv block is :class:`jetpointnet.models.edgeconv.EdgeConvBlock` (edge features
``[h_i, h_j - h_i]``, shared MLP, mean over the valid neighbours, linear shortcut); its
neighbours are real constituents only, so padding never changes a jet's output, and
every operation is symmetric in the constituents (the output does not depend on their
order). The paper's configuration is the default: k = 16, blocks (64, 64, 64),
(128, 128, 128), (256, 256, 256), FC 256 with dropout 0.1.

``forward(x, mask)`` -> logits ``(B, K)``; the coordinate columns of the first kNN
(``coords``, default ``d_eta, d_phi``) are found by name in the input features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.cloud_heads import PoolingHead
from jetpointnet.models.edgeconv import EdgeConvBlock
from jetpointnet.models.geometry import require_columns
from jetpointnet.models.knn import knn, pairwise_sq_dist
from jetpointnet.models.layers import MaskedBatchNorm

__all__ = ["ParticleNet", "ParticleNetConfig"]


@dataclass
class ParticleNetConfig:
    """Options of :class:`ParticleNet` (defaults: the paper's ParticleNet)."""

    k: int = 16
    coords: list[str] = field(default_factory=lambda: ["d_eta", "d_phi"])
    blocks: list[list[int]] = field(
        default_factory=lambda: [[64, 64, 64], [128, 128, 128], [256, 256, 256]]
    )
    fc: list[int] = field(default_factory=lambda: [256])
    dropout: float = 0.1
    pool: str = "mean"
    input_norm: bool = True


class ParticleNet(nn.Module):
    """Jet logits from constituents: ``forward(x, mask)`` -> ``(B, n_classes)``."""

    inputs: tuple[str, ...] = ()

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cfg: ParticleNetConfig | None = None,
        *,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        cfg = cfg or ParticleNetConfig()
        if cfg.k < 1 or not cfg.blocks:
            raise ValueError("ParticleNetConfig needs k >= 1 and at least one block")
        self.cfg = cfg
        self.coords = require_columns(
            feature_names, cfg.coords, model="particlenet", why="the first block's kNN"
        )
        self.input_norm = MaskedBatchNorm(in_features) if cfg.input_norm else None
        blocks = []
        c = in_features
        for widths in cfg.blocks:
            blocks.append(EdgeConvBlock(c, widths, norm="batch"))
            c = blocks[-1].out_channels
        self.blocks = nn.ModuleList(blocks)
        self.head = PoolingHead(c, n_classes, widths=cfg.fc, dropout=cfg.dropout, pool=cfg.pool)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        coords = x[..., self.coords]  # (B, N, 2): raw d_eta, d_phi
        with torch.no_grad():
            idx, valid = knn(pairwise_sq_dist(coords), mask, self.cfg.k)  # (B, N, k)
        h = self.input_norm(x, mask) if self.input_norm is not None else x  # (B, N, F)
        h = h * mask.unsqueeze(-1).to(h.dtype)
        for i, block in enumerate(self.blocks):
            if i > 0:  # the dynamic graph: neighbours in the previous block's features
                with torch.no_grad():
                    idx, valid = knn(pairwise_sq_dist(h), mask, self.cfg.k)
            h = block(h, mask, idx, valid)  # (B, N, C_i)
        return self.head(h, mask)  # (B, K)

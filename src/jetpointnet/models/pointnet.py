"""PointNet segmentation body, as JetPointNet uses it (seed 000), with its flaws fixed.

Qi, Su, Mo, Guibas, "PointNet: Deep Learning on Point Sets for 3D Classification and
Segmentation", CVPR 2017, arXiv:1612.00593; JetPointNet's adaptation to calorimeter
cells and tracks is described in seed 000 (``models/JetPointNet.py`` there).

Data flow, for ``x`` of shape ``(B, N, F)`` and a real-point ``mask`` ``(B, N)``::

    x ─ input T-Net (F x F) ─ point MLP ─ local features ───────────────┐
                                   └ feature T-Net (k x k) ─ global MLP ─ max pool ─ global
    [local, global] per point ─ segmentation MLP ─ (B, N, C) to a task head

Differences from JetPointNet, all deliberate:

- padding is masked out of every max pool (T-Nets and global feature) and out of the
  batch-norm statistics (``norm="batch"``), so real points never see padding;
- the T-Net's last layer is a plain linear map initialised to the identity (JetPointNet
  put batch norm and ReLU on the transform itself);
- the orthogonality regulariser is the paper's ``||I - A A^T||_F^2`` on the predicted
  feature transform (JetPointNet penalised a scrambled reshaping of a weight matrix).

As in JetPointNet, the local features concatenated to the global one are those of the
point MLP before the feature transform. Widths are configuration: the small CPU preset,
the 5.1 M-parameter final JetPointNet and the 85.9 M-parameter report model all come
from this class (``configs/train/*.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.layers import Norm, SharedMLP, masked_max_pool

__all__ = ["PointNet", "PointNetConfig", "TNet", "orthogonal_loss"]


@dataclass
class PointNetConfig:
    """Widths and options of :class:`PointNet` (defaults: the seed's 5.1 M-parameter model)."""

    input_transform: bool = True
    feature_transform: bool = True
    tnet_mlp: list[int] = field(default_factory=lambda: [64, 128, 1024])
    tnet_fc: list[int] = field(default_factory=lambda: [512, 256])
    point_mlp: list[int] = field(default_factory=lambda: [96, 96])
    global_mlp: list[int] = field(default_factory=lambda: [128, 256, 1024])
    seg_mlp: list[int] = field(default_factory=lambda: [512, 256, 128])
    dropout: float = 0.3
    norm: Norm = "batch"


def orthogonal_loss(transform: torch.Tensor) -> torch.Tensor:
    """``||I - A A^T||_F^2`` averaged over the batch, for ``A`` of shape ``(B, k, k)``.

    Zero exactly when every ``A`` is orthogonal (PointNet paper, eq. 2).
    """
    k = transform.shape[-1]
    eye = torch.eye(k, dtype=transform.dtype, device=transform.device)
    gram = torch.bmm(transform, transform.transpose(1, 2))  # (B, k, k)
    return ((eye - gram) ** 2).sum(dim=(1, 2)).mean()


class TNet(nn.Module):
    """Predicts a ``(k, k)`` transform per sample from its real points (identity at start)."""

    def __init__(self, k: int, cfg: PointNetConfig) -> None:
        super().__init__()
        self.k = k
        self.mlp = SharedMLP(k, cfg.tnet_mlp, norm=cfg.norm)
        self.fc = SharedMLP(self.mlp.out_channels, cfg.tnet_fc, norm=cfg.norm)
        self.out = nn.Linear(self.fc.out_channels, k * k)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.copy_(torch.eye(k).flatten())

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.mlp(x, mask)  # (B, N, C)
        g = masked_max_pool(h, mask)  # (B, C)
        g = self.fc(g)  # (B, C')
        return self.out(g).view(-1, self.k, self.k)  # (B, k, k)


class PointNet(nn.Module):
    """Per-point features from a padded point cloud: ``(B, N, F)`` -> ``(B, N, C)``.

    ``forward`` returns the features and the orthogonality regulariser of the feature
    transform (zero when that transform is disabled); padded rows of the features are
    unspecified and must be masked by the caller.
    """

    def __init__(self, in_features: int, cfg: PointNetConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or PointNetConfig()
        self.cfg = cfg
        self.input_tnet = TNet(in_features, cfg) if cfg.input_transform else None
        self.point_mlp = SharedMLP(in_features, cfg.point_mlp, norm=cfg.norm)
        k = self.point_mlp.out_channels
        self.feature_tnet = TNet(k, cfg) if cfg.feature_transform else None
        self.global_mlp = SharedMLP(k, cfg.global_mlp, norm=cfg.norm)
        seg_in = k + self.global_mlp.out_channels
        self.seg_mlp = SharedMLP(seg_in, cfg.seg_mlp, norm=cfg.norm, dropout=cfg.dropout)
        self.out_channels = self.seg_mlp.out_channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.input_tnet is not None:
            x = torch.bmm(x, self.input_tnet(x, mask))  # (B, N, F)
        local = self.point_mlp(x, mask)  # (B, N, k)
        h = local
        reg = local.new_zeros(())
        if self.feature_tnet is not None:
            a = self.feature_tnet(local, mask)  # (B, k, k)
            h = torch.bmm(local, a)  # (B, N, k)
            reg = orthogonal_loss(a)
        h = self.global_mlp(h, mask)  # (B, N, G)
        g = masked_max_pool(h, mask)  # (B, G)
        g = g.unsqueeze(1).expand(-1, x.shape[1], -1)  # (B, N, G)
        feats = self.seg_mlp(torch.cat([local, g], dim=-1), mask)  # (B, N, C)
        return feats, reg

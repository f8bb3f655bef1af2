"""An image CNN: points voxelised on an eta x phi grid per layer group, a 3-D CNN, back to points.

Seed 003's image approach (Bauckhage, Meloni, DESY FH-SciComp 2024: 15 x 15 eta x phi
histograms per layer, a 3-D CNN; after the calorimeter-image CNNs of de Oliveira et al.,
"Jet-images - deep learning edition", JHEP 07 (2016) 069, arXiv:1511.05190), turned into
a per-point segmentation model.

Data flow, for ``x`` ``(B, N, F)``, a real-point ``mask`` ``(B, N)`` and the stage-2
arrays ``d_eta``, ``d_phi`` (radians, relative to the focused track's reference point)
and ``sampling`` (CaloSampling number), all ``(B, N)``::

    x ─ point MLP ─ (B, N, E) ─ sum into voxels ─ (B, E, G, S, S) ─ Conv3d stack ─┐
    voxel of each point: group g(sampling), floor(d_eta / cell_eta[g]) + S // 2, ... │
    (B, C, G, S, S) ─ gather at each point's voxel ─ [voxel, global max] ─ seg MLP ─┘

``G`` layer groups (default: presampler, EM1, EM2, EM3, three hadronic depths), each an
``S x S`` grid (default 15 x 15, seed 003) centred on the track with its own cell size
(default near the granularity of the group's layers, coarsened so that 15 cells span the
default Delta-R < 0.2 cone). The convolutions run over (group, eta, phi), so adjacent
groups in depth see each other as seed 003's 3-D CNN does.

What the projection loses: points sharing a voxel get identical features, so the same
predicted fraction (the energy head still multiplies by each cell's own energy); cells
finer than the voxel (EM1 strips: 8 share a 0.025 voxel in eta) and layers merged in a
group (barrel and endcap, Tile and HEC) are no longer told apart except through the
summed point embeddings; the exact position within a voxel is gone; points outside the
grid are clamped into its border voxels (they share those), and samplings in no group
(FCAL by default) get only the global feature. Track points are voxelised too (their
``type`` feature marks them). The grid is centred on the reference point, not on the
track's intersection with each layer, so a curling low-pT track sits off centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.layers import Norm, SharedMLP

__all__ = ["CNN", "CNNConfig"]

#: Default layer groups (CaloSampling numbers): PS, EM1, EM2, EM3, hadronic 1, 2, 3.
_GROUPS = [[0, 4], [1, 5], [2, 6], [3, 7], [8, 12, 15, 18], [9, 13, 16, 19], [10, 11, 14, 17, 20]]
_CELL_ETA = [0.025, 0.025, 0.025, 0.05, 0.1, 0.1, 0.1]
_CELL_PHI = [0.1, 0.1, 0.025, 0.025, 0.1, 0.1, 0.1]
_N_SAMPLINGS = 64


@dataclass
class CNNConfig:
    """Options of :class:`CNN` (cell sizes in eta and radians, one per group)."""

    groups: list[list[int]] = field(default_factory=lambda: [list(g) for g in _GROUPS])
    cell_eta: list[float] = field(default_factory=lambda: list(_CELL_ETA))
    cell_phi: list[float] = field(default_factory=lambda: list(_CELL_PHI))
    grid: int = 15
    embed: list[int] = field(default_factory=lambda: [32])
    channels: list[int] = field(default_factory=lambda: [32, 32, 32])
    kernel: int = 3
    seg_mlp: list[int] = field(default_factory=lambda: [64])
    dropout: float = 0.0
    norm: Norm = "batch"


def _norm3d(channels: int, norm: Norm) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm3d(channels)
    if norm == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, G, S, S)
    return nn.Identity()


class CNN(nn.Module):
    """Per-point features from voxel images: ``forward(x, mask, *, d_eta, d_phi, sampling)``.

    Returns ``(B, N, C)`` features and a zero auxiliary loss.
    """

    inputs = ("d_eta", "d_phi", "sampling")
    group_of: torch.Tensor  # buffers (registered in __init__)
    cell_eta: torch.Tensor
    cell_phi: torch.Tensor

    def __init__(self, in_features: int, cfg: CNNConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or CNNConfig()
        n_groups = len(cfg.groups)
        if not n_groups or not (len(cfg.cell_eta) == len(cfg.cell_phi) == n_groups):
            raise ValueError("cnn: groups, cell_eta and cell_phi need one entry per group")
        if cfg.grid < 1 or cfg.kernel % 2 != 1 or min(*cfg.cell_eta, *cfg.cell_phi) <= 0:
            raise ValueError("cnn: grid >= 1, an odd kernel and positive cell sizes are needed")
        self.cfg = cfg
        lut = torch.full((_N_SAMPLINGS,), -1, dtype=torch.long)
        for g, samplings in enumerate(cfg.groups):
            for s in samplings:
                lut[s] = g
        self.register_buffer("group_of", lut, persistent=False)
        self.register_buffer("cell_eta", torch.tensor(cfg.cell_eta), persistent=False)
        self.register_buffer("cell_phi", torch.tensor(cfg.cell_phi), persistent=False)
        self.embed = SharedMLP(in_features, cfg.embed, norm=cfg.norm)
        layers: list[nn.Module] = []
        c = self.embed.out_channels
        for width in cfg.channels:
            layers += [
                nn.Conv3d(c, width, cfg.kernel, padding=cfg.kernel // 2, bias=cfg.norm == "none"),
                _norm3d(width, cfg.norm),
                nn.ReLU(),
            ]
            c = width
        self.conv = nn.Sequential(*layers)
        self.conv_channels = c
        self.seg_mlp = SharedMLP(2 * c, cfg.seg_mlp, norm=cfg.norm, dropout=cfg.dropout)
        self.out_channels = self.seg_mlp.out_channels

    def voxel_index(
        self, mask: torch.Tensor, d_eta: torch.Tensor, d_phi: torch.Tensor, sampling: torch.Tensor
    ) -> torch.Tensor:
        """Flat voxel index ``(B, N)`` into ``B * G * S * S`` voxels; that number for none."""
        b = mask.shape[0]
        n_groups, s = len(self.cfg.groups), self.cfg.grid
        group = self.group_of[sampling.clamp(0, _N_SAMPLINGS - 1)]  # (B, N)
        ok = mask & (group >= 0) & (sampling >= 0)
        g = group.clamp(min=0)
        ie = torch.floor(d_eta / self.cell_eta[g] + s / 2).clamp(0, s - 1).long()  # (B, N)
        ip = torch.floor(d_phi / self.cell_phi[g] + s / 2).clamp(0, s - 1).long()
        base = torch.arange(b, device=mask.device).view(b, 1) * n_groups  # (B, 1)
        flat = ((base + g) * s + ie) * s + ip  # (B, N)
        return torch.where(ok, flat, torch.full_like(flat, b * n_groups * s * s))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        *,
        d_eta: torch.Tensor,
        d_phi: torch.Tensor,
        sampling: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, n = mask.shape
        n_groups, s = len(self.cfg.groups), self.cfg.grid
        idx = self.voxel_index(mask, d_eta, d_phi, sampling).reshape(-1)  # (B*N,)
        emb = self.embed(x, mask)  # (B, N, E)
        e = emb.shape[-1]
        emb = emb * mask.unsqueeze(-1).to(emb.dtype)
        n_vox = b * n_groups * s * s
        vox = emb.new_zeros(n_vox + 1, e)  # the last row collects points without a voxel
        vox = vox.scatter_add(0, idx.unsqueeze(-1).expand(-1, e), emb.reshape(-1, e))
        img = vox[:n_vox].view(b, n_groups, s, s, e).permute(0, 4, 1, 2, 3)  # (B, E, G, S, S)
        out = self.conv(img.contiguous())  # (B, C, G, S, S)
        c = out.shape[1]
        flat = out.permute(0, 2, 3, 4, 1).reshape(n_vox, c)  # (B*G*S*S, C)
        flat = torch.cat([flat, flat.new_zeros(1, c)], dim=0)  # no voxel: zeros
        per_point = flat[idx].view(b, n, c)  # (B, N, C)
        glob = out.amax(dim=(2, 3, 4)).unsqueeze(1).expand(-1, n, -1)  # (B, N, C)
        feats = self.seg_mlp(torch.cat([per_point, glob], dim=-1), mask)  # (B, N, C')
        return feats, x.new_zeros(())

"""Seed 003's image CNN as a per-object tagger: a 3-D CNN on eta x phi x layer images.

Bauckhage, Meloni, "CNNs and GNNs for tagging anomalous showers with ATLAS", DESY
FH-SciComp workshop 2024 (seed 003), whose Keras model is reproduced layer by layer
(after the dark-photon CNN tagger of ATLAS, arXiv:2206.12181). Its table: 484,401
trainable parameters.

Data flow, for the object's image ``image`` ``(B, D, H, W)`` (D = 12 layers, H x W =
15 x 15 pixels in eta x phi; cell energies over the object's total, per pixel)::

    image ─ permute ─ (B, 1, H, W, D) ─ Conv3d 60 (3x3x3, same) ─ ReLU
      ─ Conv3d 60 (3x3x3, same) ─ ReLU ─ MaxPool (2, 2, 1) ─ (B, 60, 7, 7, D)
      ─ Conv3d 60 (3x3x3, same) ─ ReLU ─ MaxPool (3, 3, 1) ─ (B, 60, 2, 2, D)
      ─ flatten (B, 2880) ─ Linear 100 ─ ReLU ─ Linear K ─ logits (B, K)

Parameters with one output: 1,680 + 97,260 + 97,260 + 288,100 + 101 = 484,401.
``batch_norm`` (default false: the seed's finding, batch norm stopped validation
improving) puts a ``BatchNorm3d`` after each convolution, before its ReLU (+360).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["ALPCNN", "ALPCNNConfig"]


@dataclass
class ALPCNNConfig:
    """Options of :class:`ALPCNN` (defaults: seed 003's model)."""

    filters: list[int] = field(default_factory=lambda: [60, 60, 60])
    kernel: int = 3
    pools: list[list[int]] = field(default_factory=lambda: [[1, 1, 1], [2, 2, 1], [3, 3, 1]])
    dense: list[int] = field(default_factory=lambda: [100])
    batch_norm: bool = False
    dropout: float = 0.0
    image_shape: list[int] | None = None


class ALPCNN(nn.Module):
    """Object logits from its image: ``forward(image)`` -> ``(B, n_outputs)``.

    ``cfg.image_shape``: ``[D, H, W]`` of one object's image (layers, eta, phi pixels;
    filled from the data by the photon kind). ``pools[i]`` is the max-pooling window after convolution ``i`` over (eta, phi,
    layer); ``[1, 1, 1]`` is none.
    """

    inputs: tuple[str, ...] = ("image",)
    reads_cloud = False

    def __init__(self, n_outputs: int, cfg: ALPCNNConfig) -> None:
        super().__init__()
        image_shape = cfg.image_shape or []
        if len(image_shape) != 3:
            raise ValueError(f"alp_cnn: image shape must be (layers, eta, phi), not {image_shape}")
        if len(cfg.pools) != len(cfg.filters) or any(len(p) != 3 for p in cfg.pools):
            raise ValueError("alp_cnn: 'pools' needs one [eta, phi, layer] window per filter")
        if cfg.kernel % 2 != 1:
            raise ValueError(f"alp_cnn: kernel must be odd ('same' padding), not {cfg.kernel}")
        self.cfg = cfg
        depth, h, w = (int(s) for s in image_shape)
        layers: list[nn.Module] = []
        c_in, size = 1, [h, w, depth]
        for c, pool in zip(cfg.filters, cfg.pools, strict=True):
            layers.append(nn.Conv3d(c_in, c, cfg.kernel, padding=cfg.kernel // 2))
            if cfg.batch_norm:
                layers.append(nn.BatchNorm3d(c))
            layers.append(nn.ReLU())
            if tuple(pool) != (1, 1, 1):
                layers.append(nn.MaxPool3d(tuple(pool)))
                size = [s // p for s, p in zip(size, pool, strict=True)]
            c_in = c
        if min(size) < 1:
            raise ValueError(f"alp_cnn: pooling shrinks the {image_shape} image to nothing")
        self.features = nn.Sequential(*layers)
        dense: list[nn.Module] = [nn.Flatten()]
        width = c_in * size[0] * size[1] * size[2]
        for d in cfg.dense:
            dense += [nn.Linear(width, d), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = d
        dense.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*dense)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 2, 3, 1).unsqueeze(1)  # (B, 1, H, W, D): eta, phi, layer
        return self.head(self.features(x))  # (B, K)

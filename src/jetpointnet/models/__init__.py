"""PyTorch networks: every model maps X (B, N, F) and a mask (B, N) to one output per point.

- ``layers``: shared MLPs on (B, N, C), masked batch norm, masked max pool, TSSR;
- ``pointnet``: the PointNet segmentation body of seed 000 (Qi et al. 2017);
- ``edgeconv``: EdgeConv / ParticleNet (Qu & Gouskos 2020) on kNN graphs;
- ``transformer``: a ParT-style encoder with a pairwise attention bias (Qu et al. 2022);
- ``cnn``: eta x phi voxel images per layer group and a 3-D CNN (seed 003's images);
- ``gnn``: gated EdgeConv on the CellGeo neighbour graph + track-to-cell edges (seed 003);
- ``knn``, ``geometry``: plain-PyTorch kNN and eta/phi/Delta-R from named features;
- ``heads``: per-point task heads (energy bypass, logits);
- ``registry``: model name -> config class and builder.
"""

from __future__ import annotations

from jetpointnet.models.heads import HeadSpec
from jetpointnet.models.registry import (
    PointCloudModel,
    build_model,
    count_parameters,
    model_names,
    register_model,
)

__all__ = [
    "HeadSpec",
    "PointCloudModel",
    "build_model",
    "count_parameters",
    "model_names",
    "register_model",
]

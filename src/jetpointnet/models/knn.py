"""k-nearest neighbours on padded point clouds, in plain PyTorch.

Distances are computed densely per sample, ``(B, N, N)``: fine for the few hundred points
of a calorimeter sample (and exportable to ONNX), not meant for 10^4-point clouds.

Padding is never chosen as a neighbour, and a point is not its own neighbour. When a
sample has fewer than ``k + 1`` real points, the missing neighbours are flagged invalid
(``valid`` False) and their index points at the point itself, so that gathers stay in
range and a masked aggregation ignores them. Ties in distance are broken by
``torch.topk``'s order, the one place where the choice can depend on point order.
"""

from __future__ import annotations

import torch

__all__ = ["gather_neighbours", "knn", "pairwise_sq_dist"]


def pairwise_sq_dist(points: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(B, N, N)`` between the points ``(B, N, D)``."""
    sq = (points * points).sum(-1)  # (B, N)
    inner = torch.bmm(points, points.transpose(1, 2))  # (B, N, N)
    return (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * inner).clamp(min=0.0)


def knn(dist: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest real neighbours of every point from a distance matrix.

    ``dist``: ``(B, N, N)`` any non-negative distance; ``mask``: ``(B, N)`` real points.
    Returns ``idx`` ``(B, N, k')`` (int64, indices within the sample) and ``valid``
    ``(B, N, k')`` (bool), with ``k' = min(k, N)``; padded rows get ``valid`` False.
    """
    b, n, _ = dist.shape
    kk = min(k, n)
    ar = torch.arange(n, device=dist.device)
    eye = (ar.view(n, 1) == ar.view(1, n)).unsqueeze(0)  # (1, N, N), no EyeLike for ONNX
    bad = eye | ~mask.unsqueeze(1)  # (B, N, N): self or padded column
    big = torch.finfo(dist.dtype).max
    d = dist.masked_fill(bad, big)
    neg, idx = torch.topk(-d, kk, dim=-1, sorted=True)  # (B, N, k')
    valid = (neg > -big) & mask.unsqueeze(-1)  # (B, N, k')
    self_idx = ar.view(1, n, 1).expand(b, n, kk)
    return torch.where(valid, idx, self_idx), valid


def gather_neighbours(feats: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``feats[b, idx[b, i, j]]``: ``(B, N, C)`` and ``(B, N, k)`` -> ``(B, N, k, C)``."""
    b, n, c = feats.shape
    k = idx.shape[-1]
    base = torch.arange(b, device=feats.device).view(b, 1, 1) * n  # (B, 1, 1)
    flat = (idx + base).reshape(-1)  # (B*N*k,)
    return feats.reshape(b * n, c)[flat].view(b, idx.shape[1], k, c)  # (B, N, k, C)

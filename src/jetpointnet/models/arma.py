"""ARMA graph convolution and seed 003's graph tagger, in plain PyTorch on padded graphs.

Bianchi, Grattarola, Livi, Alippi, "Graph Neural Networks with Convolutional ARMA
Filters", IEEE TPAMI 44 (2022) 3496, arXiv:1901.01343. One ARMA layer is ``K`` parallel
stacks of ``T`` recursive graph-convolutional skip layers, averaged::

    X_k^(1)   = relu(L X W_k^(0) + X V_k^(0) + b_k^(0))
    X_k^(t+1) = relu(L X_k^(t) W_k^(t) + X V_k^(t) + b_k^(t))       t = 1 .. T-1
    out       = mean_k X_k^(T)

with ``L = D^-1/2 A D^-1/2`` the symmetric-normalised adjacency (no self-loops; ``D``
the row sums of ``A``, rows of isolated nodes 0). ``shared_weights`` shares ``W``, ``V``
and ``b`` over ``t >= 1`` (and ``V``, ``b`` with ``t = 0``), the paper's choice.

Graphs come padded, as the contract's photon folders store them: node features
``node_x`` ``(B, M, F)``, ``node_mask`` ``(B, M)``, directed ``edges`` ``(B, E, 2)``
(``[i, j]``: node ``i`` receives from ``j``) and ``edge_mask`` ``(B, E)``. The dense
adjacency ``A`` ``(B, M, M)`` counts each real edge between real nodes once (so padding
never changes a real node), and every operation treats nodes alike, so relabelling the
nodes with their edges permutes the per-node outputs and leaves the pooled ones.

:class:`ARMAGNN`, the seed's GNN (its table: norm BatchNorm, conv1 203 K, conv2 590 K,
conv3 590 K ARMAConv, lin0 65.8 K, lin 257, about 1.5 M)::

    node_x ─ masked BatchNorm (4 features) ─ ARMA 256 ─ ARMA 256 ─ ARMA 256
      ─ mean over real nodes ─ Linear 256 ─ ReLU ─ Linear K ─ logits (B, K)

The seed's counts are those of torch-geometric's ARMAConv with ``K = 3`` stacks: per
layer ``K (F_in F_out + F_out^2 + F_in F_out + F_out)`` = 203,520 (F_in = 4) and
590,592 (F_in = 256). torch-geometric allocates the ``F_out^2`` recurrent weight even
for ``T = 1``, where it is never used; here a weight exists only where it is used, so
the seed's exact count is ``stacks 3, layers 2, shared_weights true`` (every weight
used, one more propagation step), and ``layers 1`` has 6,912 / 393,984 per layer.
With one output the seed-sized model has 1,450,761 parameters. ``batch_norm`` adds a
masked batch norm after every ARMA layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from jetpointnet.models.cloud_heads import masked_mean_pool
from jetpointnet.models.layers import MaskedBatchNorm

__all__ = ["ARMAGNN", "ARMAConv", "ARMAGNNConfig", "dense_adjacency", "normalised_adjacency"]


def dense_adjacency(
    edges: torch.Tensor, edge_mask: torch.Tensor, node_mask: torch.Tensor
) -> torch.Tensor:
    """``A`` ``(B, M, M)``: ``A[b, i, j]`` = number of real edges ``j -> i`` between real nodes."""
    b, m = node_mask.shape
    edges = edges.long().clamp(0, max(m - 1, 0))  # (B, E, 2); padding rows are masked below
    i, j = edges[..., 0], edges[..., 1]  # (B, E)
    real = edge_mask & node_mask.gather(1, i) & node_mask.gather(1, j) & (i != j)
    flat = (torch.arange(b, device=edges.device).unsqueeze(1) * m + i) * m + j  # (B, E)
    adj = torch.zeros(b * m * m, dtype=torch.float32, device=edges.device)
    adj.index_add_(0, flat.reshape(-1), real.reshape(-1).float())
    return adj.view(b, m, m)


def normalised_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 A D^-1/2`` of ``(B, M, M)`` adjacencies (isolated nodes: zero rows)."""
    deg = adj.sum(-1)  # (B, M)
    inv = torch.where(deg > 0, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
    return inv.unsqueeze(-1) * adj * inv.unsqueeze(-2)


class ARMAConv(nn.Module):
    """One ARMA layer: ``forward(x (B, M, F_in), lap (B, M, M), mask)`` -> ``(B, M, F_out)``."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        *,
        stacks: int = 3,
        layers: int = 1,
        shared_weights: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if stacks < 1 or layers < 1:
            raise ValueError(f"ARMAConv needs stacks >= 1 and layers >= 1, not {stacks}, {layers}")
        self.stacks, self.layers, self.shared = stacks, layers, shared_weights
        n_rec = (1 if layers > 1 else 0) if shared_weights else layers - 1
        n_root = 1 if shared_weights else layers
        self.init_weight = nn.Parameter(torch.empty(stacks, c_in, c_out))
        self.weight = nn.Parameter(torch.empty(n_rec, stacks, c_out, c_out))
        self.root_weight = nn.Parameter(torch.empty(n_root, stacks, c_in, c_out))
        self.bias = nn.Parameter(torch.zeros(n_root, stacks, 1, c_out))
        self.dropout = nn.Dropout(dropout)
        for w in (self.init_weight, self.weight, self.root_weight):
            bound = math.sqrt(6.0 / (w.shape[-2] + w.shape[-1]))  # Glorot uniform
            nn.init.uniform_(w, -bound, bound)

    def forward(self, x: torch.Tensor, lap: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(1).unsqueeze(-1).to(x.dtype)  # (B, 1, M, 1)
        x = x.unsqueeze(1)  # (B, 1, M, F_in)
        lap = lap.unsqueeze(1).to(x.dtype)  # (B, 1, M, M)
        h = x
        for t in range(self.layers):
            w = self.init_weight if t == 0 else self.weight[0 if self.shared else t - 1]
            s = 0 if self.shared else t
            h = lap @ (h @ w)  # (B, K, M, F_out)
            h = torch.relu(h + self.dropout(x) @ self.root_weight[s] + self.bias[s]) * keep
        return h.mean(dim=1)  # (B, M, F_out)


@dataclass
class ARMAGNNConfig:
    """Options of :class:`ARMAGNN` (defaults: seed 003's GNN with its exact count)."""

    widths: list[int] = field(default_factory=lambda: [256, 256, 256])
    stacks: int = 3
    layers: int = 2
    shared_weights: bool = True
    dense: list[int] = field(default_factory=lambda: [256])
    input_norm: bool = True
    batch_norm: bool = False
    dropout: float = 0.0
    node_features: int | None = None


class ARMAGNN(nn.Module):
    """Graph logits: ``forward(node_x, node_mask, edges, edge_mask)`` -> ``(B, n_outputs)``.

    ``cfg.node_features``: the columns of ``node_x`` (filled from the data by the photon kind).
    """

    inputs: tuple[str, ...] = ("node_x", "node_mask", "edges", "edge_mask")
    reads_cloud = False

    def __init__(self, n_outputs: int, cfg: ARMAGNNConfig) -> None:
        super().__init__()
        if not cfg.widths:
            raise ValueError("arma_gnn: 'widths' needs at least one ARMA layer")
        if not cfg.node_features or cfg.node_features < 1:
            raise ValueError("arma_gnn: 'node_features' (columns of node_x) is not set")
        node_features = cfg.node_features
        self.cfg = cfg
        self.input_norm = MaskedBatchNorm(node_features) if cfg.input_norm else None
        convs, norms, c = [], [], node_features
        for width in cfg.widths:
            convs.append(ARMAConv(c, width, stacks=cfg.stacks, layers=cfg.layers,
                                  shared_weights=cfg.shared_weights, dropout=cfg.dropout))  # fmt: skip
            norms.append(MaskedBatchNorm(width) if cfg.batch_norm else nn.Identity())
            c = width
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)
        head: list[nn.Module] = []
        for d in cfg.dense:
            head += [nn.Linear(c, d), nn.ReLU(), nn.Dropout(cfg.dropout)]
            c = d
        head.append(nn.Linear(c, n_outputs))
        self.head = nn.Sequential(*head)

    def forward(
        self,
        node_x: torch.Tensor,
        node_mask: torch.Tensor,
        edges: torch.Tensor,
        edge_mask: torch.Tensor,
    ) -> torch.Tensor:
        mask = node_mask.bool()
        lap = normalised_adjacency(dense_adjacency(edges, edge_mask.bool(), mask))  # (B, M, M)
        h = node_x.float()
        h = self.input_norm(h, mask) if self.input_norm is not None else h  # (B, M, F)
        h = h * mask.unsqueeze(-1).to(h.dtype)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = conv(h, lap, mask)  # (B, M, C)
            if isinstance(norm, MaskedBatchNorm):
                h = norm(h, mask) * mask.unsqueeze(-1).to(h.dtype)
        return self.head(masked_mean_pool(h, mask))  # (B, K)

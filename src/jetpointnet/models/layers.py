"""Building blocks for point-cloud models on padded batches.

Every per-point tensor here is ``(B, N, C)``: batch, points, channels, with a boolean
``mask`` of shape ``(B, N)`` that is True on real points. Padding never influences a
real point: shared MLPs act on each point alone, the masked batch norm takes its
statistics over real points only, and the masked max pool ignores padded rows.

Per-point layers are ``nn.Linear`` on the last axis (a kernel-1 convolution, measured
faster than ``nn.Conv1d`` on this layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

__all__ = [
    "TSSR",
    "MaskedBatchNorm",
    "Norm",
    "SharedMLP",
    "apply_norm",
    "make_norm",
    "masked_max_pool",
    "tssr",
]

Norm = Literal["batch", "layer", "none"]


def tssr(x: torch.Tensor, *, a: float = 0.05, b: float = 0.1) -> torch.Tensor:
    """Rectified TSSR activation (seed 000): ``a*x`` below 0, ``x`` on [0, 1), then square root.

    ``b*sqrt(x) - b + 1`` for ``x >= 1``: continuous at 0 and 1 (value 1), slope ``b/2``
    just above 1, so large outputs are soft-bounded. Dimensionless.
    """
    big = b * torch.sqrt(torch.clamp(x, min=1.0)) - b + 1.0
    return torch.where(x < 0, a * x, torch.where(x < 1, x, big))


class TSSR(nn.Module):
    """:func:`tssr` as a module (``a``: slope below 0, ``b``: square-root damping)."""

    def __init__(self, *, a: float = 0.05, b: float = 0.1) -> None:
        super().__init__()
        self.a = a
        self.b = b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tssr(x, a=self.a, b=self.b)

    def extra_repr(self) -> str:
        return f"a={self.a}, b={self.b}"


def masked_max_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over real points: ``(B, N, C)``, ``(B, N)`` -> ``(B, C)``.

    Padded rows are set to -inf before the max; a sample without any real point gets
    zeros (not -inf), so nothing downstream turns into NaN.
    """
    neg = torch.finfo(x.dtype).min
    filled = x.masked_fill(~mask.unsqueeze(-1), neg)  # (B, N, C)
    pooled = filled.amax(dim=1)  # (B, C)
    has_points = mask.any(dim=1, keepdim=True)  # (B, 1)
    return torch.where(has_points, pooled, torch.zeros_like(pooled))


class MaskedBatchNorm(nn.Module):
    """Batch norm over the last axis whose statistics come from real points only.

    Accepts ``(B, N, C)`` with a ``(B, N)`` mask, or ``(B, C)`` without one. In training
    mode the batch mean and (biased) variance over the selected rows normalise the input,
    and the running estimates move by ``momentum`` (PyTorch convention: the weight of the
    new batch). In eval mode the running estimates are used, as ``nn.BatchNorm1d``.
    """

    running_mean: torch.Tensor  # buffers (registered in __init__)
    running_var: torch.Tensor

    def __init__(self, channels: int, *, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.training:
            flat = x.reshape(-1, self.channels)  # (M, C), M = B*N
            if mask is None:
                w = torch.ones(1, flat.shape[0], dtype=flat.dtype, device=flat.device)
            else:
                w = mask.reshape(1, -1).to(flat.dtype)  # (1, M)
            n = w.sum().clamp(min=1.0)
            mean = (w @ flat).squeeze(0) / n  # (C,): reductions as GEMMs (fast on CPU and GPU)
            d = flat - mean
            var = (w @ (d * d)).squeeze(0) / n  # (C,) biased
            with torch.no_grad():
                unbiased = var * (n / (n - 1.0).clamp(min=1.0))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        return torch.addcmul(self.bias - mean * scale, x, scale)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, momentum={self.momentum}"


def make_norm(channels: int, norm: Norm) -> nn.Module:
    """The configured per-point normalisation: masked batch norm, layer norm or none."""
    if norm == "batch":
        return MaskedBatchNorm(channels)
    if norm == "layer":
        return nn.LayerNorm(channels)
    return nn.Identity()


def apply_norm(module: nn.Module, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Apply a :func:`make_norm` module; only the masked batch norm needs the mask."""
    return module(x, mask) if isinstance(module, MaskedBatchNorm) else module(x)


class _Block(nn.Module):
    """Linear -> norm -> ReLU (-> dropout) on the last axis."""

    def __init__(self, c_in: int, c_out: int, *, norm: Norm, dropout: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, c_out, bias=norm == "none")
        self.norm = make_norm(c_out, norm)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.linear(x)
        x = apply_norm(self.norm, x, mask)
        return self.dropout(torch.relu(x))


class SharedMLP(nn.Module):
    """A stack of per-point blocks (a shared MLP, i.e. kernel-1 convolutions).

    Works on ``(B, N, C)`` with a mask or on ``(B, C)`` global vectors without one.
    ``dropout`` applies after the last block only (as the seed's segmentation head).
    """

    def __init__(
        self, c_in: int, widths: Sequence[int], *, norm: Norm = "batch", dropout: float = 0.0
    ) -> None:
        super().__init__()
        blocks = []
        for i, c_out in enumerate(widths):
            last = i == len(widths) - 1
            blocks.append(_Block(c_in, c_out, norm=norm, dropout=dropout if last else 0.0))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = c_in

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x

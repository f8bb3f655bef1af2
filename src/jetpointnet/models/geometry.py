"""Point geometry recovered from the model's input features, by feature name.

The stage-2 features are scaled (``metadata.json`` "scaling"), but a common positive
scale on ``x, y, z`` leaves pseudorapidity, azimuth and ratios of distances unchanged,
so eta and phi computed here are exact and 3-D distances are in the scaled unit (m for
the default scale 1e-3 on mm). Everything is written with ONNX-exportable operators
(``log``, ``sqrt``, ``asin``; no ``atan2`` or ``asinh``, which the TorchScript
ONNX exporter lacks).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from jetpointnet.errors import UserError, did_you_mean

__all__ = ["column", "eta_phi_vectors", "pairwise_delta_r", "require_columns"]


def require_columns(
    feature_names: Sequence[str] | None, wanted: Sequence[str], *, model: str, why: str
) -> list[int]:
    """Column indices of ``wanted`` in ``feature_names`` (a UserError naming what is missing)."""
    if feature_names is None:
        raise UserError(
            f"model '{model}': {why} needs the names of the input features "
            f"({', '.join(wanted)}); none were given"
        )
    names = list(feature_names)
    out = []
    for name in wanted:
        if name not in names:
            raise UserError(
                f"model '{model}': {why} needs input feature {name!r}" + did_you_mean(name, names)
            )
        out.append(names.index(name))
    return out


def column(x: torch.Tensor, index: int) -> torch.Tensor:
    """Feature ``index`` of ``x`` ``(B, N, F)`` as ``(B, N)``."""
    return x[..., index]


def eta_phi_vectors(
    x: torch.Tensor, y: torch.Tensor, z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pseudorapidity and the transverse unit vector ``(cos phi, sin phi)`` of points.

    Inputs ``(B, N)`` in any common length unit; a point on the beam axis gets eta 0 and
    the unit vector (1, 0).
    """
    rho = torch.sqrt(x * x + y * y)
    safe = rho > 0
    rho_s = torch.where(safe, rho, torch.ones_like(rho))
    t = z / rho_s
    a = torch.abs(t)
    eta = torch.where(safe, torch.sign(t) * torch.log(a + torch.sqrt(a * a + 1.0)), 0 * z)
    cos = torch.where(safe, x / rho_s, torch.ones_like(x))
    sin = torch.where(safe, y / rho_s, torch.zeros_like(y))
    return eta, cos, sin


def pairwise_delta_r(eta: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Delta-R ``(B, N, N)`` between all point pairs (``|dphi| = 2 asin(chord / 2)``)."""
    deta = eta.unsqueeze(2) - eta.unsqueeze(1)  # (B, N, N)
    dc = cos.unsqueeze(2) - cos.unsqueeze(1)
    ds = sin.unsqueeze(2) - sin.unsqueeze(1)
    chord = torch.sqrt((dc * dc + ds * ds).clamp(min=0.0))  # (B, N, N)
    dphi = 2.0 * torch.asin((0.5 * chord).clamp(max=1.0))
    return torch.sqrt(deta * deta + dphi * dphi)

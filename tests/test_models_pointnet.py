"""Building blocks of the PointNet model (models/). Its permutation equivariance, padding
invariance, output shapes and ONNX path are tested with the zoo (test_models_zoo)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from jetpointnet.config import load_config
from jetpointnet.errors import UserError
from jetpointnet.models import HeadSpec, build_model, count_parameters
from jetpointnet.models.layers import MaskedBatchNorm, masked_max_pool, tssr
from jetpointnet.models.pointnet import PointNet, PointNetConfig, orthogonal_loss
from jetpointnet.training.config import TrainConfig

SMALL = {
    "tnet_mlp": [8, 16, 32],
    "tnet_fc": [16, 8],
    "point_mlp": [16, 16],
    "global_mlp": [16, 32],
    "seg_mlp": [32, 16],
    "dropout": 0.0,
}
F = 5
CONFIGS = Path(__file__).parents[1] / "configs" / "train"


def _model(norm: str = "batch", head: HeadSpec | None = None, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(
        "pointnet", {**SMALL, "norm": norm}, in_features=F, head=head or HeadSpec("energy")
    )


def _batch(b: int = 4, n: int = 12, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, F, generator=g)
    lengths = torch.tensor([n, n - 3, 5, 1])[:b]
    mask = torch.arange(n)[None, :] < lengths[:, None]
    energy = torch.rand(b, n, generator=g) * 5
    return x, mask, energy


def test_energy_bypass_scales_with_cell_energy() -> None:
    model = _model().eval()
    x, mask, energy = _batch()
    a = model(x, mask, energy)["pred"]
    b = model(x, mask, 2 * energy)["pred"]
    torch.testing.assert_close(b, 2 * a)


def test_all_masked_sample_gives_finite_outputs() -> None:
    model = _model().train()
    x, mask, energy = _batch()
    mask[1] = False
    out = model(x, mask, energy)
    assert torch.isfinite(out["pred"]).all() and torch.isfinite(out["aux_loss"])
    pooled = masked_max_pool(torch.randn(2, 3, 4), torch.tensor([[True, False, True], [False] * 3]))
    assert torch.all(pooled[1] == 0)


def test_masked_max_pool_ignores_padding() -> None:
    x = torch.tensor([[[1.0], [5.0], [-2.0]]])
    assert masked_max_pool(x, torch.tensor([[True, False, True]])).item() == 1.0
    assert masked_max_pool(-x, torch.tensor([[False, True, False]])).item() == -5.0


def test_masked_batchnorm_statistics_over_real_points_only() -> None:
    bn = MaskedBatchNorm(1, momentum=1.0).train()
    x = torch.tensor([[[1.0], [3.0], [1000.0]]])
    y = bn(x, torch.tensor([[True, True, False]]))
    torch.testing.assert_close(y[0, :2, 0], torch.tensor([-1.0, 1.0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(bn.running_mean, torch.tensor([2.0]))
    torch.testing.assert_close(bn.running_var, torch.tensor([2.0]))  # unbiased


def test_orthogonal_regulariser_zero_for_orthogonal_transforms() -> None:
    q, _ = torch.linalg.qr(torch.randn(3, 6, 6, generator=torch.Generator().manual_seed(0)))
    assert orthogonal_loss(q).item() == pytest.approx(0.0, abs=1e-10)
    assert orthogonal_loss(torch.eye(4).expand(2, 4, 4)).item() == 0.0
    # 2 * identity: I - 4 I = -3 I -> 9 per diagonal entry
    assert orthogonal_loss(2 * torch.eye(3)[None]).item() == pytest.approx(27.0)


def test_tnets_start_at_identity_and_regulariser_starts_at_zero() -> None:
    torch.manual_seed(0)
    body = PointNet(F, PointNetConfig(**SMALL)).eval()
    x, mask, _ = _batch()
    a = body.feature_tnet(torch.randn(4, 12, 16), mask)
    torch.testing.assert_close(a, torch.eye(16).expand(4, 16, 16))
    assert body(x, mask)[1].item() == pytest.approx(0.0, abs=1e-12)


def test_tssr_piecewise_values() -> None:
    x = torch.tensor([-2.0, -0.5, 0.0, 0.25, 0.999, 1.0, 4.0, 100.0], dtype=torch.float64)
    a, b = 0.05, 0.1
    expected = [a * -2.0, a * -0.5, 0.0, 0.25, 0.999, 1.0, b * 2 - b + 1, b * 10 - b + 1]
    torch.testing.assert_close(tssr(x, a=a, b=b), torch.tensor(expected, dtype=torch.float64))
    y = tssr(torch.tensor([-1.0, 9.0]), a=0.2, b=0.5)
    torch.testing.assert_close(y, torch.tensor([-0.2, 0.5 * 3 - 0.5 + 1]))


def test_tssr_continuous_with_finite_gradients() -> None:
    eps = 1e-6
    for point in (0.0, 1.0):
        lo = tssr(torch.tensor(point - eps, dtype=torch.float64))
        hi = tssr(torch.tensor(point + eps, dtype=torch.float64))
        assert abs(hi.item() - lo.item()) < 1e-5
    x = torch.linspace(-3, 3, 61, requires_grad=True)
    tssr(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    # slopes: a below 0, 1 on [0, 1), b / (2 sqrt(x)) above
    assert x.grad[0].item() == pytest.approx(0.05)
    assert x.grad[35].item() == pytest.approx(1.0)
    assert x.grad[-1].item() == pytest.approx(0.1 / (2 * math.sqrt(3.0)), rel=1e-5)


def test_registry_unknown_model_and_option_name_the_nearest() -> None:
    with pytest.raises(UserError, match=r"closest: 'pointnet'"):
        build_model("pointnett", {}, in_features=F, head=HeadSpec("energy"))
    with pytest.raises(UserError, match=r"model.options.seg_mlp"):
        build_model("pointnet", {"seg_mpl": [8]}, in_features=F, head=HeadSpec("energy"))


@pytest.mark.parametrize(
    ("preset", "millions"), [("jetpointnet-5m", 5.1), ("jetpointnet-86m", 85.9)]
)
def test_presets_have_the_seed_parameter_counts(preset: str, millions: float) -> None:
    cfg = load_config(TrainConfig, CONFIGS / f"{preset}.yaml")
    with torch.device("meta"):
        model = build_model(
            cfg.model.name, cfg.model.options, in_features=11, head=HeadSpec("energy")
        )
    assert count_parameters(model) / 1e6 == pytest.approx(millions, abs=0.05)

"""ParticleNet and ParT taggers and the cloud heads: invariances, shapes, pair features."""

from __future__ import annotations

import math

import pytest
import torch

from jetpointnet.errors import UserError
from jetpointnet.models.cloud_heads import ClassAttentionHead, PoolingHead
from jetpointnet.models.part import ParT, ParTConfig, lorentz_pair_features
from jetpointnet.models.particlenet import ParticleNet, ParticleNetConfig
from jetpointnet.models.taggers import build_tagger

NAMES = ["d_eta", "d_phi", "log_pt", "log_e", "log_pt_rel", "log_e_rel", "dr", "is_charged"]


def _jets(b: int = 3, n: int = 14, real: int = 10):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, n, len(NAMES), generator=g)
    mask = torch.zeros(b, n, dtype=torch.bool)
    mask[:, :real] = True
    mask[0, real - 3 :] = False  # jets of different lengths
    p4 = torch.rand(b, n, 4, generator=g) * 40 + 1
    p4[..., 3] = p4[..., :3].norm(dim=-1) + 0.5
    keep = mask.unsqueeze(-1)
    return x * keep, mask, p4 * keep


def _models():
    pn = ParticleNet(
        8, 2, ParticleNetConfig(k=4, blocks=[[8, 8], [16, 16]], fc=[16]), feature_names=NAMES
    )
    part = ParT(8, 3, ParTConfig(embed=[16], dim=16, heads=2, depth=2, pair_mlp=[8], dropout=0.0))
    return [pn, part]


def _call(model, x, mask, p4):
    return model(x, mask, p4) if model.inputs else model(x, mask)


@pytest.mark.parametrize("index", [0, 1], ids=["particlenet", "part"])
def test_taggers_are_permutation_and_padding_invariant(index):
    torch.manual_seed(0)
    model = _models()[index].eval()
    x, mask, p4 = _jets()
    with torch.no_grad():
        ref = _call(model, x, mask, p4)
        perm = torch.randperm(x.shape[1])  # shuffles real constituents and padding together
        shuffled = _call(model, x[:, perm], mask[:, perm], p4[:, perm])
        pad = lambda t: torch.cat([t, torch.zeros(t.shape[0], 5, *t.shape[2:], dtype=t.dtype)], 1)
        padded = _call(model, pad(x), pad(mask), pad(p4))
        x_junk = pad(x)
        x_junk[:, -5:] = 7.0  # garbage in padded rows must not matter
        junk = _call(model, x_junk, pad(mask), pad(p4))
    assert ref.shape == (3, 2 if index == 0 else 3)
    assert torch.isfinite(ref).all()
    torch.testing.assert_close(shuffled, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(junk, ref, atol=1e-5, rtol=1e-5)


def test_full_configs_have_the_papers_sizes():
    pn = build_tagger("particlenet", {}, in_features=8, n_outputs=2, feature_names=NAMES)
    part = build_tagger("part", {}, in_features=8, n_outputs=2, feature_names=NAMES)
    n_pn = sum(p.numel() for p in pn.parameters())
    n_part = sum(p.numel() for p in part.parameters())
    assert 0.3e6 < n_pn < 0.42e6  # ParticleNet: 370 k in the paper
    assert 2.0e6 < n_part < 2.25e6  # ParT: 2.14 M in the paper


def test_particlenet_needs_its_coordinates_and_unknown_names_are_user_errors():
    with pytest.raises(UserError, match="d_phi"):
        ParticleNet(2, 2, feature_names=["d_eta", "dphi"])
    with pytest.raises(UserError, match="particlenet"):
        build_tagger("particlenett", {}, in_features=8, n_outputs=2, feature_names=NAMES)
    with pytest.raises(UserError, match=r"model\.options\.depht"):
        build_tagger("part", {"depht": 2}, in_features=8, n_outputs=2, feature_names=NAMES)


def test_lorentz_pair_features_of_two_massless_particles():
    pt, eta, phi = torch.tensor([50.0, 20.0]), torch.tensor([0.3, -0.2]), torch.tensor([0.1, 2.9])
    p4 = torch.stack([pt * phi.cos(), pt * phi.sin(), pt * eta.sinh(), pt * eta.cosh()], -1)[None]
    u = lorentz_pair_features(p4, torch.ones(1, 2, dtype=torch.bool))[0, 0, 1]  # pair (0, 1)
    delta = math.hypot(0.5, 2.8)
    m2 = 2 * 50 * 20 * (math.cosh(0.5) - math.cos(2.8))
    want = [math.log(20 * delta), math.log(20 / 70), math.log(delta), math.log(m2)]
    torch.testing.assert_close(u, torch.tensor(want), atol=1e-4, rtol=1e-4)
    masked = lorentz_pair_features(p4, torch.tensor([[True, False]]))
    assert (masked[0, 0, 1] == 0).all() and (masked[0, 1, 1] == 0).all()


def test_cloud_heads_ignore_padding():
    torch.manual_seed(0)
    h = torch.randn(2, 6, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    for head in (PoolingHead(8, 3, widths=[8]), ClassAttentionHead(8, 3, heads=2, blocks=2)):
        head.eval()
        ref = head(h, mask)
        h2 = h.clone()
        h2[~mask] = 100.0
        torch.testing.assert_close(head(h2, mask), ref)
        assert ref.shape == (2, 3)

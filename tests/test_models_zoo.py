"""The model zoo (models/pointnet, edgeconv, transformer, cnn, gnn, knn, geometry):
invariances, shapes, export. PointNet's own building blocks are in test_models_pointnet.

Every model gets the same checks: permutation equivariance (all zoo models are
equivariant: no positional encoding, neighbours and attention depend on point content
only; kNN ties, absent from random inputs, are the documented exception), padding
invariance, output shape per task head, CPU forward/backward and an ONNX forward path.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from jetpointnet.config import load_config
from jetpointnet.errors import UserError
from jetpointnet.models import HeadSpec, build_model, count_parameters
from jetpointnet.models.geometry import eta_phi_vectors, pairwise_delta_r
from jetpointnet.models.knn import gather_neighbours, knn, pairwise_sq_dist
from jetpointnet.training.config import TrainConfig

NAMES = ["x", "y", "z", "dist_track", "energy", "type", "dr", "layer"]
F = len(NAMES)
CONFIGS = Path(__file__).parents[1] / "configs" / "train"
SMALL = {
    "pointnet": {
        "tnet_mlp": [8, 16, 32],
        "tnet_fc": [16, 8],
        "point_mlp": [16, 16],
        "global_mlp": [16, 32],
        "seg_mlp": [32, 16],
        "dropout": 0.0,
    },
    "edgeconv": {
        "k": 4,
        "blocks": [[8, 8], [16, 16]],
        "fusion": [16],
        "seg_mlp": [16],
        "dropout": 0.0,
    },
    "transformer": {
        "embed": [16],
        "dim": 16,
        "heads": 2,
        "depth": 2,
        "pair_mlp": [8],
        "seg_mlp": [16],
    },
}
MODELS = sorted(SMALL)


def _small_config(name: str) -> Path:
    """The model's small CPU config under configs/train/ (PointNet's is small.yaml)."""
    return CONFIGS / ("small.yaml" if name == "pointnet" else f"{name}-small.yaml")


def _model(name: str, norm: str = "batch", head: HeadSpec | None = None, **extra):
    torch.manual_seed(0)
    opts = {**SMALL[name], "norm": norm, **extra}
    return build_model(
        name, opts, in_features=F, head=head or HeadSpec("energy"), feature_names=NAMES
    )


def _batch(b: int = 4, n: int = 12, seed: int = 1):
    """Points near a calorimeter surface (x, y, z in m, a few layers) with random lengths."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, F, generator=g)
    phi = 0.3 + 0.2 * torch.randn(b, n, generator=g)
    r = 1.5 + 0.5 * torch.rand(b, n, generator=g)
    x[..., 0], x[..., 1] = r * torch.cos(phi), r * torch.sin(phi)
    x[..., 2] = r * torch.sinh(0.2 * torch.randn(b, n, generator=g))
    x[..., 7] = 0.05 * torch.randint(1, 4, (b, n), generator=g)
    lengths = torch.tensor([n, n - 3, 5, 1])[:b]
    mask = torch.arange(n)[None, :] < lengths[:, None]
    energy = torch.rand(b, n, generator=g) * 5
    return x, mask, energy


def _pad_more(x, mask, energy, extra: int = 7):
    """The same batch with more padding, filled with large garbage."""
    b = x.shape[0]
    g = torch.Generator().manual_seed(9)
    no = torch.zeros(b, extra, dtype=torch.bool)
    x2 = torch.cat([x, 100 * torch.randn(b, extra, F, generator=g)], dim=1)
    mask2 = torch.cat([mask, no], dim=1)
    x2[~mask2] = x2[~mask2] * 0 + 55.0
    energy2 = torch.cat([energy, torch.full((b, extra), 1e3)], dim=1)
    return x2, mask2, energy2


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_permutation_equivariance(name: str, norm: str, mode: str) -> None:
    model = _model(name, norm)
    model.train(mode == "train")
    x, mask, energy = _batch()
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(3))
    out = model(x, mask, energy)["pred"]
    out_p = model(x[:, perm], mask[:, perm], energy[:, perm])["pred"]
    torch.testing.assert_close(out_p, out[:, perm], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_padding_does_not_change_real_points(name: str, norm: str, mode: str) -> None:
    model = _model(name, norm)
    model.train(mode == "train")
    x, mask, energy = _batch()
    full = model(x, mask, energy)
    x2, mask2, energy2 = _pad_more(x, mask, energy)
    full2 = model(x2, mask2, energy2)
    out, out2 = full["pred"], full2["pred"]
    torch.testing.assert_close(out2[:, : x.shape[1]][mask], out[mask], rtol=1e-4, atol=1e-5)
    assert torch.all(out2[~mask2] == 0)
    # the auxiliary loss (PointNet's T-Net orthogonality term) ignores padding too
    torch.testing.assert_close(full2["aux_loss"], full["aux_loss"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_per_head(name: str) -> None:
    x, mask, energy = _batch()
    for head, shape in [
        (HeadSpec("energy"), x.shape[:2]),
        (HeadSpec("logits"), x.shape[:2]),
        (HeadSpec("logits", n_outputs=4), (*x.shape[:2], 4)),
    ]:
        out = _model(name, head=head)(x, mask, energy)
        assert out["pred"].shape == shape
        assert out["aux_loss"].shape == ()
    # energy bypass: zero input energy gives zero predicted energy
    pred = _model(name)(x, mask, torch.zeros_like(energy))["pred"]
    assert torch.all(pred == 0)


@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_on_cpu(name: str) -> None:
    model = _model(name, head=HeadSpec("logits", n_outputs=4))
    x, mask, energy = _batch()
    out = model(x, mask, energy)["pred"]
    loss = out[mask].logsumexp(-1).mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert sum(float(p.grad.abs().sum()) for p in model.parameters()) > 0


@pytest.mark.parametrize("name", MODELS)
def test_onnx_forward_matches_torch(name: str, tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="onnx extra not installed")
    pytest.importorskip("onnxscript", reason="onnx extra not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnx extra not installed")
    import warnings

    model = _model(name).eval()
    x, mask, energy = _batch()
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation chatter
        torch.onnx.export(
            model,
            (x, mask, energy),
            str(path),
            input_names=["x", "mask", "energy"],
            output_names=["pred", "aux_loss"],
            dynamic_axes={k: {0: "batch", 1: "points"} for k in ("x", "mask", "energy")},
            dynamo=False,
        )
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x2, mask2, energy2 = _pad_more(x, mask, energy, extra=3)  # other shape than traced
    (pred,) = sess.run(
        ["pred"], {"x": x2.numpy(), "mask": mask2.numpy(), "energy": energy2.numpy()}
    )
    with torch.no_grad():
        want = model(x2, mask2, energy2)["pred"]
    torch.testing.assert_close(torch.from_numpy(pred), want, rtol=1e-4, atol=1e-4)


def test_models_need_named_coordinates() -> None:
    with pytest.raises(UserError, match=r"transformer.*'layer'"):
        build_model(
            "transformer", {}, in_features=3, head=HeadSpec("energy"), feature_names=["x", "y", "z"]
        )
    with pytest.raises(UserError, match=r"edgeconv.*names"):
        build_model("edgeconv", {}, in_features=8, head=HeadSpec("energy"))
    with pytest.raises(UserError, match="feature names for 8"):
        build_model("edgeconv", {}, in_features=8, head=HeadSpec("energy"), feature_names=["x"])
    # without the bias or with feature-space neighbours, no names are needed
    build_model("transformer", {"pair_bias": False}, in_features=3, head=HeadSpec("energy"))
    build_model("edgeconv", {"coords": "features"}, in_features=3, head=HeadSpec("energy"))


def test_pair_bias_changes_the_output() -> None:
    x, mask, energy = _batch()
    with_bias = _model("transformer").eval()
    without = _model("transformer", pair_bias=False).eval()
    assert count_parameters(with_bias) > count_parameters(without)
    a = with_bias(x, mask, energy)["pred"]
    # the bias sees the energies: changing one real point's energy moves the others
    e2 = energy.clone()
    e2[0, 0] *= 3
    b = with_bias(x, mask, e2)["pred"]
    assert not torch.allclose(a[0, 1:][mask[0, 1:]], b[0, 1:][mask[0, 1:]])


def test_knn_never_picks_padding_or_self() -> None:
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(3, 10, 2, generator=g)
    mask = torch.arange(10)[None, :] < torch.tensor([[10], [6], [2]])
    idx, valid = knn(pairwise_sq_dist(pts), mask, 4)
    assert idx.shape == valid.shape == (3, 10, 4)
    for b in range(3):
        m = int(mask[b].sum())
        for i in range(m):
            d = ((pts[b, :m] - pts[b, i]) ** 2).sum(-1)
            d[i] = math.inf
            want = torch.argsort(d)[: min(4, m - 1)]
            got = idx[b, i][valid[b, i]]
            assert sorted(got.tolist()) == sorted(want.tolist())
            assert torch.all(idx[b, i][~valid[b, i]] == i)
        assert not valid[b, m:].any()
    feats = torch.arange(30.0).view(3, 10, 1)
    nb = gather_neighbours(feats, idx)  # (3, 10, 4, 1)
    assert torch.equal(nb[..., 0], idx.to(feats.dtype) + 10 * torch.arange(3).view(3, 1, 1))


def test_delta_r_from_xyz_is_exact() -> None:
    eta = torch.tensor([[0.1, -0.3, 1.2]])
    phi = torch.tensor([[3.1, -3.1, 0.5]])  # across the +-pi boundary
    r = torch.tensor([[1500.0, 1800.0, 2000.0]])
    xyz = (r * torch.cos(phi), r * torch.sin(phi), r * torch.sinh(eta))
    e, c, s = eta_phi_vectors(*(v * 1e-3 for v in xyz))  # scale does not matter
    torch.testing.assert_close(e, eta)
    dr = pairwise_delta_r(e, c, s)
    dphi = torch.remainder(phi[0, 0] - phi[0, 1] + math.pi, 2 * math.pi) - math.pi
    torch.testing.assert_close(
        dr[0, 0, 1], torch.hypot(eta[0, 0] - eta[0, 1], dphi), atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(dr[0], dr[0].T)


@pytest.mark.parametrize("name", MODELS)
def test_small_config_builds(name: str) -> None:
    cfg = load_config(TrainConfig, _small_config(name))
    assert cfg.model.name == name
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=F,
        head=HeadSpec("energy"),
        feature_names=NAMES,
    )
    x, mask, energy = _batch()
    assert model(x, mask, energy)["pred"].shape == x.shape[:2]


# ------------------------------------------------------------ cnn and gnn (extra inputs)

GRAPH_IMAGE = {
    "cnn": {"grid": 5, "embed": [8], "channels": [8, 8], "seg_mlp": [16]},
    "gnn": {"embed": [8], "dim": 16, "depth": 2, "message": [16], "seg_mlp": [16]},
}


def _extras(x: torch.Tensor, seed: int = 4) -> dict[str, torch.Tensor]:
    """Stage-2 extra arrays for a batch: image coordinates, samplings and random links.

    Links point anywhere in ``[-1, N)``, padding included (a model must ignore those).
    """
    b, n, _ = x.shape
    g = torch.Generator().manual_seed(seed)
    return {
        "d_eta": 0.1 * torch.randn(b, n, generator=g),
        "d_phi": 0.1 * torch.randn(b, n, generator=g),
        "sampling": torch.randint(0, 15, (b, n), generator=g),
        "neighbours": torch.randint(-1, n, (b, n, 7), generator=g),
    }


def _gi_model(name: str, norm: str = "batch", head: HeadSpec | None = None, **extra):
    torch.manual_seed(0)
    opts = {**GRAPH_IMAGE[name], "norm": norm, **extra}
    return build_model(name, opts, in_features=F, head=head or HeadSpec("energy"))


def _permute(extras: dict[str, torch.Tensor], perm: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reorder points by ``perm`` and relabel the link indices accordingly."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    out = {k: v[:, perm] for k, v in extras.items()}
    nb = out["neighbours"]
    out["neighbours"] = torch.where(nb >= 0, inv[nb.clamp(min=0)], nb)
    return out


@pytest.mark.parametrize("name", sorted(GRAPH_IMAGE))
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_graph_image_equivariance_and_padding(name: str, norm: str, mode: str) -> None:
    model = _gi_model(name, norm)
    model.train(mode == "train")
    x, mask, energy = _batch()
    ex = _extras(x)
    out = model(x, mask, energy, **ex)["pred"]
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(3))
    out_p = model(x[:, perm], mask[:, perm], energy[:, perm], **_permute(ex, perm))["pred"]
    torch.testing.assert_close(out_p, out[:, perm], rtol=1e-4, atol=1e-5)
    x2, mask2, energy2 = _pad_more(x, mask, energy)
    ex2 = _extras(x2, seed=8)  # garbage on the new padded rows
    n = mask.shape[1]
    for k, v in ex.items():
        ex2[k][:, :n] = v
    out2 = model(x2, mask2, energy2, **ex2)["pred"]
    torch.testing.assert_close(out2[:, :n][mask], out[mask], rtol=1e-4, atol=1e-5)
    assert torch.all(out2[~mask2] == 0)


@pytest.mark.parametrize("name", sorted(GRAPH_IMAGE))
def test_graph_image_shapes_backward_and_inputs(name: str) -> None:
    x, mask, energy = _batch()
    ex = _extras(x)
    for head, shape in [(HeadSpec("energy"), x.shape[:2]), (HeadSpec("logits", 4), (4, 12, 4))]:
        assert _gi_model(name, head=head)(x, mask, energy, **ex)["pred"].shape == shape
    model = _gi_model(name, head=HeadSpec("logits", n_outputs=4))
    out = model(x, mask, energy, **ex)["pred"]
    out[mask].logsumexp(-1).mean().backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert set(model.inputs) <= set(ex)
    with pytest.raises(UserError, match="no array"):
        model(x, mask, energy)


def test_cnn_points_in_one_voxel_share_the_output_fraction() -> None:
    model = _gi_model("cnn", "layer").eval()
    x, mask, energy = _batch()
    ex = _extras(x)
    ex["d_eta"][0, :3] = torch.tensor([0.001, 0.002, 0.003])  # one voxel of group 0
    ex["d_phi"][0, :3] = 0.01
    ex["sampling"][0, :3] = 0
    x[0, 1:3] = x[0, 0] + torch.randn(2, F)  # different features, same voxel
    frac = model(x, mask, energy, **ex)["pred"][0, :3] / energy[0, :3]
    torch.testing.assert_close(frac, frac[:1].expand(3))
    # moving one point to another voxel changes its fraction
    ex["d_phi"][0, 2] = 0.3
    frac2 = model(x, mask, energy, **ex)["pred"][0, :3] / energy[0, :3]
    assert not torch.isclose(frac2[2], frac2[0])


def test_gnn_uses_only_its_links() -> None:
    model = _gi_model("gnn", "layer", global_pool=False).eval()
    x, mask, energy = _batch()
    ex = _extras(x)
    ex["neighbours"][0] = -1
    ex["neighbours"][0, 0, 0] = 1  # point 0 hears point 1, nothing else links
    ex["neighbours"][0, 2, 0] = 3
    base = model(x, mask, energy, **ex)["pred"][0]
    x2 = x.clone()
    x2[0, 1] += 1.0
    moved = model(x2, mask, energy, **ex)["pred"][0]
    assert not torch.isclose(moved[0], base[0])  # through the link
    changed = ~torch.isclose(moved, base)
    changed[1] = False  # point 1 itself
    assert changed.nonzero().flatten().tolist() == [0]  # no other node (no global pool)


@pytest.mark.parametrize("name", sorted(GRAPH_IMAGE))
def test_graph_image_small_config_builds(name: str) -> None:
    cfg = load_config(TrainConfig, _small_config(name))
    assert cfg.model.name == name
    model = build_model(cfg.model.name, cfg.model.options, in_features=F, head=HeadSpec("energy"))
    x, mask, energy = _batch()
    assert model(x, mask, energy, **_extras(x))["pred"].shape == x.shape[:2]


class _WithExtras(torch.nn.Module):
    """ONNX wants positional inputs: (x, mask, energy, *extras in ``names`` order)."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, x, mask, energy, *extras):
        return self.model(x, mask, energy, **dict(zip(self.names, extras, strict=True)))["pred"]


def _hard_extras(x: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """Extras that reach every branch: samplings in no layer group (FCAL 21-23, -1) and
    links beyond the sample (>= N) on real points, besides the ordinary ones."""
    b, n, _ = x.shape
    g = torch.Generator().manual_seed(seed)
    ex = _extras(x, seed=seed)
    ex["sampling"] = torch.randint(-1, 24, (b, n), generator=g)
    ex["neighbours"] = torch.randint(-2, 2 * n + 3, (b, n, 7), generator=g)
    return ex


def _export_graph_image(model, names: list[str], path: Path) -> None:
    """Export with the TorchScript exporter, traced on ``_batch()`` (4 samples, 12 points).

    The package's own ``torch.export`` path (``predict.export``) is tested on real
    samples and on these extras in ``test_predict_extras.py``.
    """
    import warnings

    x, mask, energy = _batch()
    ex = _extras(x)
    inputs = ["x", "mask", "energy", *names]
    # the wrapper must be in eval mode too: the exporter puts the wrapper's own mode back
    # on the whole module tree afterwards (a training-mode wrapper leaves the model training)
    wrapped = _WithExtras(model, names).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (x, mask, energy, *(ex[k] for k in names)),
            str(path),
            input_names=inputs,
            output_names=["pred"],
            dynamic_axes={k: {0: "batch", 1: "points"} for k in inputs},
            opset_version=17,
            dynamo=False,
        )


@pytest.mark.parametrize("name", sorted(GRAPH_IMAGE))
def test_graph_image_onnx_forward_matches_torch(name: str, tmp_path: Path) -> None:
    """The exported graph equals torch on other values and other batch and point counts."""
    pytest.importorskip("onnx", reason="onnx extra not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnx extra not installed")

    model = _gi_model(name).eval()
    names = [k for k in model.inputs if k != "energy"]
    path = tmp_path / f"{name}.onnx"
    _export_graph_image(model, names, path)
    assert not model.training
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["x", "mask", "energy", *names]
    x, mask, energy = _batch()  # the traced shape
    cases = [(x, mask, energy, _extras(x, seed=9))]
    x2, mask2, energy2 = _pad_more(x, mask, energy, extra=3)  # more points
    cases.append((x2, mask2, energy2, _hard_extras(x2, seed=10)))
    for b, n, seed in [(1, 3, 11), (7, 20, 12), (2, 1, 13)]:  # other batch and point counts
        g = torch.Generator().manual_seed(seed)
        xb = torch.randn(b, n, F, generator=g)
        maskb = torch.arange(n)[None, :] < torch.randint(1, n + 1, (b, 1), generator=g)
        cases.append((xb, maskb, 5 * torch.rand(b, n, generator=g), _hard_extras(xb, seed)))
    for xc, mc, ec, exc in cases:
        feed = {"x": xc.numpy(), "mask": mc.numpy(), "energy": ec.numpy()}
        feed.update({k: exc[k].numpy() for k in names})
        (pred,) = sess.run(["pred"], feed)
        with torch.no_grad():
            want = model(xc, mc, ec, **exc)["pred"]
        assert want[mc].abs().max() > 0
        torch.testing.assert_close(torch.from_numpy(pred), want, rtol=1e-4, atol=1e-4)

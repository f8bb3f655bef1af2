"""Seed 003's models: exact parameter counts, ARMA equivariance and padding invariance."""

from __future__ import annotations

import pytest
import torch

from jetpointnet.models.alp_cnn import ALPCNN, ALPCNNConfig
from jetpointnet.models.arma import (
    ARMAGNN,
    ARMAConv,
    ARMAGNNConfig,
    dense_adjacency,
    normalised_adjacency,
)
from jetpointnet.models.taggers import build_tagger, tagger_forward, tagger_inputs


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_cnn_has_the_seeds_484401_parameters():
    net = ALPCNN(1, ALPCNNConfig(image_shape=[12, 15, 15]))
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Conv3d | torch.nn.Linear)]
    assert [_count(m) for m in layers] == [1680, 97260, 97260, 288100, 101]
    assert _count(net) == 484_401
    assert net(torch.rand(3, 12, 15, 15)).shape == (3, 1)
    with_bn = ALPCNN(2, ALPCNNConfig(image_shape=[12, 15, 15], batch_norm=True))
    assert sum(isinstance(m, torch.nn.BatchNorm3d) for m in with_bn.modules()) == 3
    assert _count(with_bn) == 484_401 + 3 * 120 + 101  # BN (60 scale + 60 shift) x 3, 2 logits


def test_gnn_has_the_seeds_layer_counts():
    net = ARMAGNN(1, ARMAGNNConfig(node_features=4))
    assert [_count(c) for c in net.convs] == [203_520, 590_592, 590_592]  # 203 K, 590 K, 590 K
    assert _count(net.head[0]) == 65_792 and _count(net.head[-1]) == 257  # 65.8 K, 257
    assert _count(net.input_norm) == 8
    assert _count(net) == 1_450_761
    t1 = ARMAConv(4, 256, stacks=3, layers=1)  # no recurrent weight where none is used
    assert _count(t1) == 3 * (4 * 256 * 2 + 256)


def test_taggers_name_their_inputs():
    cnn = build_tagger("alp_cnn", {"image_shape": [12, 15, 15]}, in_features=5, n_outputs=1,
                       feature_names=None)  # fmt: skip
    gnn = build_tagger("arma_gnn", {"node_features": 4}, in_features=5, n_outputs=1,
                       feature_names=None)  # fmt: skip
    assert tagger_inputs(cnn) == ("image",)
    assert tagger_inputs(gnn) == ("node_x", "node_mask", "edges", "edge_mask")
    batch = {"image": torch.rand(2, 12, 15, 15), "x": torch.rand(2, 3, 5)}
    assert tagger_forward(cnn, batch).shape == (2, 1)


def _graph(n: int, n_edges: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, n, 4, generator=g)
    pairs = torch.randint(0, n, (n_edges, 2), generator=g)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    edges = torch.cat([pairs, pairs.flip(1)]).unsqueeze(0).int()  # both directions
    return (
        x,
        torch.ones(1, n, dtype=torch.bool),
        edges,
        torch.ones(1, edges.shape[1], dtype=torch.bool),
    )


def test_normalised_adjacency_is_symmetric_gcn_norm():
    _, mask, edges, emask = _graph(6, 8)
    adj = dense_adjacency(edges, emask, mask)
    lap = normalised_adjacency(adj)[0]
    deg = adj[0].sum(-1)
    i, j = edges[0, 0].long()
    assert torch.allclose(lap, lap.T)
    assert lap[i, j] == pytest.approx(float(adj[0, i, j] / torch.sqrt(deg[i] * deg[j])))


def test_arma_is_equivariant_under_node_permutation():
    torch.manual_seed(0)
    x, mask, edges, emask = _graph(9, 14)
    conv = ARMAConv(4, 8, stacks=3, layers=2).eval()
    net = ARMAGNN(2, ARMAGNNConfig(node_features=4, widths=[8, 8], dense=[8])).eval()
    perm = torch.randperm(9)
    inv = torch.argsort(perm)  # new index of old node
    x_p, edges_p = x[:, perm], inv[edges.long()].int()
    lap = normalised_adjacency(dense_adjacency(edges, emask, mask))
    lap_p = normalised_adjacency(dense_adjacency(edges_p, emask, mask))
    torch.testing.assert_close(conv(x_p, lap_p, mask), conv(x, lap, mask)[:, perm])
    torch.testing.assert_close(net(x_p, mask, edges_p, emask), net(x, mask, edges, emask))


@pytest.mark.parametrize("train_mode", [False, True])
def test_arma_padding_does_not_change_the_output(train_mode):
    torch.manual_seed(1)
    x, mask, edges, emask = _graph(7, 10)
    net = ARMAGNN(1, ARMAGNNConfig(node_features=4, widths=[8, 8], dense=[8], batch_norm=True))
    net.train(train_mode)
    pad_x = torch.cat([x, 50 * torch.randn(1, 5, 4)], dim=1)  # 5 padded nodes
    pad_mask = torch.cat([mask, torch.zeros(1, 5, dtype=torch.bool)], dim=1)
    junk = torch.tensor([[[7, 1], [2, 9], [11, 11]]], dtype=torch.int32)  # to padded nodes
    pad_edges = torch.cat([edges, junk, torch.zeros(1, 4, 2, dtype=torch.int32)], dim=1)
    pad_emask = torch.cat([emask, torch.ones(1, 3, dtype=torch.bool),
                           torch.zeros(1, 4, dtype=torch.bool)], dim=1)  # fmt: skip
    torch.manual_seed(2)
    ref = net(x, mask, edges, emask)
    torch.manual_seed(2)
    torch.testing.assert_close(net(pad_x, pad_mask, pad_edges, pad_emask), ref)

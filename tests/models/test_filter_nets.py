"""SpectralFilterNet in float64: SignNet's output unchanged by sign flips, BasisNet's by eigenspace rotations on
graphs with real multiplicities; LapPE changes under both and SignNet under rotations (non-vacuous); permutation
equivariance of node outputs for every encoding."""

from __future__ import annotations

import pytest
import torch

from workbench.models.filter_nets import FILTER_ENCODINGS, SpectralFilterNet
from workbench.spectral import (
    SignalGraph,
    collate_signal_graphs,
    cycle_graph,
    encode_graph,
    grid_graph,
    hypercube_graph,
    random_basis_change,
    random_sign_flips,
    spectral_filter,
    undirected,
)

pytestmark = pytest.mark.unit
K = 10


@pytest.fixture(scope="module")
def batch():
    gen = torch.Generator().manual_seed(0)
    graphs = [(cycle_graph(8), 8), (grid_graph(3, 3), 9), (hypercube_graph(3), 8),
              (undirected([(0, 1), (1, 2), (3, 4)]), 6)]  # two components and an isolated node
    items = []
    for edges, n in graphs:
        x = torch.randn(n, 1, generator=gen, dtype=torch.float64)
        items.append(SignalGraph(encode_graph(torch.zeros(n, dtype=torch.int64), edges, k=K), x,
                                 spectral_filter(edges, n, x, "low_pass")))
    return collate_signal_graphs(items)


def _model(encoding):
    torch.manual_seed(0)
    return SpectralFilterNet(encoding, k=K, hidden=8).double().eval()


@torch.no_grad()
def test_sign_and_basis_invariance(batch):
    gen = torch.Generator().manual_seed(1)
    changes = {}
    for enc in FILTER_ENCODINGS:
        model = _model(enc)
        ref = model(batch)
        flip = max(float((model(batch.with_graphs(random_sign_flips(batch.graphs, gen))) - ref).abs().max())
                   for _ in range(3))
        rot = max(float((model(batch.with_graphs(random_basis_change(batch.graphs, gen))) - ref).abs().max())
                  for _ in range(3))
        changes[enc] = (flip, rot)
    assert changes["none"] == (0.0, 0.0)
    assert changes["signnet"][0] <= 1e-10 and changes["basisnet"][0] <= 1e-10
    assert changes["basisnet"][1] <= 1e-10
    assert changes["lappe"][0] > 1e-3 and changes["lappe"][1] > 1e-3  # the baseline is not invariant
    assert changes["signnet"][1] > 1e-6  # sign invariance does not give basis invariance


@pytest.mark.parametrize("encoding", FILTER_ENCODINGS)
def test_permutation_equivariance(batch, encoding):
    g = batch.graphs
    gen = torch.Generator().manual_seed(2)
    perm = torch.cat([g.ptr[b] + torch.randperm(int(g.ptr[b + 1] - g.ptr[b]), generator=gen)
                      for b in range(g.num_graphs)])
    model = _model(encoding)
    permuted = type(batch)(g.permuted(perm), batch.signal[perm], batch.target[perm])
    torch.testing.assert_close(model(permuted), model(batch)[perm], atol=1e-10, rtol=0)


def test_lappe_flips_only_in_training(batch):
    model = _model("lappe")
    assert torch.equal(model(batch), model(batch))
    model.train()
    torch.manual_seed(3)
    a = model(batch)
    assert not torch.equal(a, model(batch))


def test_bad_input(batch):
    with pytest.raises(ValueError, match="encoding must be one of"):
        SpectralFilterNet("signet", k=K)
    with pytest.raises(ValueError, match="must be >= 1"):
        SpectralFilterNet("signnet", k=0)
    with pytest.raises(ValueError, match="eigvecs must have shape"):
        SpectralFilterNet("signnet", k=K + 1).double()(batch)
    bad = type(batch)(batch.graphs, batch.signal * float("nan"), batch.target)
    with pytest.raises(ValueError, match="signal"):
        _model("none")(bad)

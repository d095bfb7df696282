"""GIN and ChebNet baselines for filter learning: ChebNet with one layer is exactly a Chebyshev polynomial of
L_sym (float64, against the eigendecomposition); both are permutation equivariant and ignore the eigenvectors;
SignNet's phi can learn a low-pass filter on a grid to < 1e-3 MSE where the eigenvector-free GCN and GIN cannot
(the same budget)."""

from __future__ import annotations

import pytest
import torch

from workbench.models.filter_baselines import ChebFilterNet, GINFilterNet
from workbench.models.filter_nets import SpectralFilterNet
from workbench.spectral import (
    SignalGraph,
    collate_signal_graphs,
    cycle_graph,
    encode_graph,
    grid_graph,
    random_sign_flips,
    spectral_filter,
    synthetic_images,
    undirected,
)

pytestmark = pytest.mark.unit


def _batch(graphs, k=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    items = []
    for edges, n in graphs:
        x = torch.randn(n, 1, generator=gen, dtype=torch.float64)
        items.append(SignalGraph(encode_graph(torch.zeros(n, dtype=torch.int64), edges, k=k), x, x))
    return collate_signal_graphs(items)


@pytest.fixture(scope="module")
def batch():
    return _batch([(cycle_graph(7), 7), (grid_graph(3, 3), 9), (undirected([(0, 1), (1, 2), (3, 4)]), 6)])


def test_chebnet_one_layer_is_a_chebyshev_polynomial_of_the_laplacian(batch):
    model = ChebFilterNet(layers=1, order=3).double()
    coef = torch.tensor([0.7, -0.4, 0.25, 0.1], dtype=torch.float64)
    with torch.no_grad():
        model.convs[0].weight.copy_(coef[None, :])
        model.convs[0].bias.zero_()
    t = [lambda u: torch.ones_like(u), lambda u: u, lambda u: 2 * u**2 - 1, lambda u: 4 * u**3 - 3 * u]

    def h(lam):
        return sum(c * tk(lam - 1.0) for c, tk in zip(coef, t))

    g = batch.graphs
    want = torch.cat([spectral_filter(g.edge_index[:, (g.batch[g.edge_index[0]] == b)] - g.ptr[b],
                                      int(g.ptr[b + 1] - g.ptr[b]), batch.signal[g.ptr[b] : g.ptr[b + 1]], h)
                      for b in range(g.num_graphs)])
    torch.testing.assert_close(model(batch), want, atol=1e-12, rtol=0)


@pytest.mark.parametrize("make", [lambda: GINFilterNet(hidden=8), lambda: ChebFilterNet(hidden=8)])
def test_permutation_equivariant_and_blind_to_eigenvectors(batch, make):
    torch.manual_seed(0)
    model = make().double()
    g = batch.graphs
    gen = torch.Generator().manual_seed(1)
    perm = torch.cat([g.ptr[b] + torch.randperm(int(g.ptr[b + 1] - g.ptr[b]), generator=gen)
                      for b in range(g.num_graphs)])
    permuted = type(batch)(g.permuted(perm), batch.signal[perm], batch.target[perm])
    torch.testing.assert_close(model(permuted), model(batch)[perm], atol=1e-12, rtol=0)
    assert torch.equal(model(batch.with_graphs(random_sign_flips(g, gen))), model(batch))


def test_bad_input(batch):
    with pytest.raises(ValueError, match="order must be >= 1"):
        ChebFilterNet(order=0)
    with pytest.raises(ValueError, match="layers must be >= 1"):
        GINFilterNet(layers=0)
    with pytest.raises(ValueError, match="signal"):
        GINFilterNet()(type(batch)(batch.graphs, batch.signal * float("nan"), batch.target))


def _fit(model, train, test, steps=200, lr=1e-2):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = ((model(train) - train.target.float()) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return float(((model.eval()(test) - test.target.float()) ** 2).mean())


def test_signnet_learns_a_low_pass_filter_that_eigenvector_free_baselines_cannot():
    size, n = 6, 36
    edges = grid_graph(size, size)
    graph = encode_graph(torch.zeros(n, dtype=torch.int64), edges, k=n, rwse_steps=1)
    images = synthetic_images(16, size, torch.Generator().manual_seed(0)).reshape(16, n, 1)
    items = [SignalGraph(graph, x, spectral_filter(edges, n, x, "low_pass")) for x in images]
    train, test = collate_signal_graphs(items[:8]), collate_signal_graphs(items[8:])
    mse = {}
    for name, make in (("signnet", lambda: SpectralFilterNet("signnet", k=n, hidden=16, phi_hidden=8)),
                       ("gcn", lambda: SpectralFilterNet("none", k=n, hidden=16)),
                       ("gin", lambda: GINFilterNet(hidden=16))):
        torch.manual_seed(0)
        mse[name] = _fit(make(), train, test)
    assert mse["signnet"] < 1e-3, mse
    assert mse["gcn"] > 1e-3 and mse["gin"] > 1e-3, mse

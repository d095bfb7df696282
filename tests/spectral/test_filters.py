"""workbench.spectral.filters and random_graphs: filtered signals against the DFT on cycles (the analytic case),
identities between the named filters, random graphs, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workbench.spectral import (
    FILTERS,
    SignalGraph,
    collate_signal_graphs,
    complete_graph,
    cycle_graph,
    encode_graph,
    erdos_renyi_graph,
    filter_response,
    grid_graph,
    random_geometric_graph,
    spectral_filter,
    undirected,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", ["low_pass", "high_pass", "band_pass"])
@pytest.mark.parametrize("n", [7, 12])
def test_filters_on_a_cycle_equal_the_dft(name, n):
    """On C_n, L_sym = I - A/2 is circulant: frequency m has eigenvalue 1 - cos(2 pi m / n), so h(L) x is
    ifft(h(lambda_m) fft(x)), independent of how eigh picks bases in the degenerate pairs."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 2))
    lam = 1.0 - np.cos(2 * np.pi * np.arange(n) / n)
    h = FILTERS[name](torch.from_numpy(lam)).numpy()
    ref = np.fft.ifft(h[:, None] * np.fft.fft(x, axis=0), axis=0)
    assert np.abs(ref.imag).max() < 1e-12
    ours = spectral_filter(cycle_graph(n), n, torch.from_numpy(x), name)
    assert ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), ref.real, atol=1e-12)


def test_combinatorial_low_pass_on_a_cycle_equals_the_dft():
    n = 9
    x = torch.randn(n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lam = 2.0 - 2.0 * np.cos(2 * np.pi * np.arange(n) / n)
    ref = np.fft.ifft(np.exp(-lam)[:, None] * np.fft.fft(x.numpy(), axis=0), axis=0).real
    ours = spectral_filter(cycle_graph(n), n, x, lambda v: torch.exp(-v), normalization="combinatorial")
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-12)
    # a wrong normalization gives a different signal (the test can fail)
    assert np.abs(spectral_filter(cycle_graph(n), n, x, lambda v: torch.exp(-v)).numpy() - ref).max() > 1e-2


def test_filter_identities_on_irregular_graphs():
    edges = undirected([(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)])  # triangle + pendant, an edge, an isolated node
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    low, high = (spectral_filter(edges, 7, x, f) for f in ("low_pass", "high_pass"))
    torch.testing.assert_close(low + high, x, atol=1e-12, rtol=0)  # h_low + h_high = 1
    band, reject = (spectral_filter(edges, 7, x, f) for f in ("band_pass", "band_reject"))
    torch.testing.assert_close(band + reject, x, atol=1e-12, rtol=0)
    identity = spectral_filter(edges, 7, x, lambda v: 1.0 - v)  # 1 - L_sym = D^-1/2 A D^-1/2 (0 row: isolated)
    assert identity[6].abs().max() < 1e-12 and identity[4, 0] == pytest.approx(float(x[5, 0]), abs=1e-12)
    assert (low - high).abs().max() > 1e-2


def test_random_graphs():
    gen = torch.Generator().manual_seed(0)
    assert erdos_renyi_graph(6, 0.0, gen).shape == (2, 0)
    full = erdos_renyi_graph(6, 1.0, gen)
    assert sorted(map(tuple, full.T.tolist())) == sorted(map(tuple, complete_graph(6).T.tolist()))
    edges, pos = random_geometric_graph(15, 0.4, gen)
    dist = torch.cdist(pos, pos)
    want = {(i, j) for i in range(15) for j in range(15) if i != j and dist[i, j] < 0.4}
    assert set(map(tuple, edges.T.tolist())) == want and want
    a = erdos_renyi_graph(10, 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a, erdos_renyi_graph(10, 0.3, torch.Generator().manual_seed(5)))
    with pytest.raises(ValueError, match="p must be a number in"):
        erdos_renyi_graph(5, 1.5, gen)
    with pytest.raises(ValueError, match="n must be an int"):
        random_geometric_graph(0, 0.3, gen)


def test_signal_batches():
    g = encode_graph(torch.zeros(9, dtype=torch.int64), grid_graph(3, 3), k=10)
    item = SignalGraph(g, torch.randn(9, 1, dtype=torch.float64), torch.randn(9, 3, dtype=torch.float64))
    batch = collate_signal_graphs([item, item])
    assert batch.signal.shape == (18, 1) and batch.target.shape == (18, 3) and batch.graphs.num_graphs == 2
    bad = SignalGraph(g, torch.full((9, 1), math.nan, dtype=torch.float64), item.target)
    with pytest.raises(ValueError, match=r"items\[1\].signal"):
        collate_signal_graphs([item, bad])
    with pytest.raises(ValueError, match="at least one graph"):
        collate_signal_graphs([])


def test_bad_input():
    x = torch.ones(6, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="response must be one of"):
        spectral_filter(cycle_graph(6), 6, x, "lowpass")
    with pytest.raises(ValueError, match="signal must have shape"):
        spectral_filter(cycle_graph(6), 6, torch.ones(5, 1), "low_pass")
    with pytest.raises(ValueError, match="signal"):
        spectral_filter(cycle_graph(6), 6, torch.full((6, 1), math.inf), "low_pass")
    with pytest.raises(ValueError, match="finite tensor of the same shape"):
        spectral_filter(cycle_graph(6), 6, x, lambda v: v[:3])
    with pytest.raises(ValueError, match="normalization must be"):
        spectral_filter(cycle_graph(6), 6, x, "low_pass", normalization="rw")
    with pytest.raises(ValueError, match="finite tensor"):
        filter_response(lambda v: 1.0 / (v - v), torch.zeros(3, dtype=torch.float64))

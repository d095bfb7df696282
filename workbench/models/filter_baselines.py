"""Message-passing baselines without eigenvectors for spectral filter learning (:mod:`workbench.spectral.filters`),
the kind Lim et al. (arXiv 2202.13013) and Balcilar et al. (2021) compare SignNet/BasisNet against:

- :class:`GINFilterNet`: ``layers`` residual GIN layers ``h <- h + MLP((1 + eps) h + sum_{j ~ i} h_j)`` (sum
  aggregation, no degree normalization) between a linear input and head;
- :class:`ChebFilterNet`: ChebNet (Defferrard et al. 2016): ``layers`` Chebyshev convolutions
  ``X' = sum_{k=0}^{order} T_k(L~) X Theta_k`` with ``L~ = L_sym - I = -D^-1/2 A D^-1/2`` (``L_sym``'s spectrum
  ``[0, 2]`` mapped to ``[-1, 1]``), SiLU between them; with ``layers = 1`` and ``hidden`` ignored it is a learnable
  polynomial filter of degree ``order`` in ``L_sym`` (exactly ``h(L) x`` for polynomial ``h``).

Both are permutation equivariant and see the graph only through its edges. ``forward(batch: SignalBatch) -> [N, C]``.

Examples:
    >>> import torch
    >>> from workbench.models.filter_baselines import ChebFilterNet
    >>> from workbench.spectral import SignalGraph, collate_signal_graphs, cycle_graph, encode_graph
    >>> g = encode_graph(torch.zeros(6, dtype=torch.int64), cycle_graph(6), k=6)
    >>> batch = collate_signal_graphs([SignalGraph(g, torch.randn(6, 1), torch.zeros(6, 1))])
    >>> ChebFilterNet(order=3, hidden=8)(batch).shape
    torch.Size([6, 1])
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import mlp, neighbour_sum
from workbench.spectral import SignalBatch

__all__ = ["ChebFilterNet", "GINFilterNet"]


def _check_ints(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be >= 1 (an int), got {value!r}")


def _signal(batch: SignalBatch, channels: int, dtype: torch.dtype) -> torch.Tensor:
    n = batch.graphs.x.shape[0]
    check_tensor(batch.signal, "batch.signal", shape=(n, channels), dtype="float", finite=True)
    return batch.signal.to(dtype)


class GINFilterNet(torch.nn.Module):
    """GIN baseline (module docstring): ``channels`` signal channels, ``hidden`` width, ``layers`` GIN layers."""

    def __init__(self, channels: int = 1, hidden: int = 32, layers: int = 3) -> None:
        super().__init__()
        _check_ints(channels=channels, hidden=hidden, layers=layers)
        self.channels = channels
        self.inp, self.head = torch.nn.Linear(channels, hidden), torch.nn.Linear(hidden, channels)
        self.mix = torch.nn.ModuleList(mlp([hidden, hidden, hidden]) for _ in range(layers))
        self.eps = torch.nn.Parameter(torch.zeros(layers))

    def forward(self, batch: SignalBatch) -> torch.Tensor:
        h = self.inp(_signal(batch, self.channels, self.inp.weight.dtype))
        for eps, mix in zip(self.eps, self.mix):
            h = h + mix((1 + eps) * h + neighbour_sum(h, batch.graphs.edge_index))
        return self.head(h)


class ChebFilterNet(torch.nn.Module):
    """ChebNet baseline (module docstring): ``layers`` Chebyshev convolutions of degree ``order``."""

    def __init__(self, channels: int = 1, hidden: int = 32, layers: int = 2, order: int = 5) -> None:
        super().__init__()
        _check_ints(channels=channels, hidden=hidden, layers=layers, order=order)
        self.channels, self.order = channels, order
        sizes = [channels] + [hidden] * (layers - 1) + [channels]
        self.convs = torch.nn.ModuleList(torch.nn.Linear((order + 1) * a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, batch: SignalBatch) -> torch.Tensor:
        g = batch.graphs
        h = _signal(batch, self.channels, self.convs[0].weight.dtype)
        src, dst = g.edge_index
        deg = torch.zeros(h.shape[0], dtype=h.dtype, device=h.device).index_add_(
            0, dst, torch.ones(dst.shape[0], dtype=h.dtype, device=h.device))
        inv_sqrt = torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))
        w = (inv_sqrt[src] * inv_sqrt[dst])[:, None]

        def shifted(t: torch.Tensor) -> torch.Tensor:  # L~ t = -A_sym t
            return -torch.zeros_like(t).index_add_(0, dst, w * t[src])

        for i, conv in enumerate(self.convs):
            terms = [h, shifted(h)]
            for _ in range(self.order - 1):
                terms.append(2 * shifted(terms[-1]) - terms[-2])
            h = conv(torch.cat(terms[: self.order + 1], dim=1))
            if i < len(self.convs) - 1:
                h = torch.nn.functional.silu(h)
        return h

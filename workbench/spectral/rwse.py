"""Random-walk structural encodings (RWSE): the return probabilities of a random walk after 1..steps steps.

For each node i, ``rwse[i, t-1] = (P^t)_{ii}`` with ``P = D^-1 A`` (the walk moves to a uniformly chosen
neighbour). Being diagonal entries of a matrix function of the graph, they are permutation equivariant and
involve no eigenvectors, so they have no sign or basis ambiguity. An isolated node has no walk: its row is 0.

Examples:
    >>> import torch
    >>> from workbench.spectral import random_walk_se
    >>> triangle = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    >>> random_walk_se(triangle, torch.tensor([0, 3]), steps=3)[0]
    tensor([0.0000, 0.5000, 0.2500], dtype=torch.float64)
"""

from __future__ import annotations

import torch

from workbench.spectral.graphs import check_graph_batch, graph_sizes, split_edges
from workbench.spectral.laplacian import adjacency

__all__ = ["random_walk_se"]


def random_walk_se(edge_index: torch.Tensor, ptr: torch.Tensor, steps: int,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """RWSE ``[N, steps]`` of a batch of graphs (``edge_index [2, E]``, ``ptr [B+1]``, PyG convention)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    check_graph_batch(edge_index, ptr)
    out = torch.zeros(int(ptr[-1]), steps, dtype=dtype)
    for b, (edges, n) in enumerate(zip(split_edges(edge_index, ptr), graph_sizes(ptr).tolist())):
        a = adjacency(edges, n, dtype=dtype)
        deg = a.sum(dim=1)
        walk = torch.where(deg[:, None] > 0, a / deg.clamp(min=1)[:, None], torch.zeros_like(a))
        power = torch.eye(n, dtype=dtype)
        start = int(ptr[b])
        for t in range(steps):
            power = power @ walk
            out[start : start + n, t] = torch.diagonal(power)
    return out

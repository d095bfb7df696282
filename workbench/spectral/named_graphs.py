"""Small graphs with exact eigenvalue multiplicities, as ``edge_index [2, E]`` (both directions, int64).

The cycle C_n (eigenvalue pairs), the r x c grid (degenerate when r = c), the hypercube Q_d (combinatorial
eigenvalues 2i with multiplicity binomial(d, i)) and the complete graph K_n: the graphs on which the sign and basis
ambiguities of eigenvectors are real and the invariance tests are not vacuous. Benzene's heavy-atom graph is C_6.

Examples:
    >>> from workbench.spectral import hypercube_graph, laplacian, laplacian_eigenbasis
    >>> import torch
    >>> edges = hypercube_graph(3)
    >>> basis = laplacian_eigenbasis(edges, torch.tensor([0, 8]), k=8, normalization="combinatorial")
    >>> basis.multiplicity[0].tolist()
    [1, 3, 3, 3, 3, 3, 3, 1]
"""

from __future__ import annotations

import torch

__all__ = ["complete_graph", "cycle_graph", "grid_graph", "hypercube_graph", "undirected"]


def undirected(pairs: list[tuple[int, int]]) -> torch.Tensor:
    """``edge_index [2, 2P]`` listing each pair ``(i, j)`` of ``pairs`` in both directions."""
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.int64)
    e = torch.tensor(pairs, dtype=torch.int64).T
    return torch.cat([e, e.flip(0)], dim=1)


def cycle_graph(n: int) -> torch.Tensor:
    """C_n (n >= 3)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 3:
        raise ValueError(f"n must be an int >= 3, got {n!r}")
    return undirected([(i, (i + 1) % n) for i in range(n)])


def grid_graph(rows: int, cols: int) -> torch.Tensor:
    """The ``rows x cols`` grid (node ``r * cols + c``)."""
    if min(rows, cols) < 1:
        raise ValueError(f"rows and cols must be >= 1, got {rows}, {cols}")
    pairs = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    pairs += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    return undirected(pairs)


def hypercube_graph(d: int) -> torch.Tensor:
    """Q_d: 2^d nodes, an edge between labels differing in one bit."""
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"d must be an int >= 1, got {d!r}")
    return undirected([(i, i ^ (1 << b)) for i in range(2**d) for b in range(d) if i < i ^ (1 << b)])


def complete_graph(n: int) -> torch.Tensor:
    """K_n (n >= 2)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    return undirected([(i, j) for i in range(n) for j in range(i + 1, n)])

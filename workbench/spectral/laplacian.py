"""Graph Laplacians of undirected graphs, dense, in float64 by default.

- ``"combinatorial"``: ``L = D - A`` (eigenvalues in ``[0, 2 max degree]``; one 0 per connected component);
- ``"sym"`` (symmetric normalized): ``L = I - D^-1/2 A D^-1/2`` (eigenvalues in ``[0, 2]``; one 0 per connected
  component). An isolated node (degree 0) gets ``D^-1/2 = 0``, so its row is that of ``I``: eigenvalue 1 with
  the indicator vector of the node (PyG's ``get_laplacian(normalization="sym")`` does the same).

Examples:
    >>> import torch
    >>> from workbench.spectral import laplacian
    >>> path = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> laplacian(path, 3)
    tensor([[ 1., -1.,  0.],
            [-1.,  2., -1.],
            [ 0., -1.,  1.]], dtype=torch.float64)
"""

from __future__ import annotations

import torch

from workbench.spectral.graphs import check_graph_batch

__all__ = ["NORMALIZATIONS", "adjacency", "laplacian"]

NORMALIZATIONS = ("combinatorial", "sym")


def adjacency(edge_index: torch.Tensor, num_nodes: int, edge_weight: torch.Tensor | None = None,
              dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Dense symmetric adjacency ``[n, n]`` of one graph (``edge_index [2, E]`` local indices, both directions)."""
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes must be an int >= 1, got {num_nodes!r}")
    check_graph_batch(edge_index, torch.tensor([0, num_nodes]), edge_weight)
    a = torch.zeros(num_nodes, num_nodes, dtype=dtype)
    w = torch.ones(edge_index.shape[1], dtype=dtype) if edge_weight is None else edge_weight.to(dtype)
    a.index_put_((edge_index[0], edge_index[1]), w, accumulate=True)
    return a


def laplacian(edge_index: torch.Tensor, num_nodes: int, normalization: str = "combinatorial",
              edge_weight: torch.Tensor | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Dense Laplacian ``[n, n]`` of one undirected graph (module docstring for the conventions).

    Args:
        edge_index: ``[2, E]`` int64 local node indices, each edge in both directions, no self-loops.
        num_nodes: ``n >= 1`` (nodes without edges are isolated nodes).
        normalization: ``"combinatorial"`` or ``"sym"``.
        edge_weight: optional ``[E]`` positive finite weights (equal in both directions).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    a = adjacency(edge_index, num_nodes, edge_weight, dtype)
    deg = a.sum(dim=1)
    if normalization == "combinatorial":
        return torch.diag(deg) - a
    inv_sqrt = torch.where(deg > 0, deg.clamp(min=torch.finfo(dtype).tiny).rsqrt(), torch.zeros_like(deg))
    return torch.eye(num_nodes, dtype=dtype) - inv_sqrt[:, None] * a * inv_sqrt[None, :]

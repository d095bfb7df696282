"""Random graphs for the filter-learning task, as ``edge_index [2, E]`` (int64, both directions, no self-loops):
Erdős–Rényi ``G(n, p)`` and random geometric graphs (``n`` uniform points in the unit square, an edge between points
closer than ``radius``). Both may be disconnected or hold isolated nodes; the spectral code handles that
(:mod:`workbench.spectral.eigen`). Draws come from the ``generator`` given, so a seed reproduces them.

Examples:
    >>> import torch
    >>> from workbench.spectral import erdos_renyi_graph
    >>> erdos_renyi_graph(5, 1.0, torch.Generator().manual_seed(0)).shape  # p = 1: K_5, 10 edges both ways
    torch.Size([2, 20])
"""

from __future__ import annotations

import torch

__all__ = ["erdos_renyi_graph", "random_geometric_graph"]


def _check(n: int, name: str, value: float, upper: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper:
        raise ValueError(f"{name} must be a number in [0, {upper}], got {value!r}")


def _from_upper(adj: torch.Tensor) -> torch.Tensor:
    i, j = torch.nonzero(torch.triu(adj, diagonal=1), as_tuple=True)
    return torch.stack([torch.cat([i, j]), torch.cat([j, i])])


def erdos_renyi_graph(n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """``G(n, p)``: each of the ``n (n - 1) / 2`` node pairs an edge with probability ``p``."""
    _check(n, "p", p, 1.0)
    return _from_upper(torch.rand(n, n, generator=generator, dtype=torch.float64) < p)


def random_geometric_graph(n: int, radius: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(edge_index, positions [n, 2] float64)``: ``n`` uniform points in the unit square, an edge between two
    points at Euclidean distance ``< radius``."""
    _check(n, "radius", radius, 2.0)
    pos = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    return _from_upper(torch.cdist(pos, pos) < radius), pos

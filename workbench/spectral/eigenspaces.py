"""Eigenspaces of a sorted spectrum: which eigenvalues are equal up to a tolerance (multiplicities).

Two consecutive eigenvalues (ascending) belong to one eigenspace when they differ by at most
``tol * max(1, max |lambda|)``; the grouping chains (a, b within tol and b, c within tol puts a, b, c together).
Exact multiplicities of graph Laplacians (cycles, grids, hypercubes, symmetric molecules) come out of ``eigh`` in
float64 equal to ~1e-14, far below the default ``tol = 1e-6``; distinct eigenvalues of small graphs are
separated by far more.

Examples:
    >>> import torch
    >>> from workbench.spectral import eigenspace_ids
    >>> eigenspace_ids(torch.tensor([0.0, 1.0, 1.0 + 1e-12, 2.0], dtype=torch.float64))
    tensor([0, 1, 1, 2])
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["DEFAULT_TOL", "eigenspace_ids", "multiplicities"]

#: Default relative tolerance for equal eigenvalues.
DEFAULT_TOL = 1e-6


def eigenspace_ids(eigvals: torch.Tensor, tol: float = DEFAULT_TOL) -> torch.Tensor:
    """Eigenspace index ``[n]`` int64 (0, 1, ... in ascending order) of sorted ``eigvals [n]`` (ascending, finite)."""
    check_tensor(eigvals, "eigvals", shape=("n",), dtype="float", finite=True)
    if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if eigvals.numel() == 0:
        return torch.zeros(0, dtype=torch.int64)
    gaps = eigvals[1:] - eigvals[:-1]
    if bool((gaps < -1e-12 * max(1.0, float(eigvals.abs().max()))).any()):
        raise ValueError("eigvals must be sorted in ascending order")
    scale = tol * max(1.0, float(eigvals.abs().max()))
    new = torch.cat([torch.zeros(1, dtype=torch.int64), (gaps > scale).long()])
    return torch.cumsum(new, 0)


def multiplicities(ids: torch.Tensor) -> torch.Tensor:
    """Per entry of ``ids [n]`` (from :func:`eigenspace_ids`), the dimension of its eigenspace, ``[n]`` int64."""
    if ids.numel() == 0:
        return ids.clone()
    counts = torch.bincount(ids)
    return counts[ids]

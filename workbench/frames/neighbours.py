"""k-nearest-neighbour graphs of batched point clouds, with the input checks the frame predictors rely on.

Clouds come as ``points [B, P, d]`` (every cloud has ``P`` points) and are flattened to nodes ``n = b * P + p``.
Edges follow the project's convention (PyG): ``edge_index[0]`` is the source / neighbour ``j``, ``edge_index[1]``
the target / receiver ``i``; every node receives exactly ``k`` edges, from its ``k`` nearest other points of the
same cloud, nearest first. Ties (coincident points) are broken by point index; a coincident neighbour contributes a
zero relative position.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["check_points", "knn_graph"]


def check_points(points: torch.Tensor, min_points: int = 1, name: str = "points") -> torch.Tensor:
    """Raise a clear error unless ``points`` is a finite float tensor ``[B, P, d]`` with ``P >= min_points``."""
    check_tensor(points, name, shape=("B", "P", "d"), dtype="float", hint="clouds, points per cloud, coordinates")
    if points.shape[0] < 1 or points.shape[2] < 1:
        raise ValueError(f"{name} needs at least one cloud with d >= 1 coordinates, got shape {tuple(points.shape)}")
    if not bool(torch.isfinite(points).all()):
        bad = torch.nonzero(~torch.isfinite(points).all(dim=2))[0].tolist()
        raise ValueError(f"{name} must be finite: cloud {bad[0]} point {bad[1]} has a NaN or inf coordinate")
    if points.shape[1] < min_points:
        raise ValueError(f"{name} has {points.shape[1]} points per cloud; need at least {min_points} "
                         f"(k neighbours + the point itself)")
    return points


def knn_graph(points: torch.Tensor, k: int) -> torch.Tensor:
    """Edges ``[2, B*P*k]`` from each point's ``k`` nearest other points of its cloud to the point (module doc).

    Raises ValueError for non-finite coordinates or fewer than ``k + 1`` points per cloud.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    check_points(points, k + 1)
    b, p, _ = points.shape
    dist = torch.cdist(points.detach(), points.detach())
    dist = dist + torch.diag(torch.full((p,), float("inf"), dtype=dist.dtype, device=dist.device))
    # stable sort: equal distances (coincident points) in index order, so the graph does not depend on noise
    order = torch.sort(dist, dim=2, stable=True).indices[:, :, :k]  # [B, P, k]
    offset = (torch.arange(b, device=points.device) * p)[:, None, None]
    src = (order + offset).reshape(-1)
    dst = (torch.arange(p, device=points.device)[None, :, None] + offset).expand(b, p, k).reshape(-1)
    return torch.stack([src, dst])

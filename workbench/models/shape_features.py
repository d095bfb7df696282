"""Rotation-invariant hand features of point clouds and the logistic regression on them (a shapes baseline).

:func:`shape_invariant_features` maps ``points [B, P, 3]`` to ``[B, F]`` features that are invariant under every
rotation and reflection (O(3)), translations and permutations of the points, and under a global scale (all lengths
are divided by the cloud's RMS radius ``r_rms``):

- ``log r_rms`` (the one scale-dependent feature: the size of the cloud);
- quantiles (``0, 0.1, ..., 1``) of the distances of the points to the centroid, over ``r_rms``;
- the eigenvalues of the inertia tensor (:func:`inertia_eigenvalues`) over their sum, ascending;
- the normalized histogram of the pairwise distances over ``r_rms`` in ``num_bins`` bins on ``[0, max_distance]``
  (distances beyond go into the last bin).

:class:`InvariantFeatureClassifier` standardizes them (mean and std of the training clouds, buffers) and applies one
linear layer: multinomial logistic regression, trained by :func:`workbench.train.fit` with cross-entropy. Being
built on invariants, its predictions are O(3)-invariant by construction.
"""

from __future__ import annotations

import torch

__all__ = ["InvariantFeatureClassifier", "inertia_eigenvalues", "shape_invariant_features"]

_QUANTILES = tuple(i / 10 for i in range(11))


def _check_points(points: torch.Tensor) -> None:
    if not isinstance(points, torch.Tensor) or points.dim() != 3 or points.shape[-1] != 3 or points.shape[1] < 2:
        shape = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
        raise ValueError(f"points must be a tensor [B, P, 3] with P >= 2, got {shape}")
    if not bool(torch.isfinite(points).all()):
        raise ValueError("points must be finite (NaN/inf found)")


def inertia_eigenvalues(points: torch.Tensor) -> torch.Tensor:
    """Eigenvalues ``[B, 3]`` (ascending, float64) of the inertia tensor per unit mass of each cloud about its
    centroid: ``I = mean_i (|r_i|^2 1 - r_i r_i^T)``, ``r_i`` = point minus centroid. For points spread uniformly
    on a sphere of radius ``R`` all three are ``2 R^2 / 3``.

    Examples:
        >>> import torch
        >>> pts = torch.tensor([[[1.0, 0, 0], [-1.0, 0, 0]]])  # a rod along x
        >>> inertia_eigenvalues(pts).tolist()
        [[0.0, 1.0, 1.0]]
    """
    _check_points(points)
    r = points.double() - points.double().mean(1, keepdim=True)
    outer = torch.einsum("bpi,bpj->bij", r, r) / r.shape[1]
    inertia = torch.diagonal(outer, dim1=1, dim2=2).sum(-1)[:, None, None] * torch.eye(3, dtype=r.dtype) - outer
    return torch.linalg.eigvalsh(inertia)


def shape_invariant_features(points: torch.Tensor, num_bins: int = 16, max_distance: float = 4.0) -> torch.Tensor:
    """O(3)-, translation-, permutation- and scale-invariant features ``[B, 1 + 11 + 3 + num_bins]`` (float64) of
    ``points [B, P, 3]`` (module docstring)."""
    _check_points(points)
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
        raise ValueError(f"num_bins must be an integer >= 1, got {num_bins!r}")
    if not max_distance > 0:
        raise ValueError(f"max_distance must be > 0 (units of the RMS radius), got {max_distance!r}")
    p = points.double()
    r = p - p.mean(1, keepdim=True)
    radius = r.norm(dim=-1)  # [B, P]
    rms = radius.pow(2).mean(1).sqrt().clamp_min(1e-12)  # [B]
    quantiles = torch.quantile(radius / rms[:, None], torch.tensor(_QUANTILES, dtype=p.dtype), dim=1).T  # [B, 11]
    eig = inertia_eigenvalues(points)
    eig = eig / eig.sum(1, keepdim=True).clamp_min(1e-300)
    n = p.shape[1]
    iu = torch.triu_indices(n, n, offset=1)
    dist = torch.cdist(r, r)[:, iu[0], iu[1]] / rms[:, None]  # [B, P(P-1)/2]
    index = (dist / max_distance * num_bins).floor().clamp(0, num_bins - 1).long()
    hist = torch.zeros(p.shape[0], num_bins, dtype=p.dtype).scatter_add_(1, index, torch.ones_like(dist))
    hist = hist / dist.shape[1]
    return torch.cat([torch.log(rms)[:, None], quantiles, eig, hist], dim=1)


class InvariantFeatureClassifier(torch.nn.Module):
    """Logistic regression on standardized :func:`shape_invariant_features`: ``points [B, P, 3] -> logits
    [B, num_classes]``. Call :meth:`standardize_from` with the training clouds before training (the mean and std
    are buffers, saved with the weights)."""

    def __init__(self, num_classes: int, num_bins: int = 16, max_distance: float = 4.0) -> None:
        super().__init__()
        for name, value, low in (("num_classes", num_classes, 2), ("num_bins", num_bins, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.num_classes, self.num_bins, self.max_distance = num_classes, num_bins, float(max_distance)
        n = 1 + len(_QUANTILES) + 3 + num_bins
        self.register_buffer("feature_mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("feature_std", torch.ones(n, dtype=torch.float64))
        self.linear = torch.nn.Linear(n, num_classes)

    def features(self, points: torch.Tensor) -> torch.Tensor:
        """Standardized features ``[B, F]`` (float64)."""
        raw = shape_invariant_features(points, self.num_bins, self.max_distance)
        return (raw - self.feature_mean) / self.feature_std

    @torch.no_grad()
    def standardize_from(self, points: torch.Tensor) -> InvariantFeatureClassifier:
        """Set the feature mean and std from these (training) clouds; returns ``self``."""
        raw = shape_invariant_features(points, self.num_bins, self.max_distance)
        self.feature_mean.copy_(raw.mean(0))
        self.feature_std.copy_(raw.std(0).clamp_min(1e-6))
        return self

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(points).to(self.linear.weight.dtype))

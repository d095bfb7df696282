"""Small reference models for measuring (non-)equivariance: point-cloud MLP, PointNet-like network, image CNN,
and a vector-feature network whose only symmetry-breaking part is a pointwise nonlinearity.

All are ``nn.Sequential`` so that :func:`workbench.equivariance.chain_layers` finds their layer chain.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.checks import check_tensor
from workbench.equivariance.actions import MatrixAction, so3_on_points

__all__ = ["PointMLP", "PointNet", "SmallCNN", "VectorFeatureNet", "MaxOverPoints", "MeanOverPoints",
           "CenterPoints", "VectorLinear", "ComponentwiseNonlinearity", "NormNonlinearity", "VectorNorms"]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class MaxOverPoints(nn.Module):
    """Max over the point axis: ``(..., N, C) -> (..., C)`` (permutation invariant)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.max(dim=-2).values


class MeanOverPoints(nn.Module):
    """Mean over the point axis ``-2`` of ``(..., N, C)`` or ``-3`` of vector features ``(..., N, C, 3)``."""

    def __init__(self, vector_features: bool = False) -> None:
        super().__init__()
        self.vector_features = vector_features

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.mean(dim=-3 if self.vector_features else -2)


class CenterPoints(nn.Module):
    """Subtract the centroid: ``(..., N, 3) -> (..., N, 1, 3)`` one vector channel per point (E(3) equivariant)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "points", shape=(..., "N", 3))
        return (x - x.mean(dim=-2, keepdim=True)).unsqueeze(-2)


class PointMLP(nn.Sequential):
    """MLP on a flattened point cloud ``(B, N, 3) -> (B, out_features)``; not rotation-invariant."""

    def __init__(self, num_points: int, hidden: int = 64, out_features: int = 1, depth: int = 2) -> None:
        num_points, hidden = _positive_int(num_points, "num_points"), _positive_int(hidden, "hidden")
        out_features, depth = _positive_int(out_features, "out_features"), _positive_int(depth, "depth")
        layers: list[nn.Module] = [nn.Flatten(start_dim=-2), nn.Linear(3 * num_points, hidden), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, out_features))
        super().__init__(*layers)


class PointNet(nn.Sequential):
    """PointNet-like network ``(B, N, 3) -> (B, out_features)``: shared per-point MLP, max pooling, MLP head.

    Permutation invariant, not rotation-invariant.
    """

    def __init__(self, hidden: int = 64, out_features: int = 1) -> None:
        hidden, out_features = _positive_int(hidden, "hidden"), _positive_int(out_features, "out_features")
        super().__init__(
            nn.Linear(3, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            MaxOverPoints(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, out_features),
        )


class SmallCNN(nn.Sequential):
    """A small CNN classifier on images ``(B, C, H, W) -> (B, num_classes)`` (conv, ReLU, pooling, linear)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16) -> None:
        in_channels = _positive_int(in_channels, "in_channels")
        num_classes, width = _positive_int(num_classes, "num_classes"), _positive_int(width, "width")
        super().__init__(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(width, num_classes),
        )


def _vector_representation() -> MatrixAction:
    return so3_on_points()


class VectorLinear(nn.Module):
    """Channel mixing of vector features ``(..., C_in, 3) -> (..., C_out, 3)``; SO(3) equivariant."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        in_channels, out_channels = _positive_int(in_channels, "in_channels"), _positive_int(out_channels,
                                                                                                "out_channels")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels) / in_channels**0.5)
        self.output_representation = _vector_representation()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oi,...ix->...ox", self.weight, h)


class ComponentwiseNonlinearity(nn.Module):
    """A pointwise nonlinearity applied to every (x, y, z) component: breaks rotation equivariance."""

    def __init__(self, activation: nn.Module | None = None) -> None:
        super().__init__()
        self.activation = activation if activation is not None else nn.SiLU()
        self.output_representation = _vector_representation()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.activation(h)


class NormNonlinearity(nn.Module):
    """``v -> v * sigmoid(|v| - b)`` per vector channel: a rotation-equivariant nonlinearity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(_positive_int(channels, "channels")))
        self.output_representation = _vector_representation()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        norms = (h * h).sum(-1).add(1e-12).sqrt()
        return h * torch.sigmoid(norms - self.bias)[..., None]


class VectorNorms(nn.Module):
    """``(..., C, 3) -> (..., C)`` vector norms (invariant)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h * h).sum(-1).add(1e-12).sqrt()


class VectorFeatureNet(nn.Sequential):
    """``(B, N, 3) -> (B, out_features)``: centred points as vector channels, equivariant channel mixing and a
    nonlinearity, mean pooling and an invariant readout of vector norms.

    With ``nonlinearity="norm"`` every layer is rotation equivariant (the model is invariant); with
    ``"componentwise"`` the pointwise nonlinearity is the only layer that breaks equivariance, which the
    layer-wise attribution shows.
    """

    def __init__(self, channels: int = 16, out_features: int = 1, nonlinearity: str = "componentwise") -> None:
        channels, out_features = _positive_int(channels, "channels"), _positive_int(out_features, "out_features")
        if nonlinearity == "componentwise":
            act1, act2 = ComponentwiseNonlinearity(), ComponentwiseNonlinearity()
        elif nonlinearity == "norm":
            act1, act2 = NormNonlinearity(channels), NormNonlinearity(channels)
        else:
            raise ValueError(f"nonlinearity must be 'componentwise' or 'norm', got {nonlinearity!r}")
        centre = CenterPoints()
        centre.output_representation = _vector_representation()
        pool = MeanOverPoints(vector_features=True)
        pool.output_representation = _vector_representation()
        super().__init__(
            centre,
            VectorLinear(1, channels), act1,
            VectorLinear(channels, channels), act2,
            pool,
            VectorNorms(),
            nn.Linear(channels, channels), nn.SiLU(),
            nn.Linear(channels, out_features),
        )

"""Random O(3) augmentation for models with vector outputs: ``RandomO3VectorAugmentation(model)``.

In training mode every cloud ``points [B, P, 3]`` gets its own Haar-random orthogonal ``Q`` (rotations, and with
``reflections`` mirror images, :func:`workbench.models.augmentation.random_orthogonal_matrices`, torch's global
generator) and the wrapped model's vectors are rotated back: ``Q^T model(Q x)``. With a loss invariant under a joint
rotation of prediction and target (``1 - |cos|``) this is training on randomly transformed clouds with transformed
targets. In eval mode it is the model unchanged: it has only *seen* many orientations, it is not equivariant.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.augmentation import random_orthogonal_matrices

__all__ = ["RandomO3VectorAugmentation"]


class RandomO3VectorAugmentation(torch.nn.Module):
    """``model(points [B, P, 3]) -> [B, P, 3]`` trained on randomly rotated (and mirrored) clouds (module doc)."""

    def __init__(self, model: torch.nn.Module, reflections: bool = True) -> None:
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model, self.reflections = model, bool(reflections)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.model(points)
        check_tensor(points, "points", shape=("B", "P", 3), dtype="float")
        q = random_orthogonal_matrices(points.shape[0], self.reflections, dtype=points.dtype).to(points.device)
        return self.model(points @ q.mT) @ q

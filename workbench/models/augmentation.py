"""Random O(3) augmentation as a model wrapper: the model sees each training cloud in a fresh random orientation.

:class:`RandomO3Augmentation` wraps any point-cloud model ``model(points [B, P, 3])``. In training mode every cloud
of a batch is multiplied by its own Haar-random orthogonal matrix (:func:`random_orthogonal_matrices`: rotations,
and with ``reflections`` also mirror images, each with probability 1/2) drawn from torch's global generator (so a
checkpointed run resumes the same draws); in eval mode it is the wrapped model unchanged. The augmented model is
not invariant: it has only seen many orientations.
"""

from __future__ import annotations

import torch

__all__ = ["RandomO3Augmentation", "random_orthogonal_matrices"]


def random_orthogonal_matrices(n: int, reflections: bool = True, *, generator: torch.Generator | None = None,
                               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` Haar-random ``[3, 3]`` orthogonal matrices ``[n, 3, 3]``: QR of Gaussian matrices with the signs of
    R's diagonal moved into Q (Haar on O(3)); without ``reflections`` the ones with ``det = -1`` are negated
    (Haar on SO(3))."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    a = torch.randn(n, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    if not reflections:
        q = q * torch.linalg.det(q)[:, None, None]
    return q.to(dtype)


class RandomO3Augmentation(torch.nn.Module):
    """``model`` trained on randomly rotated (and, with ``reflections``, mirrored) clouds (module docstring)."""

    def __init__(self, model: torch.nn.Module, reflections: bool = True) -> None:
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model, self.reflections = model, bool(reflections)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if self.training:
            if points.dim() != 3 or points.shape[-1] != 3:
                raise ValueError(f"points must be [B, P, 3], got {tuple(points.shape)}")
            q = random_orthogonal_matrices(points.shape[0], self.reflections, dtype=points.dtype)
            points = points @ q.mT
        return self.model(points)

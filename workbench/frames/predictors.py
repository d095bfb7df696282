"""Frame predictors by name: ``"learned"`` (:class:`LearnedFrames`), ``"pca"`` (:class:`PCAFrames`) and ``"none"``
(:class:`IdentityFrames`: every frame is the identity, i.e. the wrapped model runs in global coordinates, the
"same architecture without frames" baseline, not equivariant)."""

from __future__ import annotations

import torch

from workbench.frames.gram_schmidt import Frames
from workbench.frames.learned_frames import LearnedFrames
from workbench.frames.pca_frames import PCAFrames

__all__ = ["FRAME_KINDS", "IdentityFrames", "frame_predictor"]

#: The frame predictors :func:`frame_predictor` builds.
FRAME_KINDS: tuple[str, ...] = ("learned", "pca", "none")


class IdentityFrames(torch.nn.Module):
    """``IdentityFrames(d)(pos [N, d], edge_index) -> Frames`` with every frame ``I`` (no frames; not equivariant)."""

    def __init__(self, d: int = 3) -> None:
        super().__init__()
        self.d = int(d)

    def forward(self, pos: torch.Tensor, edge_index: torch.Tensor) -> Frames:
        n = pos.shape[0]
        eye = torch.eye(self.d, dtype=pos.dtype, device=pos.device).expand(n, self.d, self.d)
        return Frames(eye, torch.zeros(n, dtype=torch.bool, device=pos.device))


def frame_predictor(kind: str, d: int = 3, **kwargs) -> torch.nn.Module:
    """The frame predictor ``kind`` (one of :data:`FRAME_KINDS`) for ``d``-dimensional points; ``kwargs`` go to
    :class:`LearnedFrames` (``"learned"``) or :class:`PCAFrames` (``"pca"``)."""
    if kind == "learned":
        return LearnedFrames(d, **kwargs)
    if kind == "pca":
        return PCAFrames(**kwargs)
    if kind == "none":
        return IdentityFrames(d)
    raise ValueError(f"unknown frames {kind!r}; valid: {', '.join(FRAME_KINDS)}")

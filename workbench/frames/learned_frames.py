"""Learned local frames (Tensor Frames, Lippmann et al. 2024): Gram-Schmidt of learned equivariant vectors.

For node ``i`` with neighbours ``j`` (``edge_index``, source -> target) and ``r_ij = p_j - p_i``::

    s_i    = mean_j |r_ij|                                   # neighbourhood scale (invariant)
    m_i    = mean_j r_ij / s_i                               # mean offset (equivariant)
    f_ij   = [Gaussians(|r_ij| / s_i), cos(r_ij, m_i), |m_i|]   # invariant edge features
    v_ic   = mean_j MLP_c(f_ij) r_ij / s_i  +  a_c m_i          # c = 1 .. m candidate vectors, equivariant
    F_i    = gram_schmidt_frames(v_i)                          # O(d): last candidate sets the handedness

Every ``v_ic`` is an invariant-weighted sum of relative positions, so ``v -> g v`` for ``g`` in O(d) and the frames
follow rotations and reflections (:func:`workbench.frames.gram_schmidt_frames`). Scale and translation drop out.
Degenerate neighbourhoods (collinear, planar for the handedness, coincident points, too few neighbours) take the
documented fallback of :func:`~workbench.frames.gram_schmidt_frames` and are flagged; coincident points give
``r_ij = 0`` and contribute nothing (``cos`` uses a small epsilon), so nothing is NaN.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.frames.gram_schmidt import Frames, gram_schmidt_frames
from workbench.nn.graph import check_edge_index
from workbench.nn.radial import GaussianBasis

__all__ = ["LearnedFrames"]


class LearnedFrames(torch.nn.Module):
    """``LearnedFrames(d)(pos [N, d], edge_index [2, E]) -> Frames`` (module docstring).

    Args:
        d: dimension of the points (>= 2).
        candidates: number of learned vectors ``m >= d`` (spares make the fallback rarer).
        hidden: width of the edge MLP.
        num_basis: Gaussians of the normalized distance.
        orientation: O(d) frames (True) or SO(d) frames (False).
        eps: relative threshold of :func:`gram_schmidt_frames`.
    """

    def __init__(self, d: int = 3, candidates: int | None = None, hidden: int = 32, num_basis: int = 8,
                 orientation: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        candidates = d + 1 if candidates is None else candidates
        for name, value, low in (("d", d, 2), ("candidates", candidates, d), ("hidden", hidden, 1),
                                 ("num_basis", num_basis, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.d, self.candidates, self.orientation, self.eps = d, candidates, bool(orientation), float(eps)
        self.basis = GaussianBasis(0.0, 3.0, num_basis)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(num_basis + 2, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, candidates))
        self.mean_weight = torch.nn.Parameter(torch.randn(candidates) * 0.1)

    def vectors(self, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """The candidate vectors ``[N, candidates, d]`` (equivariant)."""
        n = pos.shape[0]
        src, dst = edge_index
        r = pos[src] - pos[dst]
        dist = r.norm(dim=1)
        ones = torch.ones_like(dist)
        count = pos.new_zeros(n).index_add(0, dst, ones).clamp_min(1)
        tiny = torch.finfo(pos.dtype).eps
        scale = (pos.new_zeros(n).index_add(0, dst, dist) / count).clamp_min(tiny)
        rel = r / scale[dst, None]
        mean = pos.new_zeros(n, self.d).index_add(0, dst, rel) / count[:, None]
        mean_norm = mean.norm(dim=1)
        cos = (rel * mean[dst]).sum(1) / (rel.norm(dim=1) * mean_norm[dst] + 1e-9)
        features = torch.cat([self.basis(rel.norm(dim=1)), cos[:, None], mean_norm[dst, None]], dim=1)
        weights = self.mlp(features)  # [E, m]
        summed = pos.new_zeros(n, self.candidates, self.d).index_add(0, dst, weights[:, :, None] * rel[:, None, :])
        return summed / count[:, None, None] + self.mean_weight[None, :, None] * mean[:, None, :]

    def forward(self, pos: torch.Tensor, edge_index: torch.Tensor) -> Frames:
        check_tensor(pos, "pos", shape=("N", self.d), dtype="float", finite=True)
        check_edge_index(edge_index, pos.shape[0])
        return gram_schmidt_frames(self.vectors(pos, edge_index), orientation=self.orientation, eps=self.eps)

"""PCA frames: the non-learned baseline frame of a neighbourhood (principal axes with moment-fixed signs).

For node ``i`` with neighbours ``j`` (``edge_index``, source -> target) the covariance of the neighbourhood about
its mean ``c_i = mean_j p_j`` is diagonalized; the axes are the eigenvectors by *decreasing* eigenvalue (on a surface
patch the last axis estimates the normal, the classical PCA normal). Each axis' sign is fixed by the third moment
``sum_j (e . (p_j - c_i))^3`` and, where that vanishes, by the first moment about the point itself
``sum_j e . (p_j - p_i)``. Every axis is fixed on its own, so the frames follow rotations *and* reflections:
O(d)-equivariant for any ``d``.

Fallback (never NaN): a neighbourhood with a (near) repeated eigenvalue, or an axis whose sign both moments leave
undecided, has no unique frame; the eigen-solver's axes are kept with the sign ``+1`` and the node is flagged in
:attr:`Frames.degenerate` (not equivariant there).
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.frames.gram_schmidt import Frames
from workbench.nn.graph import check_edge_index

__all__ = ["PCAFrames", "neighbourhood_covariance"]


def neighbourhood_covariance(pos: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``c [N, d]`` and covariance ``C [N, d, d]`` of each node's neighbours (zeros for a node with none)."""
    n, d = pos.shape
    src, dst = edge_index
    count = pos.new_zeros(n).index_add(0, dst, torch.ones_like(dst, dtype=pos.dtype)).clamp_min(1)
    mean = pos.new_zeros(n, d).index_add(0, dst, pos[src]) / count[:, None]
    centred = pos[src] - mean[dst]
    cov = pos.new_zeros(n, d, d).index_add(0, dst, centred[:, :, None] * centred[:, None, :]) / count[:, None, None]
    return mean, cov


class PCAFrames(torch.nn.Module):
    """``PCAFrames()(pos [N, d], edge_index [2, E]) -> Frames`` (module docstring); no parameters.

    Args:
        eps: relative tolerance for a repeated eigenvalue or an undecided sign.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = float(eps)

    def forward(self, pos: torch.Tensor, edge_index: torch.Tensor) -> Frames:
        check_tensor(pos, "pos", shape=("N", "d"), dtype="float", finite=True)
        check_edge_index(edge_index, pos.shape[0])
        n, d = pos.shape
        src, dst = edge_index
        mean, cov = neighbourhood_covariance(pos, edge_index)
        evals, evecs = torch.linalg.eigh(cov)  # ascending
        evals, axes = evals.flip(-1), evecs.flip(-1).mT  # rows = axes, decreasing eigenvalue
        scale = evals[:, :1].abs() + torch.finfo(pos.dtype).tiny
        gaps = (evals[:, :-1] - evals[:, 1:]) if d > 1 else evals.new_ones(n, 0)
        degenerate = (gaps <= self.eps * scale).any(dim=1)
        third = pos.new_zeros(n, d).index_add(0, dst, torch.einsum("eij,ej->ei", axes[dst], pos[src] - mean[dst]) ** 3)
        first = pos.new_zeros(n, d).index_add(0, dst, torch.einsum("eij,ej->ei", axes[dst], pos[src] - pos[dst]))
        rms = scale.sqrt()
        use_third = third.abs() > self.eps * rms**3
        use_first = first.abs() > self.eps * rms
        sign = torch.where(use_third, torch.sign(third), torch.where(use_first, torch.sign(first),
                                                                         torch.ones_like(first)))
        degenerate = degenerate | ~(use_third | use_first).all(dim=1)
        return Frames(axes * sign[:, :, None], degenerate)

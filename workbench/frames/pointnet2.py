"""A PointNet++-style network (Qi et al. 2017, single-scale grouping) and its Tensor-Frames version.

:class:`SetAbstraction` is PointNet++'s grouping layer as a message-passing module ``module(x, pos, edge_index)``
(like torch_geometric's ``PointNetConv``): ``out_i = MLP_g(max_j MLP_l([x_j, p_j - p_i]))``; nodes without incoming
edges get zeros before ``MLP_g``. :class:`Interpolation` is PointNet++'s feature propagation: inverse-distance
weighted mean of the senders' features.

:class:`FramesPointNet2` (``points [B, P, 3] -> [B, P, 3]``):

1. SA1: every point groups its ``k`` nearest neighbours;
2. SA2: ``P // ratio`` centres by farthest-point sampling (started at the point farthest from the centroid, so the
   choice follows rotations, reflections and permutations), each grouping its ``k2`` nearest points' SA1 features;
3. FP: every point interpolates the SA2 features of its 3 nearest centres, concatenated with its SA1 features, and
   a per-point MLP gives one vector.

Every grouping and interpolation runs through :class:`FrameMessagePassing` (features change frame from sender to
receiver), so with ``frames="learned"`` or ``"pca"`` the model is O(3)-equivariant; ``frames="none"`` is the same
network on global coordinates.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.frames.cloud_model import INPUT_REPS, FramesCloudModel
from workbench.frames.mpnn import _mlp
from workbench.frames.tensor_reps import TensorReps
from workbench.frames.wrapper import FrameMessagePassing

__all__ = ["FramesPointNet2", "Interpolation", "SetAbstraction", "farthest_point_sampling"]


class SetAbstraction(torch.nn.Module):
    """``SetAbstraction(in_dim, out_dim)(x [N, in_dim], pos [N, d], edge_index) -> [N, out_dim]`` (module doc)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, d: int = 3) -> None:
        super().__init__()
        self.in_dim = int(in_dim)
        self.local = _mlp([in_dim + d, hidden, hidden])
        self.glob = _mlp([hidden, hidden, out_dim])

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=("N", self.in_dim), dtype="float")
        src, dst = edge_index
        m = self.local(torch.cat([x[src], pos[src] - pos[dst]], dim=1))
        pooled = m.new_zeros(x.shape[0], m.shape[1]).scatter_reduce(0, dst[:, None].expand_as(m), m, "amax",
                                                                     include_self=False)
        return self.glob(pooled)


class Interpolation(torch.nn.Module):
    """``Interpolation()(x [N, C], pos [N, d], edge_index) -> [N, C]``: ``sum_j w_ij x_j / sum_j w_ij`` with
    ``w_ij = 1 / (|p_j - p_i|^2 + 1e-8)`` (zeros where nothing arrives)."""

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        src, dst = edge_index
        w = 1.0 / ((pos[src] - pos[dst]).square().sum(1) + 1e-8)
        total = x.new_zeros(x.shape[0]).index_add(0, dst, w).clamp_min(1e-30)
        return x.new_zeros(x.shape).index_add(0, dst, w[:, None] * x[src]) / total[:, None]


def farthest_point_sampling(x: torch.Tensor, m: int) -> torch.Tensor:
    """Indices ``[B, m]`` of ``m`` points of each cloud ``x [B, P, d]`` (centred) by farthest-point sampling,
    started at the point farthest from the centroid (ties: lowest index)."""
    b, p, _ = x.shape
    x = x.detach()
    current = x.norm(dim=2).argmax(dim=1)
    chosen = [current]
    dist = torch.full((b, p), float("inf"), dtype=x.dtype, device=x.device)
    for _ in range(m - 1):
        dist = torch.minimum(dist, (x - x[torch.arange(b), current][:, None]).norm(dim=2))
        current = dist.argmax(dim=1)
        chosen.append(current)
    return torch.stack(chosen, dim=1)


def _knn_between(x: torch.Tensor, senders: torch.Tensor, receivers: torch.Tensor, k: int) -> torch.Tensor:
    """Edges (flattened point indices) from each receiver's ``k`` nearest senders; ``senders [B, S]`` and
    ``receivers [B, R]`` index the points of ``x [B, P, d]``."""
    b, p, _ = x.shape
    batch = torch.arange(b, device=x.device)[:, None]
    dist = torch.cdist(x[batch, receivers].detach(), x[batch, senders].detach())  # [B, R, S]
    order = torch.sort(dist, dim=2, stable=True).indices[:, :, :k]
    src = torch.gather(senders[:, None, :].expand(-1, receivers.shape[1], -1), 2, order) + batch[:, :, None] * p
    dst = (receivers + batch * p)[:, :, None].expand_as(src)
    return torch.stack([src.reshape(-1), dst.reshape(-1)])


class FramesPointNet2(FramesCloudModel):
    """``points [B, P, 3] -> vectors [B, P, 3]``: PointNet++-style set abstraction in local frames (module doc).

    Args:
        frames: ``"learned"``, ``"pca"`` or ``"none"``.
        k: neighbours of SA1 (and of the frames); k2: points grouped by each SA2 centre; ratio: points per centre.
        reps1, reps2: :class:`TensorReps` of the SA1 and SA2 features.
        mlp_hidden: width of the MLPs.
    """

    def __init__(self, frames: str = "learned", k: int = 16, k2: int = 32, ratio: int = 4,
                 reps1: str = "16x0+8x1", reps2: str = "32x0+8x1", mlp_hidden: int = 64) -> None:
        super().__init__(frames, k)
        for name, value, low in (("k2", k2, 1), ("ratio", ratio, 1), ("mlp_hidden", mlp_hidden, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.k2, self.ratio = k2, ratio
        r1, r2 = TensorReps(reps1), TensorReps(reps2)
        self.sa1 = FrameMessagePassing(SetAbstraction(INPUT_REPS.dim, r1.dim, mlp_hidden), INPUT_REPS, r1)
        self.sa2 = FrameMessagePassing(SetAbstraction(r1.dim, r2.dim, mlp_hidden), r1, r2)
        self.fp = FrameMessagePassing(Interpolation(), r2, r2)
        self.head = _mlp([r1.dim + r2.dim, mlp_hidden, mlp_hidden, 3])

    def _run(self, layer: FrameMessagePassing, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
             frames: torch.Tensor) -> torch.Tensor:
        if self.uses_frames:
            return layer(h, pos, edge_index, frames, local=True)
        return layer.module(h, pos, edge_index)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [B, P, 3]`` -> ``[B, P, 3]``."""
        pos, edge_index, frames, h = self.prepare(points)
        b, p, _ = points.shape
        x = pos.reshape(b, p, 3)
        centres = farthest_point_sampling(x, max(1, p // self.ratio))
        everyone = torch.arange(p, device=points.device).expand(b, p)
        if self.uses_frames:
            h = INPUT_REPS.transform(h, frames)
        h1 = self._run(self.sa1, h, pos, edge_index, frames)
        h2 = self._run(self.sa2, h1, pos, _knn_between(x, everyone, centres, min(self.k2, p)), frames)
        up = self._run(self.fp, h2, pos, _knn_between(x, centres, everyone, min(3, centres.shape[1])), frames)
        out = self.head(torch.cat([h1, up], dim=1))
        return self.to_global(out, frames, points.shape) if self.uses_frames else out.reshape(points.shape)

"""A plain message-passing network and its Tensor-Frames version: :class:`EdgeMLPConv`, :class:`FramesMPNN`.

:class:`EdgeMLPConv` is an ordinary (not equivariant) MPNN layer, ``module(x, pos, edge_index)``::

    m_ij  = MLP_m([x_i, x_j, p_j - p_i, |p_j - p_i|])      a_i = mean_j m_ij
    out_i = MLP_u([x_i, a_i])

:class:`FramesMPNN` stacks ``num_layers`` of them on the k-NN graph of a cloud, each wrapped in
:class:`FrameMessagePassing` (features stay local between layers; hidden features ``hidden`` = scalars and vectors,
so messages really change frame), and reads out one vector per point. With ``frames="none"`` the same layers run
directly on the global coordinates: the same architecture without frames.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.frames.cloud_model import INPUT_REPS, FramesCloudModel
from workbench.frames.tensor_reps import TensorReps
from workbench.frames.wrapper import FrameMessagePassing

__all__ = ["EdgeMLPConv", "FramesMPNN"]


def _mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


class EdgeMLPConv(torch.nn.Module):
    """``EdgeMLPConv(in_dim, out_dim)(x [N, in_dim], pos [N, d], edge_index [2, E]) -> [N, out_dim]`` (module
    docstring); nodes without incoming edges get ``a_i = 0``."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, d: int = 3) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.d = int(in_dim), int(out_dim), int(d)
        self.message = _mlp([2 * in_dim + d + 1, hidden, hidden])
        self.update = _mlp([in_dim + hidden, hidden, out_dim])

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=("N", self.in_dim), dtype="float")
        src, dst = edge_index
        rel = pos[src] - pos[dst]
        m = self.message(torch.cat([x[dst], x[src], rel, rel.norm(dim=1, keepdim=True)], dim=1))
        count = x.new_zeros(x.shape[0]).index_add(0, dst, torch.ones_like(dst, dtype=x.dtype)).clamp_min(1)
        agg = x.new_zeros(x.shape[0], m.shape[1]).index_add(0, dst, m) / count[:, None]
        return self.update(torch.cat([x, agg], dim=1))


class FramesMPNN(FramesCloudModel):
    """``points [B, P, 3] -> vectors [B, P, 3]``: stacked :class:`EdgeMLPConv` in local frames (module docstring).

    Args:
        frames: ``"learned"``, ``"pca"`` or ``"none"``.
        k: neighbours per point.
        hidden: :class:`TensorReps` of the hidden features (default ``"16x0+8x1"``).
        num_layers: message-passing layers (>= 1).
        mlp_hidden: width of the message and update MLPs.
    """

    def __init__(self, frames: str = "learned", k: int = 16, hidden: str = "16x0+8x1", num_layers: int = 3,
                 mlp_hidden: int = 64) -> None:
        super().__init__(frames, k)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be an integer >= 1, got {num_layers!r}")
        reps = [INPUT_REPS] + [TensorReps(hidden)] * (num_layers - 1) + [TensorReps("1x1")]
        self.layers = torch.nn.ModuleList(
            FrameMessagePassing(EdgeMLPConv(a.dim, b.dim, mlp_hidden), a, b) for a, b in zip(reps, reps[1:]))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [B, P, 3]`` -> ``[B, P, 3]``."""
        pos, edge_index, frames, h = self.prepare(points)
        if not self.uses_frames:  # the same layers, plain, on global coordinates
            for layer in self.layers:
                h = layer.module(h, pos, edge_index)
            return h.reshape(points.shape)
        h = self.layers[0].reps_in.transform(h, frames)
        for layer in self.layers:
            h = layer(h, pos, edge_index, frames, local=True)
        return self.to_global(h, frames, points.shape)

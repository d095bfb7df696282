"""Run any message-passing module in local frames: the Tensor Frames wrapper.

:class:`FrameMessagePassing` takes an existing module that maps node features over a graph,
``module(x, pos, edge_index)`` (the project's :class:`workbench.nn.EquivariantConvolution`, torch_geometric's
``PointNetConv``) or ``module(x, edge_index)`` (``EdgeConv``, ``GINConv``, ``GATConv``, ...), and evaluates it so that
every receiver ``i`` sees its whole neighbourhood in its own frame ``F_i``:

- the receiver's own features are its local features ``x_i^(i) = rho_in(F_i) x_i``, its position the origin;
- every edge ``j -> i`` gets a *message copy* of the sender: features transformed from the sender's frame to the
  receiver's, ``rho_in(F_i F_j^T) x_j^(j)`` (:meth:`TensorReps.change_frame`), at position ``F_i (p_j - p_i)``;
- the module runs unchanged on this graph (receivers + one copy per edge, edges copy -> receiver) and its
  outputs at the receivers, local features of ``reps_out``, go back to the global frame with ``rho_out(F_i)^T``.

Everything the module sees is invariant under a global O(d) transformation (frames ``F -> F g^T``), so the wrapped
module is O(d)-equivariant for any module, with no change to its code: ``f(g x) = rho_out(g) f(x)``. It is
permutation-equivariant when the module is. Constraints, stated plainly: the module must aggregate over incoming
edges (sum, mean, max, attention); it sees each sender once per edge, so a sender-degree normalization (GCNConv's
``1/sqrt(deg_j)``) sees degree 1 (self-loops are added to copies too) and absolute positions are relative to the
receiver. The price is one copy of the sender's features per edge (``N + E`` nodes instead of ``N``); measured in
the normals pipeline.

torch_geometric is not needed by the wrapper itself (stock PyG layers are just modules to it).

Examples:
    >>> import torch
    >>> from workbench.frames import FrameMessagePassing, TensorReps, PCAFrames, knn_graph
    >>> class Sum(torch.nn.Module):                      # any message passing: sum of neighbours' x and positions
    ...     def forward(self, x, pos, edge_index):
    ...         out = torch.zeros(x.shape[0], 6, dtype=x.dtype).index_add(0, edge_index[1],
    ...             torch.cat([x, pos], 1)[edge_index[0]])
    ...         return out
    >>> wrapped = FrameMessagePassing(Sum(), "1x1", "2x1")
    >>> pts = torch.randn(1, 12, 3, dtype=torch.float64); vec = torch.randn(12, 3, dtype=torch.float64)
    >>> ei = knn_graph(pts, 5); frames = PCAFrames()(pts[0], ei).matrix
    >>> wrapped(vec, pts[0], ei, frames).shape
    torch.Size([12, 6])
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.frames.tensor_reps import TensorReps
from workbench.nn.graph import check_edge_index

__all__ = ["FrameMessagePassing", "message_copies"]


def message_copies(x_local: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor, frames: torch.Tensor,
                   reps: TensorReps) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The graph the wrapped module runs on (module docstring).

    Args:
        x_local: local features ``[N, reps.dim]`` (each row in its own node's frame).
        pos: positions ``[N, d]``; edge_index ``[2, E]`` (source -> target); frames ``[N, d, d]``.

    Returns:
        ``x [N + E, reps.dim]`` (receivers, then one copy per edge in the receiver's frame), ``pos [N + E, d]``
        (receivers at the origin, copies at ``F_i (p_j - p_i)``) and ``edge_index [2, E]`` (copy ``N + e`` ->
        receiver ``edge_index[1, e]``).
    """
    n = x_local.shape[0]
    src, dst = edge_index
    copies = reps.change_frame(x_local[src], frames[src], frames[dst])
    rel = torch.einsum("eij,ej->ei", frames[dst], pos[src] - pos[dst])
    x_all = torch.cat([x_local, copies], dim=0)
    pos_all = torch.cat([torch.zeros_like(pos), rel], dim=0)
    new_index = torch.stack([torch.arange(n, n + src.shape[0], device=src.device), dst])
    return x_all, pos_all, new_index


class FrameMessagePassing(torch.nn.Module):
    """``module`` evaluated in local frames (module docstring).

    Args:
        module: the message-passing module, called as ``module(x, pos, edge_index)`` or ``module(x, edge_index)``.
        reps_in, reps_out: :class:`TensorReps` (or strings) of its input and output features, e.g. ``"8x0+4x1"``.
        positions: pass positions to the module (default: when its ``forward`` has a parameter named ``pos``).

    ``forward(x, pos, edge_index, frames, local=False)``: ``x [N, reps_in.dim]``, ``pos [N, d]``, ``edge_index
    [2, E]`` (source -> target), ``frames [N, d, d]`` (rows = axes, e.g. ``LearnedFrames(...)(pos, edge_index)
    .matrix``). Returns ``[N, reps_out.dim]`` in the global frame; with ``local=True`` features go in and come out
    as local features (each row in its own node's frame), for stacking wrapped layers without round trips.
    """

    def __init__(self, module: torch.nn.Module, reps_in: Any, reps_out: Any, d: int = 3,
                 positions: bool | None = None) -> None:
        super().__init__()
        if not callable(module):
            raise TypeError(f"module must be a callable torch.nn.Module, got {type(module).__name__}")
        self.module = module
        self.reps_in = reps_in if isinstance(reps_in, TensorReps) else TensorReps(reps_in, d)
        self.reps_out = reps_out if isinstance(reps_out, TensorReps) else TensorReps(reps_out, d)
        if self.reps_in.d != self.reps_out.d:
            raise ValueError(f"reps_in and reps_out must have the same d, got {self.reps_in!r}, {self.reps_out!r}")
        self.d = self.reps_in.d
        if positions is None:
            forward = getattr(module, "forward", module)
            positions = "pos" in inspect.signature(forward).parameters
        self.positions = bool(positions)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor, frames: torch.Tensor,
                local: bool = False) -> torch.Tensor:
        check_tensor(x, "x", shape=("N", self.reps_in.dim), dtype="float", hint=self.reps_in)
        n = x.shape[0]
        check_tensor(pos, "pos", shape=(n, self.d), dtype="float", finite=True, hint="one position per row of x")
        check_tensor(frames, "frames", shape=(n, self.d, self.d), dtype="float", finite=True, hint="rows = axes")
        check_edge_index(edge_index, n)
        x_local = x if local else self.reps_in.transform(x, frames)
        x_all, pos_all, index = message_copies(x_local, pos, edge_index, frames, self.reps_in)
        out = self.module(x_all, pos_all, index) if self.positions else self.module(x_all, index)
        if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != x_all.shape[0]:
            raise ValueError(f"the wrapped module must return one row per node [N + E, reps_out.dim], got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
        if out.shape[1] != self.reps_out.dim:
            raise ValueError(f"the wrapped module returned {out.shape[1]} features, reps_out {self.reps_out} has "
                             f"{self.reps_out.dim}")
        out = out[:n]
        return out if local else self.reps_out.transform(out, frames.mT)

"""Orthonormal O(d) frames from equivariant vectors: Gram-Schmidt, the generalized cross product, and the
orientation (reflection) sign, with a documented fallback for degenerate inputs.

Convention: a frame is an orthogonal ``F [d, d]`` whose rows are its axes in global coordinates (local coordinates
``F v``); if the input vectors transform as ``v -> g v`` for ``g`` in O(d), the frame transforms as ``F -> F g^T``.

:func:`gram_schmidt_frames` takes ``m >= d`` candidate vectors per node ``[N, m, d]``:

1. the first ``d - 1`` axes are Gram-Schmidt of the candidates ``0 .. m-2`` in order, where a candidate whose
   residual (after removing the axes found so far) is shorter than ``eps`` times the longest candidate is skipped
   and the next one is tried (spare candidates make degeneracy rarer and keep the frame equivariant);
2. the last axis is the generalized cross product of the first ``d - 1`` (cofactor vector; ``e1 x e2`` for d = 3),
   which makes a proper frame (``det = +1``);
3. ``orientation=True`` multiplies it by ``s = sign(v_last . e_d)``, with ``v_last`` the last candidate: ``s`` is a
   pseudo-scalar (it flips under reflections), so ``det F = s`` follows the handedness of the input and the frames
   are O(d)-equivariant, reflections included. ``orientation=False`` gives SO(d) frames (rotations only).

**Fallback (documented, never NaN).** A node is *degenerate* when fewer than ``d - 1`` candidates are independent
(all neighbours on a line, one neighbour, coincident points, no neighbour) or, with ``orientation``, when
``|v_last . e_d| <= eps |v_last|`` (a planar configuration has no handedness). No equivariant frame exists for such a
symmetric input, so the missing axes are completed by Gram-Schmidt of the global unit axes and a missing orientation
is taken as ``+1``. The result is a finite orthogonal matrix; it is *not* equivariant at that node, and the node is
reported in :attr:`Frames.degenerate` so callers can check, count or refuse.

Examples:
    >>> import torch
    >>> from workbench.frames import gram_schmidt_frames
    >>> v = torch.tensor([[[2., 0., 0.], [1., 3., 0.], [0., 0., -1.]]], dtype=torch.float64)
    >>> f = gram_schmidt_frames(v)
    >>> f.matrix[0].tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]   # det -1: left-handed input
    True
    >>> bool(f.degenerate[0])
    False
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from workbench.checks import check_tensor

__all__ = ["Frames", "gram_schmidt_frames", "cofactor_vector"]


class Frames(NamedTuple):
    """Local frames ``matrix [N, d, d]`` (rows = axes) and ``degenerate [N]`` (bool: the fallback was used)."""

    matrix: torch.Tensor
    degenerate: torch.Tensor


def cofactor_vector(rows: torch.Tensor) -> torch.Tensor:
    """Generalized cross product of ``rows [N, d-1, d]``: ``c [N, d]`` orthogonal to every row with
    ``det([rows; c]) = |c|^2`` (unit when the rows are orthonormal); ``e1 x e2`` for d = 3."""
    n, k, d = rows.shape
    if k != d - 1:
        raise ValueError(f"rows must be [N, d-1, d], got {tuple(rows.shape)}")
    if d == 1:
        return rows.new_ones(n, 1)
    cols = []
    for j in range(d):
        minor = torch.cat([rows[:, :, :j], rows[:, :, j + 1:]], dim=2)
        cols.append((-1.0) ** (d - 1 + j) * torch.linalg.det(minor))
    return torch.stack(cols, dim=1)


def _accept(axes: torch.Tensor, count: torch.Tensor, v: torch.Tensor, tol: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Try to add candidate ``v [N, d]`` as the next axis of every node (where its residual is long enough)."""
    k = axes.shape[1]
    residual = v
    for _ in range(2):  # project twice ("twice is enough"): orthogonal to rounding even for near-parallel inputs
        residual = residual - torch.einsum("nkd,nk->nd", axes, torch.einsum("nkd,nd->nk", axes, residual))
    norm = residual.norm(dim=1)
    ok = (norm > tol) & (count < k)
    unit = residual / norm.clamp_min(torch.finfo(v.dtype).tiny).clamp_min(tol)[:, None]
    slot = torch.nn.functional.one_hot(count.clamp(max=k - 1), k).to(v.dtype) * ok[:, None].to(v.dtype)
    return axes + slot[:, :, None] * unit[:, None, :], count + ok.long()


def gram_schmidt_frames(vectors: torch.Tensor, *, orientation: bool = True, eps: float = 1e-6) -> Frames:
    """O(d) frames ``[N, d, d]`` from candidate vectors ``[N, m, d]`` (``m >= d``, float), module docstring.

    Args:
        vectors: equivariant candidate vectors per node; the last one sets the orientation.
        orientation: True for O(d) frames (reflections through the sign of ``v_last . e_d``); False: SO(d).
        eps: relative threshold for a candidate or an orientation to count (see the fallback).

    Returns:
        :class:`Frames` (``matrix`` orthogonal, same dtype as ``vectors``; ``degenerate`` where the fallback ran).
    """
    check_tensor(vectors, "vectors", shape=("N", "m", "d"), dtype="float", hint="candidate vectors per node")
    n, m, d = vectors.shape
    if d < 2 or m < d:
        raise ValueError(f"vectors must hold m >= d >= 2 candidates per node ([N, m, d]), got {tuple(vectors.shape)}")
    check_tensor(vectors, "vectors", finite=True)
    scale = vectors.norm(dim=2).amax(dim=1)
    tol = eps * scale + torch.finfo(vectors.dtype).tiny
    axes = vectors.new_zeros(n, d - 1, d)
    count = torch.zeros(n, dtype=torch.long, device=vectors.device)
    for c in range(m - 1):
        axes, count = _accept(axes, count, vectors[:, c], tol)
    degenerate = count < d - 1
    eye = torch.eye(d, dtype=vectors.dtype, device=vectors.device)
    for c in range(d):  # fallback: the global axes; some residual is >= sqrt(2/d) while an axis is missing
        axes, count = _accept(axes, count, eye[c].expand(n, d), torch.full_like(tol, d**-0.5))
    last = cofactor_vector(axes)
    if orientation:
        v = vectors[:, -1]
        dot = (v * last).sum(dim=1)
        flat = dot.abs() <= eps * v.norm(dim=1) + torch.finfo(vectors.dtype).tiny
        sign = torch.where(flat, torch.ones_like(dot), torch.sign(dot))
        degenerate = degenerate | flat
        last = last * sign[:, None]
    return Frames(torch.cat([axes, last[:, None, :]], dim=1), degenerate)

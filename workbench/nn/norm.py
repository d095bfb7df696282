"""Equivariant normalization and dropout.

:class:`EquivariantLayerNorm` is Equiformer's ``EquivariantLayerNormV2``: per irreps segment, scalars (the
trivial irrep) are centred over channels and divided by their RMS; other irreps are divided by the RMS over
channels of their per-copy mean squared component; then a learnable per-channel scale (and a bias for
scalars). :class:`EquivariantDropout` drops whole irrep copies (the same Bernoulli mask for every component of
a copy), so it commutes with the group action.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import LieGroup, as_irreps
from workbench.nn.same_irreps import SameIrreps

__all__ = ["EquivariantLayerNorm", "EquivariantDropout"]


class EquivariantLayerNorm(SameIrreps, torch.nn.Module):
    """Equiformer's equivariant LayerNorm on ``[..., irreps.dim]`` (O(3) or compact groups).

    Args:
        irreps: O(3) irreps or irreps of ``group``.
        eps: added to the mean square before the square root.
        affine: learnable per-channel scale (all irreps) and bias (scalars).
    """

    def __init__(
        self, irreps: Any, eps: float = 1e-5, affine: bool = True, group: LieGroup | str | None = None
    ) -> None:
        super().__init__()
        space = as_irreps(irreps, group)
        if space.is_complex:
            raise ValueError("EquivariantLayerNorm needs real irreps with an invariant Euclidean norm")
        self.irreps, self.eps = space, float(eps)
        self._segs = [(m, ir.dim, space.is_trivial(ir)) for m, ir in space]
        n_scale = sum(m for m, _, _ in self._segs)
        n_bias = sum(m for m, _, t in self._segs if t)
        self.affine = bool(affine)
        if affine:
            self.weight = torch.nn.Parameter(torch.ones(n_scale))
            self.bias = torch.nn.Parameter(torch.zeros(n_bias))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.irreps.dim), hint=self.irreps)
        outs, ws, bs = [], 0, 0
        for (m, d, trivial), seg in zip(self._segs, x.split([m * d for m, d, _ in self._segs], dim=-1)):
            if m * d == 0:
                continue
            v = seg.reshape(seg.shape[:-1] + (m, d))
            if trivial:
                v = v - v.mean(dim=-2, keepdim=True)
            norm = v.pow(2).mean(dim=-1, keepdim=True).mean(dim=-2, keepdim=True)
            v = v * torch.rsqrt(norm + self.eps)
            if self.affine:
                v = v * self.weight[ws : ws + m].to(x.dtype)[:, None]
                if trivial:
                    v = v + self.bias[bs : bs + m].to(x.dtype)[:, None]
                    bs += m
            ws += m
            outs.append(v.reshape(seg.shape))
        return torch.cat(outs, dim=-1) if outs else x


class EquivariantDropout(SameIrreps, torch.nn.Module):
    """Drops whole irrep copies with probability ``p`` during training (scaled by ``1/(1-p)``); identity in
    eval mode. Input/output ``[..., irreps.dim]``."""

    def __init__(self, irreps: Any, p: float = 0.1, group: LieGroup | str | None = None) -> None:
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p}")
        space = as_irreps(irreps, group)
        self.irreps, self.p = space, float(p)
        index = []
        copy = 0
        for m, ir in space:
            d = ir.dim
            for _ in range(m):
                index.extend([copy] * d)
                copy += 1
        self.register_buffer("_copy_index", torch.tensor(index, dtype=torch.long), persistent=False)
        self._num_copies = copy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.irreps.dim), hint=self.irreps)
        if not self.training or self.p == 0.0:
            return x
        real = x.real.dtype if x.is_complex() else x.dtype
        keep = torch.bernoulli(
            torch.full(x.shape[:-1] + (self._num_copies,), 1.0 - self.p, dtype=real, device=x.device)
        )
        mask = keep.index_select(-1, self._copy_index) / (1.0 - self.p)
        return x * mask.to(x.dtype)

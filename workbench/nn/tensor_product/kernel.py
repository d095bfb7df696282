"""Triton evaluation: the channelwise (``uvu``) kernel of :mod:`workbench.kernels`, for O(3) products whose
instructions are all ``uvu`` with weights and whose variances are the defaults (same numbers as the torch plans).

Triton itself is never imported here: :mod:`workbench.kernels` imports it lazily, only when a kernel is compiled
(an optional heavy dependency), so CPU-only installs without Triton import this module freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workbench.groups import Irreps, o3
from workbench.kernels import UVUSpec, uvu_spec, uvu_tensor_product

__all__ = ["INELIGIBLE", "KernelEvaluator", "kernel_instructions", "kernel_spec"]

INELIGIBLE = ("backend='triton' covers O(3) products whose instructions are all 'uvu' with weights "
              "and default variances; use backend='torch' (or 'auto') for this one")


def kernel_instructions(
    irreps_out: Irreps, raw: Sequence[tuple], variances: Sequence[float]
) -> list[tuple] | None:
    """The checked instructions as e3nn tuples when the kernel covers the product, else ``None``."""
    ok = (
        isinstance(irreps_out, o3.Irreps)
        and all(mode == "uvu" and has_w for _, _, _, mode, has_w, _ in raw)
        and all(v == 1.0 for v in variances)
    )
    return [tuple(i) for i in raw] if ok else None


def kernel_spec(
    irreps_in1: Irreps, irreps_in2: Irreps, irreps_out: Irreps, instructions: list[tuple],
    irrep_normalization: str, path_normalization: str,
) -> UVUSpec:
    """The kernel's :class:`workbench.kernels.UVUSpec` (same paths, normalization and weight layout)."""
    return uvu_spec(irreps_in1, irreps_in2, irreps_out, instructions,
                    irrep_normalization=irrep_normalization, path_normalization=path_normalization)


class KernelEvaluator:
    """``(x1 [n, d1], x2 [n, d2], w [W] or [n, W]) -> [n, d_out]`` by the Triton kernel (shared weights are
    broadcast to the rows; an empty batch gives an empty output without launching a kernel)."""

    def __init__(self, spec: UVUSpec) -> None:
        self.spec = spec

    def __call__(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if x1.shape[0] == 0:
            return x1.new_zeros(0, self.spec.dim_out)
        if w.dim() == 1:
            w = w.expand(x1.shape[0], w.shape[0])
        return uvu_tensor_product(x1, x2, w, self.spec, backend="triton")


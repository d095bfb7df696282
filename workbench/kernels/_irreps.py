"""Small conversions shared by the kernel modules (irreps to plain tuples, argument checks)."""

from __future__ import annotations

from typing import Any

import torch

from workbench.groups.o3 import Irreps

IrrepsTuple = tuple[tuple[int, int, int], ...]  # ((mul, l, p), ...)


def as_irreps_tuple(irreps: Any, name: str) -> IrrepsTuple:
    """``"16x0e+8x1o"`` / ``workbench.groups.o3.Irreps`` / e3nn-like Irreps -> ``((16, 0, 1), (8, 1, -1))``."""
    try:
        parsed = Irreps(irreps if isinstance(irreps, str) else str(irreps) if hasattr(irreps, "dim") else irreps)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be irreps such as '16x0e+8x1o', got {irreps!r}: {exc}") from exc
    return tuple((int(mul), int(ir.l), int(ir.p)) for mul, ir in parsed)


def irreps_str(irreps: IrrepsTuple) -> str:
    """``((16, 0, 1),)`` -> ``"16x0e"``."""
    return "+".join(f"{mul}x{l}{'e' if p == 1 else 'o'}" for mul, l, p in irreps)


def irreps_dim(irreps: IrrepsTuple) -> int:
    return sum(mul * (2 * l + 1) for mul, l, _ in irreps)


def irreps_offsets(irreps: IrrepsTuple) -> list[int]:
    """Start offset of each term in the ``mul_ir`` layout."""
    offsets, start = [], 0
    for mul, l, _ in irreps:
        offsets.append(start)
        start += mul * (2 * l + 1)
    return offsets


#: The dtypes the kernels compute in.
KERNEL_DTYPES = (torch.float32, torch.float64)


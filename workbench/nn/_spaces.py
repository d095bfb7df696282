"""Internal adapter that lets every layer treat O(3) irreps and the irreps of any workbench group alike.

A *space* is an ordered list of ``(mul, ir)`` segments plus the group operations the layers need:

- ``dim(ir)``: dimension of an irrep;
- ``products(ir1, ir2)``: the irreps that occur in ``ir1 x ir2``;
- ``coupling(ir1, ir2, ir3)``: the coupling tensor ``C[m, i, j, k]`` (float64, or complex128 for complex
  irreps) such that ``z_k = sum_ij C[m, i, j, k] x_i y_j`` is an equivariant map ``ir1 x ir2 -> ir3`` for each
  copy ``m`` (``m > 1`` only for groups whose tensor products have multiplicities), each copy with Frobenius
  norm 1 (e3nn's ``wigner_3j`` normalization);
- ``is_trivial(ir)``: whether ``ir`` is the trivial (scalar, even) irrep.

Features are laid out ``mul_ir`` (multiplicity-major inside each segment), like e3nn.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["IrrepSpace", "as_space"]


class IrrepSpace:
    """Base class for the O(3) and generic-group adapters (internal)."""

    group: Any
    segments: list[tuple[int, Any]]

    @property
    def dim(self) -> int:
        return sum(mul * self.ir_dim(ir) for mul, ir in self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self):
        return iter(self.segments)

    def slices(self) -> list[slice]:
        out, start = [], 0
        for mul, ir in self.segments:
            stop = start + mul * self.ir_dim(ir)
            out.append(slice(start, stop))
            start = stop
        return out

    def ir_dim(self, ir: Any) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def products(self, ir1: Any, ir2: Any) -> list[Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def coupling(self, ir1: Any, ir2: Any, ir3: Any) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def is_trivial(self, ir: Any) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def is_complex(self) -> bool:
        return False

    def same_group(self, other: IrrepSpace) -> bool:
        return type(self) is type(other) and self.group is other.group

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def parse_irrep(self, ir: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def sort_key(self, ir: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def with_segments(self, segments: list[tuple[int, Any]]) -> IrrepSpace:  # pragma: no cover - overridden
        raise NotImplementedError


class O3Space(IrrepSpace):
    """O(3) irreps in the e3nn 0.6 basis (``workbench.groups.o3``)."""

    def __init__(self, irreps: Any) -> None:
        from workbench.groups import o3

        self.group = "O3"
        try:
            self.irreps = o3.Irreps(irreps)
        except (ValueError, TypeError, AssertionError) as exc:
            raise ValueError(
                f"irreps={irreps!r} is not a valid O(3) irreps specification; expected e.g. '16x0e+8x1o+4x2e'"
            ) from exc
        self.segments = [(int(mul), ir) for mul, ir in self.irreps]

    def ir_dim(self, ir: Any) -> int:
        return int(ir.dim)

    def products(self, ir1: Any, ir2: Any) -> list[Any]:
        return list(ir1 * ir2)

    def coupling(self, ir1: Any, ir2: Any, ir3: Any) -> torch.Tensor:
        from workbench.groups import o3

        if ir1.p * ir2.p != ir3.p or not abs(ir1.l - ir2.l) <= ir3.l <= ir1.l + ir2.l:
            raise ValueError(f"{ir3} does not occur in {ir1} x {ir2}")
        return o3.wigner_3j(ir1.l, ir2.l, ir3.l, dtype=torch.float64)[None]

    def is_trivial(self, ir: Any) -> bool:
        return ir.l == 0 and ir.p == 1

    def describe(self) -> str:
        return str(self.irreps)

    def parse_irrep(self, ir: Any) -> Any:
        from workbench.groups import o3

        return o3.Irrep(ir)

    def sort_key(self, ir: Any) -> Any:
        return ir

    def with_segments(self, segments: list[tuple[int, Any]]) -> O3Space:
        from workbench.groups import o3

        return O3Space(o3.Irreps([(mul, ir) for mul, ir in segments]))


def as_space(irreps: Any, group: Any = None) -> IrrepSpace:
    """Turn ``irreps`` (O(3) irreps, or irreps of ``group``) into an :class:`IrrepSpace`.

    ``group=None`` means O(3) in the e3nn basis; any other value must be a ``workbench.groups`` group, in which
    case ``irreps`` is a :class:`workbench.nn.GroupIrreps`, a string like ``"2x(0,0)+1x(1/2,1/2)"`` or a list
    of ``(mul, label)`` pairs.
    """
    if isinstance(irreps, IrrepSpace):
        if group is not None and irreps.group is not group:
            raise ValueError(f"irreps belong to {irreps.group!r}, not to group={group!r}")
        return irreps
    if group is None:
        from workbench.nn.group_irreps import GroupIrreps

        if isinstance(irreps, GroupIrreps):
            return irreps
        return O3Space(irreps)
    from workbench.nn.group_irreps import GroupIrreps

    if isinstance(irreps, GroupIrreps):
        if irreps.group is not group:
            raise ValueError(f"irreps belong to {irreps.group!r}, not to group={group!r}")
        return irreps
    return GroupIrreps(group, irreps)

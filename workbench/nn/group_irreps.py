"""Irreps with multiplicities for any ``workbench.groups`` group (the generic counterpart of ``o3.Irreps``).

``GroupIrreps(Lorentz(), "2x(0,0)+1x(1/2,1/2)")`` or ``GroupIrreps(group, [(2, (0, 0)), (1, (0.5, 0.5))])``.
Features are laid out ``mul_ir`` like e3nn. The coupling tensors used by the layers are *projections*
``z_k = sum_ij P[i, j, k] x_i y_j`` from ``ir1 x ir2`` onto ``ir3``, built from ``group.clebsch_gordan`` and
``group.decompose`` (whichever direction the group returns, this module converts and checks it against the
Lie-algebra generators), each copy normalized to Frobenius norm 1. They are float64 for real irreps and
complex128 when the group's irreps are complex (then features must be complex).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import torch

from workbench.nn._spaces import IrrepSpace

__all__ = ["GroupIrreps", "GroupIrrep"]


class GroupIrrep:
    """An irrep of a generic group: hashable by its canonical label; ``.dim``, ``.rep`` (the group's object)."""

    __slots__ = ("group", "label", "name", "rep", "dim")

    def __init__(self, group: Any, label: Any) -> None:
        try:
            rep = group.irrep(label)
        except Exception as exc:  # the group raises its own clear error; re-raise with our context
            raise ValueError(f"{label!r} is not an irrep label of {group!r}: {exc}") from exc
        self.group = group
        self.rep = rep
        canonical = getattr(rep, "label", label)
        self.label = canonical
        fmt = getattr(group, "format_label", None)
        self.name = fmt(canonical) if callable(fmt) else str(canonical)
        self.dim = int(rep.dim)

    def _key(self) -> Any:
        return (id(self.group), str(self.label))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GroupIrrep):
            return self._key() == other._key()
        try:
            return self == GroupIrrep(self.group, other)
        except ValueError:
            return False

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return self.name

    def generators(self) -> torch.Tensor:
        """Lie-algebra generators ``[n, dim, dim]`` (float64 or complex128)."""
        gens = self.rep.generators
        return gens if isinstance(gens, torch.Tensor) else torch.as_tensor(gens)

    def matrix(self, element: Any) -> torch.Tensor:
        """The irrep's matrix of a group element, ``[dim, dim]``."""
        return torch.as_tensor(self.rep.matrix(element))

    def is_complex(self) -> bool:
        g = self.generators()
        return bool(g.is_complex() and g.imag.abs().max() > 1e-12)


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "+" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


class GroupIrreps(IrrepSpace):
    """Irreps with multiplicities of a ``workbench.groups`` group.

    Args:
        group: the group (must provide ``irrep``, ``clebsch_gordan``, ``decompose``).
        irreps: ``"2x(0,0)+(1/2,1/2)"``, or an iterable of ``(mul, label)`` pairs / bare labels.
    """

    def __init__(self, group: Any, irreps: Any) -> None:
        if group is None:
            raise TypeError("group must be a workbench.groups group, got None")
        self.group = group
        segments: list[tuple[int, GroupIrrep]] = []
        if isinstance(irreps, GroupIrreps):
            segments = list(irreps.segments)
        elif isinstance(irreps, str):
            for part in _split_top_level(irreps):
                m = re.fullmatch(r"(\d+)\s*x\s*(.+)", part)
                mul, label = (int(m.group(1)), m.group(2).strip()) if m else (1, part)
                segments.append((mul, GroupIrrep(group, label)))
        elif isinstance(irreps, Iterable):
            for item in irreps:
                if isinstance(item, GroupIrrep):
                    segments.append((1, item))
                elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int):
                    mul, label = item
                    ir = label if isinstance(label, GroupIrrep) else GroupIrrep(group, label)
                    segments.append((mul, ir))
                else:
                    segments.append((1, GroupIrrep(group, item)))
        else:
            raise TypeError(
                f"irreps={irreps!r}: expected a string like '2x(0,0)+(1/2,1/2)' or a list of (mul, label) pairs"
            )
        for mul, _ in segments:
            if mul < 0:
                raise ValueError(f"irreps={irreps!r}: multiplicities must be >= 0")
        self.segments = segments

    # IrrepSpace interface -------------------------------------------------------------------------
    def ir_dim(self, ir: GroupIrrep) -> int:
        return ir.dim

    def products(self, ir1: GroupIrrep, ir2: GroupIrrep) -> list[GroupIrrep]:
        return [GroupIrrep(self.group, label) for label, _ in _decompose(self.group, ir1, ir2)]

    def coupling(self, ir1: GroupIrrep, ir2: GroupIrrep, ir3: GroupIrrep) -> torch.Tensor:
        return _projection(self.group, ir1, ir2, ir3)

    def is_trivial(self, ir: GroupIrrep) -> bool:
        if ir.dim != 1:
            return False
        g = ir.generators()
        return bool(g.abs().max() < 1e-12) if g.numel() else True

    def is_complex(self) -> bool:
        return any(ir.is_complex() for _, ir in self.segments)

    def describe(self) -> str:
        return "+".join(f"{mul}x{ir.name}" for mul, ir in self.segments)

    def parse_irrep(self, ir: Any) -> GroupIrrep:
        return ir if isinstance(ir, GroupIrrep) else GroupIrrep(self.group, ir)

    def sort_key(self, ir: GroupIrrep) -> Any:
        return (ir.dim, str(ir.label))

    def with_segments(self, segments: list[tuple[int, Any]]) -> GroupIrreps:
        return GroupIrreps(self.group, list(segments))

    def __repr__(self) -> str:
        return f"GroupIrreps({self.describe()})"

    def randn(self, *batch: int, dtype: torch.dtype | None = None, generator: torch.Generator | None = None):
        """Random features ``[*batch, dim]`` (complex when the irreps are complex)."""
        if dtype is None:
            dtype = torch.complex128 if self.is_complex() else torch.get_default_dtype()
        return torch.randn(*batch, self.dim, dtype=dtype, generator=generator)

    def matrix(self, element: Any) -> torch.Tensor:
        """Block-diagonal representation matrix ``[dim, dim]`` of a group element, ``mul_ir`` layout."""
        blocks = []
        for mul, ir in self.segments:
            d = ir.matrix(element)
            blocks.extend([d] * mul)
        if not blocks:
            return torch.zeros(0, 0, dtype=torch.float64)
        dtype = torch.complex128 if any(b.is_complex() for b in blocks) else torch.float64
        return torch.block_diag(*[b.to(dtype) for b in blocks])


def _decompose(group: Any, ir1: GroupIrrep, ir2: GroupIrrep) -> list[tuple[Any, int]]:
    out = []
    for item in group.decompose(ir1.label, ir2.label):
        label, mult = item
        if int(mult) > 0:
            out.append((getattr(label, "label", label), int(mult)))
    return out


def _cg(group: Any, ir1: GroupIrrep, ir2: GroupIrrep, ir3: GroupIrrep) -> torch.Tensor:
    cg = torch.as_tensor(group.clebsch_gordan(ir1.label, ir2.label, ir3.label))
    cg = cg.to(torch.complex128 if cg.is_complex() else torch.float64)
    if cg.dim() != 4:
        raise ValueError(f"group.clebsch_gordan returned shape {tuple(cg.shape)}; expected [d1, d2, d3, mult]")
    return cg


def _projection_residual(
    p: torch.Tensor, g1: torch.Tensor, g2: torch.Tensor, g3: torch.Tensor, discrete: tuple = ()
) -> float:
    """Residual of the equivariance of ``z_k = P_ijk x_i y_j`` (``p`` is [d1, d2, d3]) under the Lie-algebra
    generators (infinitesimal form) and the discrete generators ``discrete = (D1, D2, D3)`` (each [k, d, d])."""
    p = p.to(torch.complex128)
    res = 0.0
    if discrete:
        for a, b, c in zip(*(d.to(torch.complex128) for d in discrete)):
            lhs = torch.einsum("ia,jb,ijk->abk", a, b, p)
            rhs = torch.einsum("kc,abc->abk", c, p)
            res = max(res, float((lhs - rhs).abs().max()))
    for a, b, c in zip(g1.to(torch.complex128), g2.to(torch.complex128), g3.to(torch.complex128)):
        lhs = torch.einsum("ia,ijk->ajk", a, p) + torch.einsum("jb,ijk->ibk", b, p)
        rhs = torch.einsum("kc,abc->abk", c, p)
        res = max(res, float((lhs - rhs).abs().max()))
    return res


@functools.cache
def _projection_cached(group: Any, ir1: GroupIrrep, ir2: GroupIrrep, ir3: GroupIrrep) -> torch.Tensor:
    g1, g2, g3 = ir1.generators(), ir2.generators(), ir3.generators()
    discrete = tuple(
        torch.as_tensor(getattr(ir.rep, "discrete", torch.zeros(0, ir.dim, ir.dim))) for ir in (ir1, ir2, ir3)
    )
    if discrete[0].shape[0] == 0:
        discrete = ()
    cg = _cg(group, ir1, ir2, ir3)  # [d1, d2, d3, m]
    mult = cg.shape[3]
    if mult == 0:
        return torch.zeros(0, ir1.dim, ir2.dim, ir3.dim, dtype=torch.float64)
    copies = cg.permute(3, 0, 1, 2)
    scale = max(1.0, float(copies.abs().max()))
    if all(_projection_residual(c, g1, g2, g3, discrete) < 1e-8 * scale for c in copies):
        proj = copies
    else:
        # The group returns embeddings ir3 -> ir1 x ir2; invert the full change of basis to get projections.
        cols, owner = [], []
        for label, _ in _decompose(group, ir1, ir2):
            other = GroupIrrep(group, label)
            c = _cg(group, ir1, ir2, other)
            for m in range(c.shape[3]):
                cols.append(c[..., m].reshape(ir1.dim * ir2.dim, other.dim))
                owner.extend([(other, m)] * other.dim)
        q = torch.cat([c.to(torch.complex128) for c in cols], dim=1)
        if q.shape[0] != q.shape[1]:
            raise ValueError(f"group.decompose({ir1}, {ir2}) does not account for all {ir1.dim * ir2.dim} dimensions")
        qinv = torch.linalg.inv(q)  # rows: projections
        blocks = []
        for m in range(mult):
            rows = [r for r, (o, mm) in enumerate(owner) if o == ir3 and mm == m]
            blocks.append(qinv[rows].T.reshape(ir1.dim, ir2.dim, ir3.dim))
        proj = torch.stack(blocks)
    # normalize each copy (Frobenius norm 1, like wigner_3j) and fix the global phase so the largest entry
    # is real positive (deterministic)
    out = []
    for c in proj:
        c = c / torch.linalg.norm(c)
        if c.is_complex():
            flat = c.reshape(-1)
            big = flat[flat.abs().argmax()]
            c = c * (big.abs() / big)
        res = _projection_residual(c, g1, g2, g3, discrete)
        if res > 1e-8:
            raise ValueError(f"coupling {ir1} x {ir2} -> {ir3} is not equivariant (residual {res:.2e})")
        out.append(c)
    proj = torch.stack(out)
    if (
        proj.is_complex()
        and float(proj.imag.abs().max()) < 1e-13
        and not (ir1.is_complex() or ir2.is_complex() or ir3.is_complex())
    ):
        proj = proj.real
    return proj.contiguous()


def _projection(group: Any, ir1: GroupIrrep, ir2: GroupIrrep, ir3: GroupIrrep) -> torch.Tensor:
    return _projection_cached(group, ir1, ir2, ir3).clone()

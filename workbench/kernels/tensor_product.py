"""Channelwise ("uvu") tensor product with per-row weights: spec, torch reference, generated Triton kernels.

Maths (e3nn 0.6's ``TensorProduct`` with ``"uvu"`` instructions and per-row weights, ``irrep_normalization`` and
``path_normalization`` as e3nn's, all input/output variances 1). For every path ``p = (a, b, c)`` joining the
``a``-th irrep of input 1 (multiplicity ``U``), the ``b``-th of input 2 (multiplicity ``V``) and the ``c``-th
output (multiplicity ``U``):

    out[z, c][u, k] += alpha_p * sum_v w[z, p][u, v] * sum_{i, j} C_{ijk} x1[z, a][u, i] x2[z, b][v, j]

with ``C = workbench.groups.o3.wigner_3j(l_a, l_b, l_c)`` and ``alpha_p`` the e3nn normalization coefficient.
Features use the ``mul_ir`` layout; weights are ``[Z, sum_p U_p * V_p]``, path after path, each ``[U, V]``
row-major -- the layout of e3nn's ``weight`` argument, so e3nn weights transfer unchanged.

The Triton kernels are generated per :class:`UVUSpec`: every Clebsch-Gordan non-zero (times ``alpha_p``) and
every offset is a literal in straight-line code. A program handles ``BLOCK_Z`` rows and ``BLOCK_U`` channels
(a 2-D grid), so the per-row contraction over ``u`` needed for ``grad x2`` is written as partial sums per channel
tile and summed afterwards.

Autograd: :class:`UVUTensorProductFunction` (forward kernel) has a backward that is itself an autograd Function
(backward kernel) whose backward is expressed with the forward and backward kernels again (the operation is
trilinear), so any order of derivative runs on the kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups.o3 import wigner_3j

from ._codegen import Source, compile_kernel, literal, next_power_of_2, tl_dtype
from ._irreps import KERNEL_DTYPES, IrrepsTuple, as_irreps_tuple, irreps_dim, irreps_offsets, irreps_str
from .dispatch import resolve_backend

IRREP_NORMALIZATIONS = ("component", "norm", "none")
PATH_NORMALIZATIONS = ("element", "path", "none")


@dataclass(frozen=True)
class UVUPath:
    """One ``uvu`` path: input-1 term ``i_in1``, input-2 term ``i_in2``, output term ``i_out``.

    ``coefficient`` is the normalization ``alpha_p``; ``cg`` holds the non-zeros ``(i, j, k, alpha_p * C_ijk)``.
    """

    i_in1: int
    i_in2: int
    i_out: int
    coefficient: float
    cg: tuple[tuple[int, int, int, float], ...]


@dataclass(frozen=True)
class UVUSpec:
    """An irreps configuration of the ``uvu`` tensor product (hashable; kernels are generated per spec)."""

    irreps_in1: IrrepsTuple
    irreps_in2: IrrepsTuple
    irreps_out: IrrepsTuple
    paths: tuple[UVUPath, ...]

    @property
    def dim_in1(self) -> int:
        return irreps_dim(self.irreps_in1)

    @property
    def dim_in2(self) -> int:
        return irreps_dim(self.irreps_in2)

    @property
    def dim_out(self) -> int:
        return irreps_dim(self.irreps_out)

    @property
    def weight_numel(self) -> int:
        """Number of per-row weights: ``sum_p U_p * V_p``."""
        return sum(self.irreps_in1[p.i_in1][0] * self.irreps_in2[p.i_in2][0] for p in self.paths)

    def weight_offsets(self) -> list[int]:
        offsets, start = [], 0
        for p in self.paths:
            offsets.append(start)
            start += self.irreps_in1[p.i_in1][0] * self.irreps_in2[p.i_in2][0]
        return offsets

    @property
    def max_mul(self) -> int:
        return max([mul for mul, _, _ in self.irreps_in1 + self.irreps_out] + [1])

    def __repr__(self) -> str:
        paths = ", ".join(f"({p.i_in1},{p.i_in2},{p.i_out})" for p in self.paths)
        return (f"UVUSpec({irreps_str(self.irreps_in1)} x {irreps_str(self.irreps_in2)} -> "
                f"{irreps_str(self.irreps_out)}, paths=[{paths}])")


def _cg_nonzeros(l1: int, l2: int, l3: int, scale: float) -> tuple[tuple[int, int, int, float], ...]:
    cg = wigner_3j(l1, l2, l3, dtype=torch.float64)
    return tuple((i, j, k, scale * float(cg[i, j, k])) for i, j, k in torch.nonzero(cg.abs() > 1e-12).tolist())


def uvu_spec(
    irreps_in1: Any,
    irreps_in2: Any,
    irreps_out: Any,
    instructions: Sequence[Sequence[Any]] | None = None,
    *,
    irrep_normalization: str = "component",
    path_normalization: str = "element",
) -> UVUSpec:
    """Build a :class:`UVUSpec`.

    Args:
        irreps_in1, irreps_in2, irreps_out: irreps (strings like ``"32x0e+32x1o"`` or ``Irreps``).
        instructions: paths as ``(i_in1, i_in2, i_out)`` or e3nn-style ``(i_in1, i_in2, i_out, "uvu", True[,
            path_weight])``. ``None``: every allowed path ``(a, b, c)`` (parity and triangle rules,
            ``mul_out == mul_in1``) in ``(a, b, c)`` order.
        irrep_normalization, path_normalization: as e3nn's ``TensorProduct`` (``"component"|"norm"|"none"``,
            ``"element"|"path"|"none"``).
    """
    in1 = as_irreps_tuple(irreps_in1, "irreps_in1")
    in2 = as_irreps_tuple(irreps_in2, "irreps_in2")
    out = as_irreps_tuple(irreps_out, "irreps_out")
    if irrep_normalization not in IRREP_NORMALIZATIONS:
        raise ValueError(f"irrep_normalization must be one of {IRREP_NORMALIZATIONS}, got {irrep_normalization!r}")
    if path_normalization not in PATH_NORMALIZATIONS:
        raise ValueError(f"path_normalization must be one of {PATH_NORMALIZATIONS}, got {path_normalization!r}")

    if instructions is None:
        raw = [(a, b, c, 1.0) for a, (m1, l1, p1) in enumerate(in1) for b, (_, l2, p2) in enumerate(in2)
               for c, (mo, lo, po) in enumerate(out)
               if mo == m1 and po == p1 * p2 and abs(l1 - l2) <= lo <= l1 + l2]
    else:
        raw = []
        for ins in instructions:
            ins = tuple(ins)
            if len(ins) == 3:
                raw.append((*ins, 1.0))
            elif len(ins) in (5, 6) and ins[3] == "uvu" and ins[4] is True:
                raw.append((ins[0], ins[1], ins[2], float(ins[5]) if len(ins) == 6 else 1.0))
            else:
                raise ValueError(
                    "each instruction must be (i_in1, i_in2, i_out) or (i_in1, i_in2, i_out, 'uvu', True"
                    f"[, path_weight]), got {ins!r}"
                )
    for a, b, c, _ in raw:
        for index, irreps, name in ((a, in1, "i_in1"), (b, in2, "i_in2"), (c, out, "i_out")):
            if not isinstance(index, int) or not 0 <= index < len(irreps):
                raise ValueError(f"instruction {(a, b, c)}: {name}={index!r} out of range 0..{len(irreps) - 1}")
        (m1, l1, p1), (_, l2, p2), (mo, lo, po) = in1[a], in2[b], out[c]
        if mo != m1:
            raise ValueError(f"instruction {(a, b, c)}: uvu needs mul_out == mul_in1, got {mo} and {m1}")
        if po != p1 * p2 or not abs(l1 - l2) <= lo <= l1 + l2:
            raise ValueError(
                f"instruction {(a, b, c)}: {irreps_str((in1[a],))} x {irreps_str((in2[b],))} cannot give "
                f"{irreps_str((out[c],))} (parity or triangle rule)"
            )
    paths = []
    for a, b, c, path_weight in raw:
        (_, l1, _), (m2, l2, _), (_, lo, _) = in1[a], in2[b], out[c]
        alpha = {"component": 2 * lo + 1, "norm": (2 * l1 + 1) * (2 * l2 + 1), "none": 1}[irrep_normalization]
        if path_normalization == "element":
            fan_in = sum(in2[b2][0] for a2, b2, c2, _ in raw if c2 == c)
        elif path_normalization == "path":
            fan_in = m2 * sum(1 for _, _, c2, _ in raw if c2 == c)
        else:
            fan_in = 1
        if fan_in > 0:
            alpha /= fan_in
        coefficient = (alpha * path_weight) ** 0.5
        paths.append(UVUPath(a, b, c, coefficient, _cg_nonzeros(l1, l2, lo, coefficient)))
    return UVUSpec(in1, in2, out, tuple(paths))


# ---------------------------------------------------------------------------------------------- torch reference
@cache
def _dense_cg(path: UVUPath, d1: int, d2: int, d3: int) -> torch.Tensor:
    table = torch.zeros(d1, d2, d3, dtype=torch.float64)
    for i, j, k, v in path.cg:
        table[i, j, k] = v
    return table


def check_tp_inputs(spec: UVUSpec, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor) -> None:
    """Validate ``x1 [Z, dim_in1]``, ``x2 [Z, dim_in2]``, ``weight [Z, weight_numel]`` (same dtype/device)."""
    if not isinstance(spec, UVUSpec):
        raise TypeError(f"spec must be a UVUSpec (see uvu_spec), got {type(spec).__name__}")
    check_tensor(x1, "x1", shape=("Z", spec.dim_in1), dtype=KERNEL_DTYPES)
    check_tensor(x2, "x2", shape=("Z", spec.dim_in2), dtype=KERNEL_DTYPES)
    check_tensor(weight, "weight", shape=("Z", spec.weight_numel), dtype=KERNEL_DTYPES)
    if not x1.shape[0] == x2.shape[0] == weight.shape[0]:
        raise ValueError(f"x1, x2 and weight need the same number of rows, got {x1.shape[0]}, {x2.shape[0]}, "
                         f"{weight.shape[0]}")
    if not x1.dtype == x2.dtype == weight.dtype or not x1.device == x2.device == weight.device:
        raise ValueError("x1, x2 and weight must share dtype and device")


def uvu_tensor_product_reference(
    spec: UVUSpec, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Pure-torch ``uvu`` tensor product (the maths in the module docstring); ``[Z, dim_out]``."""
    check_tp_inputs(spec, x1, x2, weight)
    z = x1.shape[0]
    off1, off2 = irreps_offsets(spec.irreps_in1), irreps_offsets(spec.irreps_in2)
    outs: list[torch.Tensor | None] = [None] * len(spec.irreps_out)
    for path, woff in zip(spec.paths, spec.weight_offsets()):
        (mu, l1, _), (mv, l2, _), (_, lo, _) = (spec.irreps_in1[path.i_in1], spec.irreps_in2[path.i_in2],
                                                 spec.irreps_out[path.i_out])
        d1, d2, d3 = 2 * l1 + 1, 2 * l2 + 1, 2 * lo + 1
        a = x1[:, off1[path.i_in1]: off1[path.i_in1] + mu * d1].reshape(z, mu, d1)
        b = x2[:, off2[path.i_in2]: off2[path.i_in2] + mv * d2].reshape(z, mv, d2)
        w = weight[:, woff: woff + mu * mv].reshape(z, mu, mv)
        cg = _dense_cg(path, d1, d2, d3).to(dtype=x1.dtype, device=x1.device)
        bc = torch.einsum("zvj,ijk->zvik", b, cg)
        result = torch.einsum("zuv,zui,zvik->zuk", w, a, bc)
        outs[path.i_out] = result if outs[path.i_out] is None else outs[path.i_out] + result
    blocks = [
        (o if o is not None else x1.new_zeros(z, mul, 2 * l + 1)).reshape(z, mul * (2 * l + 1))
        for o, (mul, l, _) in zip(outs, spec.irreps_out)
    ]
    return torch.cat(blocks, dim=1) if blocks else x1.new_zeros(z, 0)


# ------------------------------------------------------------------------------------------- source generation
def _pairs(path: UVUPath) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """CG non-zeros grouped by ``(i, k)``: ``{(i, k): [(j, value), ...]}``."""
    groups: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for i, j, k, v in path.cg:
        groups.setdefault((i, k), []).append((j, v))
    return groups


def _used_in1(spec: UVUSpec) -> list[int]:
    return sorted({p.i_in1 for p in spec.paths})


def emit_masks_and_x1(src: Source, spec: UVUSpec, x1_row: str, row_mask: str) -> None:
    """Masks ``m1_a`` / ``mo_c`` and the input-1 tiles ``a{a}_{i}`` (``[BLOCK, BLOCK_U]``)."""
    off1 = irreps_offsets(spec.irreps_in1)
    for a, (mul, _, _) in enumerate(spec.irreps_in1):
        src(f"m1_{a} = {row_mask}[:, None] & (u[None, :] < {mul})")
    for c, (mul, _, _) in enumerate(spec.irreps_out):
        src(f"mo_{c} = {row_mask}[:, None] & (u[None, :] < {mul})")
    for a in _used_in1(spec):
        mul, l, _ = spec.irreps_in1[a]
        d = 2 * l + 1
        for i in range(d):
            src(f"a{a}_{i} = tl.load({x1_row} + ({off1[a]} + u[None, :] * {d} + {i}), mask=m1_{a}, other=0.0)")


def emit_x2_loads(src: Source, spec: UVUSpec, x2_row: str, row_mask: str) -> None:
    """Input-2 values ``b{b}_{v}_{j}`` as ``[BLOCK, 1]`` columns loaded from ``x2_row`` (``[BLOCK]`` pointers)."""
    off2 = irreps_offsets(spec.irreps_in2)
    for b in sorted({p.i_in2 for p in spec.paths}):
        mul, l, _ = spec.irreps_in2[b]
        d = 2 * l + 1
        for v in range(mul):
            for j in range(d):
                src(f"b{b}_{v}_{j} = tl.load({x2_row} + {off2[b] + v * d + j}, mask={row_mask}, other=0.0)[:, None]")


def _emit_s(src: Source, path: UVUPath, v: int) -> dict[tuple[int, int], str]:
    """``s_i_k = sum_j C'_ijk b_j`` as ``[BLOCK, 1]`` columns; returns {(i, k): name}."""
    names = {}
    for (i, k), terms in sorted(_pairs(path).items()):
        name = f"s{i}_{k}"
        src(f"{name} = " + " + ".join(f"{literal(c)} * b{path.i_in2}_{v}_{j}" for j, c in terms))
        names[(i, k)] = name
    return names


def emit_forward_body(src: Source, spec: UVUSpec, w_row: str, dtype: str) -> None:
    """Accumulate the output tiles ``o{c}_{k}`` (needs masks, ``a`` tiles and ``b`` columns)."""
    mul2 = [m for m, _, _ in spec.irreps_in2]
    for c, (_, l, _) in enumerate(spec.irreps_out):
        for k in range(2 * l + 1):
            src(f"o{c}_{k} = tl.zeros((BLOCK, BLOCK_U), dtype={dtype})")
    for path, woff in zip(spec.paths, spec.weight_offsets()):
        a, b, c = path.i_in1, path.i_in2, path.i_out
        for v in range(mul2[b]):
            s = _emit_s(src, path, v)
            src(f"w = tl.load({w_row} + ({woff} + u[None, :] * {mul2[b]} + {v}), mask=m1_{a}, other=0.0)")
            for k in sorted({k for _, k in s}):
                t = " + ".join(f"a{a}_{i} * {name}" for (i, kk), name in sorted(s.items()) if kk == k)
                src(f"o{c}_{k} += w * ({t})")


def emit_output_pointers(spec: UVUSpec) -> list[tuple[int, int, str]]:
    """``(c, k, offset expression)`` for every output component."""
    offo = irreps_offsets(spec.irreps_out)
    return [(c, k, f"({offo[c]} + u[None, :] * {2 * l + 1} + {k})")
            for c, (_, l, _) in enumerate(spec.irreps_out) for k in range(2 * l + 1)]


def emit_backward_body(src: Source, spec: UVUSpec, w_row: str, gw_row: str, g_row: str, dtype: str) -> None:
    """Gradient tiles ``ga{a}_{i}`` and ``gb{b}_{v}_{j}`` (un-reduced over channels); stores ``grad weight``."""
    mul2 = [m for m, _, _ in spec.irreps_in2]
    offo = irreps_offsets(spec.irreps_out)
    for c in sorted({p.i_out for p in spec.paths}):
        l = spec.irreps_out[c][1]
        for k in range(2 * l + 1):
            src(f"g{c}_{k} = tl.load({g_row} + ({offo[c]} + u[None, :] * {2 * l + 1} + {k}), mask=mo_{c}, other=0.0)")
    for a in _used_in1(spec):
        for i in range(2 * spec.irreps_in1[a][1] + 1):
            src(f"ga{a}_{i} = tl.zeros((BLOCK, BLOCK_U), dtype={dtype})")
    for b in sorted({p.i_in2 for p in spec.paths}):
        for v in range(mul2[b]):
            for j in range(2 * spec.irreps_in2[b][1] + 1):
                src(f"gb{b}_{v}_{j} = tl.zeros((BLOCK, BLOCK_U), dtype={dtype})")
    for path, woff in zip(spec.paths, spec.weight_offsets()):
        a, b, c = path.i_in1, path.i_in2, path.i_out
        pairs = _pairs(path)
        for v in range(mul2[b]):
            s = _emit_s(src, path, v)
            src(f"w = tl.load({w_row} + ({woff} + u[None, :] * {mul2[b]} + {v}), mask=m1_{a}, other=0.0)")
            # grad weight: sum_k g_k sum_i a_i s_ik
            gw = " + ".join(f"a{a}_{i} * {name} * g{c}_{k}" for (i, k), name in sorted(s.items()))
            src(f"tl.store({gw_row} + ({woff} + u[None, :] * {mul2[b]} + {v}), {gw}, mask=m1_{a})")
            # grad x1: ga_i += w * sum_k s_ik g_k
            for i in sorted({i for i, _ in s}):
                terms = " + ".join(f"{name} * g{c}_{k}" for (ii, k), name in sorted(s.items()) if ii == i)
                src(f"ga{a}_{i} += w * ({terms})")
            # grad x2: gb_j += w * sum_{i,k} C'_ijk a_i g_k
            for (i, k) in sorted(pairs):
                src(f"q{i}_{k} = a{a}_{i} * g{c}_{k}")
            by_j: dict[int, list[str]] = {}
            for (i, k), terms in sorted(pairs.items()):
                for j, value in terms:
                    by_j.setdefault(j, []).append(f"{literal(value)} * q{i}_{k}")
            for j, terms in sorted(by_j.items()):
                src(f"gb{b}_{v}_{j} += w * ({' + '.join(terms)})")


def _header(src: Source, name: str, args: str) -> None:
    src(f"def {name}({args}, BLOCK: tl.constexpr, BLOCK_U: tl.constexpr):")
    src.indent()
    src("u = tl.program_id(1) * BLOCK_U + tl.arange(0, BLOCK_U)")


@cache
def tp_source(spec: UVUSpec, dtype: torch.dtype, backward: bool) -> str:
    """Source of the standalone forward (``uvu_fwd``) or backward (``uvu_bwd``) kernel for ``spec``."""
    dt = tl_dtype(dtype)
    src = Source()
    if backward:
        _header(src, "uvu_bwd", "x1_ptr, x2_ptr, w_ptr, g_ptr, gx1_ptr, gx2_ptr, gw_ptr, Z")
    else:
        _header(src, "uvu_fwd", "x1_ptr, x2_ptr, w_ptr, out_ptr, Z")
    src("rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)")
    src("rmask = rows < Z")
    src("rows64 = rows.to(tl.int64)")
    src(f"x1_row = x1_ptr + rows64[:, None] * {spec.dim_in1}")
    src(f"w_row = w_ptr + rows64[:, None] * {spec.weight_numel}")
    emit_masks_and_x1(src, spec, "x1_row", "rmask")
    emit_x2_loads(src, spec, f"x2_ptr + rows64 * {spec.dim_in2}", "rmask")
    if not backward:
        emit_forward_body(src, spec, "w_row", dt)
        for c, k, off in emit_output_pointers(spec):
            src(f"tl.store(out_ptr + rows64[:, None] * {spec.dim_out} + {off}, o{c}_{k}, mask=mo_{c})")
        return src.text()
    src(f"g_row = g_ptr + rows64[:, None] * {spec.dim_out}")
    src(f"gw_row = gw_ptr + rows64[:, None] * {spec.weight_numel}")
    emit_backward_body(src, spec, "w_row", "gw_row", "g_row", dt)
    off1, off2 = irreps_offsets(spec.irreps_in1), irreps_offsets(spec.irreps_in2)
    for a in _used_in1(spec):
        d = 2 * spec.irreps_in1[a][1] + 1
        for i in range(d):
            src(f"tl.store(gx1_ptr + rows64[:, None] * {spec.dim_in1} + ({off1[a]} + u[None, :] * {d} + {i}), "
                f"ga{a}_{i}, mask=m1_{a})")
    src(f"gx2_row = gx2_ptr + tl.program_id(1).to(tl.int64) * Z * {spec.dim_in2} + rows64 * {spec.dim_in2}")
    for b in sorted({p.i_in2 for p in spec.paths}):
        mul, l, _ = spec.irreps_in2[b]
        for v in range(mul):
            for j in range(2 * l + 1):
                src(f"tl.store(gx2_row + {off2[b] + v * (2 * l + 1) + j}, tl.sum(gb{b}_{v}_{j}, axis=1), "
                    f"mask=rmask)")
    return src.text()


def default_blocks(spec: UVUSpec, rows_per_tile: int = 128) -> tuple[int, int]:
    """``(BLOCK, BLOCK_U)``: channels in tiles of up to 32, ``BLOCK * BLOCK_U`` about ``rows_per_tile``."""
    block_u = min(next_power_of_2(spec.max_mul), 32)
    return max(1, rows_per_tile // block_u), block_u


def _zero_untouched_in1(spec: UVUSpec, gx1: torch.Tensor) -> None:
    used = set(_used_in1(spec))
    for a, off in enumerate(irreps_offsets(spec.irreps_in1)):
        if a not in used:
            mul, l, _ = spec.irreps_in1[a]
            gx1[:, off: off + mul * (2 * l + 1)] = 0


def _zero_untouched_in2(spec: UVUSpec, gx2: torch.Tensor) -> None:
    used = {p.i_in2 for p in spec.paths}
    for b, off in enumerate(irreps_offsets(spec.irreps_in2)):
        if b not in used:
            mul, l, _ = spec.irreps_in2[b]
            gx2[..., off: off + mul * (2 * l + 1)] = 0


def uvu_forward_kernel(spec: UVUSpec, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Launch the generated forward kernel (no autograd); ``[Z, dim_out]``."""
    z = x1.shape[0]
    out = torch.empty(z, spec.dim_out, dtype=x1.dtype, device=x1.device)
    if z == 0 or spec.dim_out == 0:
        return out
    block, block_u = default_blocks(spec)
    kernel = compile_kernel(tp_source(spec, x1.dtype, False), "uvu_fwd")
    grid = ((z + block - 1) // block, (spec.max_mul + block_u - 1) // block_u)
    kernel[grid](x1.contiguous(), x2.contiguous(), weight.contiguous(), out, z, BLOCK=block, BLOCK_U=block_u)
    return out


def uvu_backward_kernel(
    spec: UVUSpec, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor, grad: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Launch the generated backward kernel: ``(grad x1, grad x2, grad weight)`` of ``sum(grad * out)``."""
    z = x1.shape[0]
    block, block_u = default_blocks(spec)
    tiles = (spec.max_mul + block_u - 1) // block_u
    gx1 = torch.empty_like(x1, memory_format=torch.contiguous_format)
    gx2_partial = torch.empty(tiles, z, spec.dim_in2, dtype=x1.dtype, device=x1.device)
    gw = torch.empty(z, spec.weight_numel, dtype=x1.dtype, device=x1.device)
    if z > 0:
        kernel = compile_kernel(tp_source(spec, x1.dtype, True), "uvu_bwd")
        grid = ((z + block - 1) // block, tiles)
        kernel[grid](x1.contiguous(), x2.contiguous(), weight.contiguous(), grad.contiguous(), gx1, gx2_partial,
                     gw, z, BLOCK=block, BLOCK_U=block_u)
    _zero_untouched_in1(spec, gx1)
    _zero_untouched_in2(spec, gx2_partial)
    return gx1, gx2_partial.sum(0), gw


class UVUTensorProductFunction(torch.autograd.Function):
    """``out = TP(x1, x2, weight)`` on the Triton kernels; differentiable to any order (see module docstring)."""

    @staticmethod
    def forward(ctx, x1, x2, weight, spec):
        ctx.save_for_backward(x1, x2, weight)
        ctx.spec = spec
        return uvu_forward_kernel(spec, x1, x2, weight)

    @staticmethod
    def backward(ctx, grad):
        x1, x2, weight = ctx.saved_tensors
        gx1, gx2, gw = UVUTensorProductBackward.apply(x1, x2, weight, grad, ctx.spec)
        return gx1, gx2, gw, None


class UVUTensorProductBackward(torch.autograd.Function):
    """``(gx1, gx2, gw) = B(x1, x2, weight, grad)``; its own backward uses the trilinearity of the product:

    for incoming ``(hx1, hx2, hw)``: ``d grad = TP(hx1, x2, w) + TP(x1, hx2, w) + TP(x1, x2, hw)``;
    ``d x1 = B(x1, hx2, w, grad).gx1 + B(x1, x2, hw, grad).gx1``; ``d x2 = B(hx1, x2, w, grad).gx2 +
    B(x1, x2, hw, grad).gx2``; ``d w = B(hx1, x2, w, grad).gw + B(x1, hx2, w, grad).gw``.
    """

    @staticmethod
    def forward(ctx, x1, x2, weight, grad, spec):
        ctx.save_for_backward(x1, x2, weight, grad)
        ctx.spec = spec
        return uvu_backward_kernel(spec, x1, x2, weight, grad)

    @staticmethod
    def backward(ctx, hx1, hx2, hw):
        x1, x2, weight, grad = ctx.saved_tensors
        spec = ctx.spec
        fwd, bwd = UVUTensorProductFunction.apply, UVUTensorProductBackward.apply
        d_grad = d_x1 = d_x2 = d_w = None
        if hx1 is not None:
            d_grad = fwd(hx1, x2, weight, spec)
            _, bx2, bw = bwd(hx1, x2, weight, grad, spec)
            d_x2, d_w = bx2, bw
        if hx2 is not None:
            term = fwd(x1, hx2, weight, spec)
            d_grad = term if d_grad is None else d_grad + term
            bx1, _, bw = bwd(x1, hx2, weight, grad, spec)
            d_x1 = bx1
            d_w = bw if d_w is None else d_w + bw
        if hw is not None:
            term = fwd(x1, x2, hw, spec)
            d_grad = term if d_grad is None else d_grad + term
            bx1, bx2, _ = bwd(x1, x2, hw, grad, spec)
            d_x1 = bx1 if d_x1 is None else d_x1 + bx1
            d_x2 = bx2 if d_x2 is None else d_x2 + bx2
        return d_x1, d_x2, d_w, d_grad, None


def uvu_tensor_product(
    x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor, spec: UVUSpec, backend: str = "auto"
) -> torch.Tensor:
    """Channelwise tensor product with per-row weights (module docstring), ``[Z, spec.dim_out]``.

    Args:
        x1: ``[Z, spec.dim_in1]``; x2: ``[Z, spec.dim_in2]``; weight: ``[Z, spec.weight_numel]`` (e3nn layout);
            all float32 or float64 on one device.
        spec: from :func:`uvu_spec`.
        backend: ``"auto"`` | ``"triton"`` | ``"torch"`` (see :mod:`workbench.kernels.dispatch`).
    """
    check_tp_inputs(spec, x1, x2, weight)
    if resolve_backend(backend, x1.device) == "torch":
        return uvu_tensor_product_reference(spec, x1, x2, weight)
    return UVUTensorProductFunction.apply(x1, x2, weight, spec)

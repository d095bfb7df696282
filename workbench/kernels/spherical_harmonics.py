"""Spherical harmonics of 3-vectors: a generated Triton kernel (forward and backward) and its torch reference.

Basis and normalization are e3nn 0.6's (and :func:`workbench.groups.o3.spherical_harmonics`'s). They are built
here by a recursion on the real Wigner 3j symbols of :func:`workbench.groups.o3.wigner_3j`:

    Y^0 = 1,    Y^l_m(x) = c_l * sum_{i,j} C^{(l-1, 1, l)}_{i j m} Y^{l-1}_i(x) x_j,

which is a homogeneous degree-l polynomial that transforms with the Wigner D of ``l`` (the product of the
equivariant ``Y^{l-1}`` and ``x`` projected onto ``l`` by an intertwiner). It is the unique such polynomial up to
the scalar ``c_l``, fixed by e3nn's convention ``Y^l(0, 1, 0) = sqrt(2l+1) e_{m=0}`` ("component" normalization:
``|Y^l(x)|^2 = 2l+1`` on the unit sphere). Other normalizations scale each ``l``: ``"norm"`` by
``1/sqrt(2l+1)``, ``"integral"`` by ``1/sqrt(4 pi)``. With ``normalize=True`` the vector is first divided by
``max(|x|, 1e-12)`` (like ``torch.nn.functional.normalize``); otherwise the raw polynomials are evaluated
(``Y^l(x) = |x|^l Y^l(x/|x|)``).

Output layout: the ``Y^l`` blocks for the requested ``ls`` concatenated, ``[N, sum(2l+1)]``.

The Triton kernel is straight-line code generated from the recursion's non-zero coefficients; its backward is
the reverse-mode derivative of that same code, also generated. Double backward goes through the torch
reference (an autograd composition; the spherical harmonics are cheap next to the tensor products they feed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups.o3 import wigner_3j

from ._codegen import Source, compile_kernel, literal, tl_dtype
from ._irreps import KERNEL_DTYPES, as_irreps_tuple
from .dispatch import resolve_backend

NORMALIZATIONS = ("component", "norm", "integral")
LMAX_SUPPORTED = 10
_EPS = 1e-12


# --------------------------------------------------------------------------------------------- recursion tables
@cache
def recursion_table(l: int) -> tuple[tuple[int, int, int, float], ...]:
    """Non-zeros ``(i, j, m, value)`` of ``c_l * C^{(l-1,1,l)}`` (float64): ``Y^l_m = sum value * Y^{l-1}_i x_j``."""
    if not 1 <= l <= LMAX_SUPPORTED:
        raise ValueError(f"l must be in 1..{LMAX_SUPPORTED}, got {l}")
    cg = wigner_3j(l - 1, 1, l, dtype=torch.float64)
    entries = [(i, j, m, float(cg[i, j, m])) for i, j, m in torch.nonzero(cg.abs() > 1e-12).tolist()]
    # c_l from the convention Y^l(0, 1, 0) = sqrt(2l+1) e_{m=0}: evaluate the recursion at the y axis.
    previous = _values_at_y_axis(l - 1)
    y_axis = (0.0, 1.0, 0.0)
    value = sum(v * previous[i] * y_axis[j] for i, j, m, v in entries if m == l)
    scale = math.sqrt(2 * l + 1) / value
    return tuple((i, j, m, v * scale) for i, j, m, v in entries)


@cache
def _values_at_y_axis(l: int) -> tuple[float, ...]:
    if l == 0:
        return (1.0,)
    previous = _values_at_y_axis(l - 1)
    out = [0.0] * (2 * l + 1)
    for i, j, m, v in recursion_table(l):
        out[m] += v * previous[i] * (1.0 if j == 1 else 0.0)
    return tuple(out)


def normalization_factor(l: int, normalization: str) -> float:
    """Factor applied to the component-normalized ``Y^l`` for ``normalization``."""
    if normalization == "component":
        return 1.0
    if normalization == "norm":
        return 1.0 / math.sqrt(2 * l + 1)
    if normalization == "integral":
        return 1.0 / math.sqrt(4 * math.pi)
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def as_ls(ls: Any) -> tuple[int, ...]:
    """``2`` -> ``(2,)``; ``[0, 1, 2]`` -> ``(0, 1, 2)``; ``"0e+1o+2e"`` or an Irreps -> the ``l`` of each copy."""
    if isinstance(ls, bool):
        raise TypeError("ls must be an int, a sequence of ints or irreps, got a bool")
    if isinstance(ls, int):
        out: tuple[int, ...] = (ls,)
    elif isinstance(ls, str) or hasattr(ls, "dim"):
        out = tuple(l for mul, l, _ in as_irreps_tuple(ls, "ls") for _ in range(mul))
    elif isinstance(ls, Sequence) and all(isinstance(l, int) and not isinstance(l, bool) for l in ls):
        out = tuple(ls)
    else:
        raise TypeError(f"ls must be an int, a sequence of ints or irreps like '0e+1o+2e', got {ls!r}")
    if not out:
        raise ValueError("ls must name at least one l")
    bad = [l for l in out if not 0 <= l <= LMAX_SUPPORTED]
    if bad:
        raise ValueError(f"every l in ls must be in 0..{LMAX_SUPPORTED}, got {bad}")
    return out


# ---------------------------------------------------------------------------------------------- torch reference
@cache
def _dense_recursion(l: int) -> torch.Tensor:
    table = torch.zeros(2 * l - 1, 3, 2 * l + 1, dtype=torch.float64)
    for i, j, m, v in recursion_table(l):
        table[i, j, m] = v
    return table


def spherical_harmonics_reference(
    ls: Any, vectors: torch.Tensor, normalize: bool = True, normalization: str = "component"
) -> torch.Tensor:
    """Pure-torch spherical harmonics (same recursion as the kernel), differentiable to any order.

    ``vectors``: ``[N, 3]`` float32/float64. Returns ``[N, sum(2l+1 for l in ls)]``.
    """
    ls = as_ls(ls)
    check_tensor(vectors, "vectors", shape=("N", 3), dtype=KERNEL_DTYPES)
    factors = {l: normalization_factor(l, normalization) for l in ls}
    x = vectors
    if normalize:
        x = x / x.norm(dim=1, keepdim=True).clamp_min(_EPS)
    ys = [torch.ones_like(x[:, :1])]
    for l in range(1, max(ls) + 1):
        table = _dense_recursion(l).to(dtype=x.dtype, device=x.device)
        ys.append(torch.einsum("ni,nj,ijm->nm", ys[-1], x, table))
    return torch.cat([ys[l] * factors[l] if factors[l] != 1.0 else ys[l] for l in ls], dim=1)


# ------------------------------------------------------------------------------------------- source generation
def emit_sh_forward(src: Source, lmax: int, normalize: bool, vx: str, vy: str, vz: str) -> None:
    """Emit code defining ``shl_m`` (component normalized, l <= lmax) from the vector names ``vx, vy, vz``.

    With ``normalize`` it also defines ``sh_r`` (the clamped norm) and ``sh_x, sh_y, sh_z`` (the unit vector).
    """
    if normalize:
        src(f"sh_r = tl.maximum(tl.sqrt({vx} * {vx} + {vy} * {vy} + {vz} * {vz}), {literal(_EPS)})")
        src(f"sh_x = {vx} / sh_r")
        src(f"sh_y = {vy} / sh_r")
        src(f"sh_z = {vz} / sh_r")
        xyz = ("sh_x", "sh_y", "sh_z")
    else:
        xyz = (vx, vy, vz)
    src(f"sh0_0 = {xyz[0]} * 0.0 + 1.0")
    for l in range(1, lmax + 1):
        terms: dict[int, list[str]] = {m: [] for m in range(2 * l + 1)}
        for i, j, m, v in recursion_table(l):
            terms[m].append(f"{literal(v)} * sh{l - 1}_{i} * {xyz[j]}")
        for m in range(2 * l + 1):
            src(f"sh{l}_{m} = " + (" + ".join(terms[m]) if terms[m] else f"{xyz[0]} * 0.0"))


def emit_sh_backward(src: Source, lmax: int, normalize: bool, vx: str, vy: str, vz: str, grads: dict) -> None:
    """Emit the reverse pass: from ``grads[(l, m)]`` (expressions of the gradient w.r.t. the component-normalized
    ``Y^l_m``) to ``gvx, gvy, gvz`` (gradient w.r.t. the input vector). Needs the forward code emitted before."""
    xyz = ("sh_x", "sh_y", "sh_z") if normalize else (vx, vy, vz)
    src(f"gsh_x = {xyz[0]} * 0.0")
    src(f"gsh_y = {xyz[0]} * 0.0")
    src(f"gsh_z = {xyz[0]} * 0.0")
    gnames = ("gsh_x", "gsh_y", "gsh_z")
    current = {m: grads.get((lmax, m)) for m in range(2 * lmax + 1)}
    for l in range(lmax, 0, -1):
        names = {}
        for m, expr in current.items():
            if expr is not None:
                src(f"g{l}_{m} = {expr}")
                names[m] = f"g{l}_{m}"
        lower: dict[int, list[str]] = {i: [] for i in range(2 * l - 1)}
        by_j: dict[int, list[str]] = {0: [], 1: [], 2: []}
        for i, j, m, v in recursion_table(l):
            if m in names:
                lower[i].append(f"{literal(v)} * {names[m]} * {xyz[j]}")
                if l > 1:  # Y^0 is constant
                    by_j[j].append(f"{literal(v)} * {names[m]} * sh{l - 1}_{i}")
                else:
                    by_j[j].append(f"{literal(v)} * {names[m]}")
        for j in range(3):
            if by_j[j]:
                src(f"{gnames[j]} = {gnames[j]} + " + " + ".join(by_j[j]))
        nxt: dict[int, str | None] = {}
        for i in range(2 * l - 1):
            parts = [grads[(l - 1, i)]] if grads.get((l - 1, i)) is not None else []
            parts += lower[i]
            nxt[i] = " + ".join(parts) if parts else None
        current = nxt
    if normalize:
        src("gsh_dot = gsh_x * sh_x + gsh_y * sh_y + gsh_z * sh_z")
        src(f"sh_inside = tl.sqrt({vx} * {vx} + {vy} * {vy} + {vz} * {vz}) > {literal(_EPS)}")
        for out, g, unit in zip(("gvx", "gvy", "gvz"), gnames, xyz):
            # d(v/r)/dv = (I - x x^T) / r away from zero; I / eps where the norm is clamped.
            src(f"{out} = tl.where(sh_inside, ({g} - {unit} * gsh_dot) / sh_r, {g} / sh_r)")
    else:
        src("gvx = gsh_x")
        src("gvy = gsh_y")
        src("gvz = gsh_z")


def _sh_source(ls: tuple[int, ...], normalize: bool, normalization: str, dtype: torch.dtype, backward: bool) -> str:
    lmax = max(ls)
    dim = sum(2 * l + 1 for l in ls)
    name = "sh_bwd" if backward else "sh_fwd"
    src = Source()
    if backward:
        src(f"def {name}(vec_ptr, grad_ptr, out_ptr, N, BLOCK: tl.constexpr):")
    else:
        src(f"def {name}(vec_ptr, out_ptr, N, BLOCK: tl.constexpr):")
    src.indent()
    src("rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)")
    src("mask = rows < N")
    src("rows64 = rows.to(tl.int64)")
    for c, n in enumerate(("vx", "vy", "vz")):
        src(f"{n} = tl.load(vec_ptr + rows64 * 3 + {c}, mask=mask, other=1.0).to({tl_dtype(dtype)})")
    emit_sh_forward(src, lmax, normalize, "vx", "vy", "vz")
    offset = 0
    grads: dict[tuple[int, int], str] = {}
    for l in ls:
        factor = normalization_factor(l, normalization)
        for m in range(2 * l + 1):
            if backward:
                src(f"go{offset + m} = tl.load(grad_ptr + rows64 * {dim} + {offset + m}, mask=mask, other=0.0)")
                term = f"go{offset + m}" if factor == 1.0 else f"{literal(factor)} * go{offset + m}"
                key = (l, m)
                grads[key] = f"{grads[key]} + {term}" if key in grads else term
            else:
                value = f"sh{l}_{m}" if factor == 1.0 else f"{literal(factor)} * sh{l}_{m}"
                src(f"tl.store(out_ptr + rows64 * {dim} + {offset + m}, {value}, mask=mask)")
        offset += 2 * l + 1
    if backward:
        emit_sh_backward(src, lmax, normalize, "vx", "vy", "vz", grads)
        for c, n in enumerate(("gvx", "gvy", "gvz")):
            src(f"tl.store(out_ptr + rows64 * 3 + {c}, {n}, mask=mask)")
    return src.text()


def _launch_sh(ls, vectors, grad, normalize, normalization, block: int = 64) -> torch.Tensor:
    backward = grad is not None
    source = _sh_source(ls, normalize, normalization, vectors.dtype, backward)
    kernel = compile_kernel(source, "sh_bwd" if backward else "sh_fwd")
    n = vectors.shape[0]
    vec = vectors.contiguous()
    if backward:
        out = torch.empty(n, 3, dtype=vectors.dtype, device=vectors.device)
    else:
        out = torch.empty(n, sum(2 * l + 1 for l in ls), dtype=vectors.dtype, device=vectors.device)
    if n == 0:
        return out
    grid = ((n + block - 1) // block,)
    if backward:
        kernel[grid](vec, grad.contiguous(), out, n, BLOCK=block)
    else:
        kernel[grid](vec, out, n, BLOCK=block)
    return out


def spherical_harmonics_triton_backward(
    ls: Any, vectors: torch.Tensor, grad: torch.Tensor, normalize: bool = True, normalization: str = "component"
) -> torch.Tensor:
    """Gradient w.r.t. ``vectors`` ``[N, 3]`` of ``sum(grad * Y(vectors))`` by the generated backward kernel."""
    return _launch_sh(as_ls(ls), vectors, grad, normalize, normalization)


class _SphericalHarmonicsFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, vectors: torch.Tensor, ls: tuple[int, ...], normalize: bool, normalization: str):
        ctx.save_for_backward(vectors)
        ctx.config = (ls, normalize, normalization)
        return _launch_sh(ls, vectors, None, normalize, normalization)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (vectors,) = ctx.saved_tensors
        ls, normalize, normalization = ctx.config
        if torch.is_grad_enabled():
            # create_graph=True: differentiate the torch reference so the result is itself differentiable.
            with torch.enable_grad():
                v = vectors if vectors.requires_grad else vectors.detach().requires_grad_()
                y = spherical_harmonics_reference(ls, v, normalize, normalization)
                (gv,) = torch.autograd.grad(y, v, grad, create_graph=True)
            return gv, None, None, None
        return _launch_sh(ls, vectors, grad, normalize, normalization), None, None, None


def spherical_harmonics(
    ls: Any,
    vectors: torch.Tensor,
    normalize: bool = True,
    normalization: str = "component",
    backend: str = "auto",
) -> torch.Tensor:
    """Real spherical harmonics in e3nn 0.6's basis, ``[N, 3] -> [N, sum(2l+1 for l in ls)]``.

    Args:
        ls: an ``l`` (int), a list of ``l`` or irreps such as ``"0e+1o+2e"`` (blocks in that order).
        vectors: ``[N, 3]`` float32/float64, components (x, y, z).
        normalize: divide the vectors by their norm first (clamped at 1e-12).
        normalization: ``"component"`` (``|Y^l|^2 = 2l+1``), ``"norm"`` (``|Y^l| = 1``) or ``"integral"``.
        backend: ``"auto"`` | ``"triton"`` | ``"torch"`` (see :mod:`workbench.kernels.dispatch`).
    """
    ls = as_ls(ls)
    check_tensor(vectors, "vectors", shape=("N", 3), dtype=KERNEL_DTYPES)
    normalization_factor(0, normalization)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    if resolve_backend(backend, vectors.device) == "torch":
        return spherical_harmonics_reference(ls, vectors, normalize, normalization)
    return _SphericalHarmonicsFunction.apply(vectors, ls, normalize, normalization)

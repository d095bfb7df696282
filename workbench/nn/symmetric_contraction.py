"""MACE's symmetric contraction (many-body product), for O(3) or any workbench group.

For every channel ``c`` and node ``b`` with element ``e(b)`` (one-hot ``y``), the input ``A_bc`` (a vector of
``V = ir_1 + ... + ir_s``) is mapped to each output irrep by

    B_bc = sum_{nu=1..correlation} sum_k W_nu[e(b), k, c] U_nu[:, i_1..i_nu, k] A_bc,i_1 ... A_bc,i_nu

where ``U_nu[k]`` is a basis of the equivariant, fully symmetric ``nu``-linear maps ``V^nu -> ir_out``. The
basis is built here from the coupling tensors (iterated tensor products ``((ir x ir) x ir) ...``), then
symmetrized over the ``nu!`` permutations and reduced to an orthonormal basis of its span by SVD (so it is
equivariant but not MACE's exact basis: weights do not transfer to/from mace-torch). Evaluation is MACE's
recursion ``((c_3 A + c_2) A + c_1) A`` with ``c_nu = U_nu W_nu y``.

Shapes: ``irreps_in = C x (ir_1 + ... + ir_s)`` (the same multiplicity ``C`` for every segment, i.e. MACE's
``C x (0e+1o+2e+3o)``), ``irreps_out = C x (...)``; ``forward(x [N, irreps_in.dim], y [N, num_elements]) ->
[N, irreps_out.dim]``, ``mul_ir`` layout.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import Irreps, LieGroup, as_irreps
from workbench.nn._constants import ConstantsMixin

__all__ = ["SymmetricContraction", "symmetric_basis"]


def _coupled_paths(space: Irreps, irreps: tuple, nu: int) -> list[tuple[torch.Tensor, Any]]:
    """Coupling trees ``((V_s1 x V_s2) x V_s3) ...`` for non-decreasing segment indices ``s1 <= s2 <= ...``
    (enough: the trees with all intermediate irreps span every equivariant map of a block, and the result
    is symmetrized afterwards). Each path: (tensor ``[D, ..., D, d_L]``, final irrep ``L``)."""
    key = (id(space), irreps, nu)
    if key in _PATH_CACHE:
        return _PATH_CACHE[key]
    dims = [ir.dim for ir in irreps]
    offsets = [sum(dims[:i]) for i in range(len(dims))]
    D = sum(dims)
    if nu == 1:
        paths = []
        for s, (ir, d, o) in enumerate(zip(irreps, dims, offsets)):
            t = torch.zeros(D, d, dtype=torch.complex128)
            t[o : o + d] = torch.eye(d, dtype=torch.complex128)
            paths.append((t, ir, s))
    else:
        paths = []
        for t, L, last in _coupled_paths(space, irreps, nu - 1):
            for s in range(last, len(irreps)):
                ir, d, o = irreps[s], dims[s], offsets[s]
                for L2 in space.products(L, ir):
                    cg = space.coupling(L, ir, L2).to(torch.complex128)  # [m, dL, d, dL2]
                    for c in cg:
                        block = torch.einsum("...a,aib->...ib", t, c)  # [D.., d, dL2]
                        full = torch.zeros(t.shape[:-1] + (D, c.shape[-1]), dtype=torch.complex128)
                        full[..., o : o + d, :] = block
                        paths.append((full, L2, s))
    _PATH_CACHE[key] = paths
    return paths


_PATH_CACHE: dict = {}


def symmetric_basis(space: Irreps, irreps: list[Any], ir_out: Any, nu: int) -> torch.Tensor:
    """Basis ``U [d_out, D, ..., D (nu times), K]`` of equivariant symmetric ``nu``-linear maps ``V^nu -> ir_out``,
    ``V = irreps[0] + irreps[1] + ...`` (``D = dim V``); ``K = 0`` when there is none. float64 or complex128."""
    D = sum(ir.dim for ir in irreps)
    d_out = ir_out.dim
    paths = _coupled_paths(space, tuple(irreps), nu)
    final = [t for t, L, _ in paths if L == ir_out]
    if not final:
        return torch.zeros((d_out,) + (D,) * nu + (0,), dtype=torch.float64)
    stack = torch.stack(final)  # [P, D.., d_out]
    perms = list(itertools.permutations(range(1, nu + 1)))
    sym = sum(stack.permute(0, *p, nu + 1) for p in perms) / len(perms)
    mat = sym.reshape(len(final), -1)
    _, s, vh = torch.linalg.svd(mat, full_matrices=False)
    rank = int((s > 1e-9 * s[0]).sum()) if s.numel() and float(s[0]) > 0 else 0
    basis = vh[:rank].reshape((rank,) + (D,) * nu + (d_out,))
    basis = basis.permute(nu + 1, *range(1, nu + 1), 0)  # [d_out, D.., K]
    if float(basis.imag.abs().max() if basis.numel() else 0.0) < 1e-12:
        basis = basis.real
    elif not space.is_complex:
        # real irreps: a real basis of the same span (real and imaginary parts of a complex basis)
        both = torch.cat([basis.real, basis.imag], dim=-1).reshape(-1, 2 * rank).T
        _, s2, vh2 = torch.linalg.svd(both, full_matrices=False)
        r2 = int((s2 > 1e-9 * s2[0]).sum())
        basis = vh2[:r2].T.reshape(basis.shape[:-1] + (r2,))
    return basis.contiguous()


class SymmetricContraction(ConstantsMixin):
    """MACE's symmetric contraction with per-element weights, correlation order ``correlation`` (>= 1).

    Args:
        irreps_in: ``C x (ir_1 + ... )`` with one multiplicity ``C`` (channels) for all segments.
        irreps_out: ``C x (...)`` with the same ``C``.
        correlation: maximal body order ``nu``.
        num_elements: number of element types (columns of the one-hot ``y``).
        group: ``None`` (O(3)) or a ``workbench.groups`` group.
        node_chunk: nodes processed together (bounds memory of the ``[n, C, d, D^nu]`` intermediates).
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_out: Any,
        correlation: int,
        num_elements: int,
        group: LieGroup | str | None = None,
        node_chunk: int = 256,
    ) -> None:
        super().__init__()
        self._init_constants()
        if int(correlation) < 1:
            raise ValueError(f"correlation must be >= 1, got {correlation}")
        if int(num_elements) < 1:
            raise ValueError(f"num_elements must be >= 1, got {num_elements}")
        s_in, s_out = as_irreps(irreps_in, group), as_irreps(irreps_out, group)
        muls = {m for m, _ in s_in} | {m for m, _ in s_out}
        if len(muls) != 1:
            raise ValueError(
                f"irreps_in ({s_in}) and irreps_out ({s_out}) must share one multiplicity "
                "(the number of channels), e.g. '32x0e+32x1o' -> '32x0e+32x1o'"
            )
        (self.channels,) = muls
        self.irreps_in = s_in
        self.irreps_out = s_out
        self.correlation, self.num_elements, self.node_chunk = int(correlation), int(num_elements), int(node_chunk)
        self._complex = s_in.is_complex
        irs = [ir for _, ir in s_in]
        self._in_dims = [ir.dim for ir in irs]
        self._D = sum(self._in_dims)
        self._outs = []  # per output segment: (d_out, [(nu, K)])
        self.weights = torch.nn.ParameterList()
        for o, (_, ir_out) in enumerate(s_out):
            d_out = ir_out.dim
            entries = []
            for nu in range(1, self.correlation + 1):
                u = symmetric_basis(s_in, irs, ir_out, nu)
                k = u.shape[-1]
                entries.append((nu, k))
                self.register_constant(f"_u_{o}_{nu}", u)
                self.weights.append(
                    torch.nn.Parameter(torch.randn(self.num_elements, max(k, 0), self.channels) / max(k, 1))
                )
            if all(k == 0 for _, k in entries):
                raise ValueError(f"no symmetric product of {s_in} up to order {correlation} gives {ir_out}")
            self._outs.append((d_out, entries))
        _PATH_CACHE.clear()

    def __repr__(self) -> str:
        return (
            f"SymmetricContraction({self.irreps_in} -> {self.irreps_out}, "
            f"correlation={self.correlation}, num_elements={self.num_elements})"
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x [N, irreps_in.dim]``, ``y [N, num_elements]`` (one-hot or soft) -> ``[N, irreps_out.dim]``."""
        check_tensor(x, "x", shape=("N", self.irreps_in.dim), hint=self.irreps_in)
        check_tensor(y, "y", shape=(x.shape[0], self.num_elements), hint="N, num_elements")
        if self._complex and not x.is_complex():
            raise TypeError("this group's irreps are complex: pass complex features")
        n, C = x.shape[0], self.channels
        # [N, C, D]: channel-major view of the mul_ir layout
        a = torch.cat(
            [s.reshape(n, C, d) for s, d in zip(x.split([C * d for d in self._in_dims], 1), self._in_dims)], 2
        )
        y = y.to(a.dtype)
        if n > self.node_chunk and not torch.compiler.is_compiling():
            outs = [self._contract(ac, yc) for ac, yc in zip(a.split(self.node_chunk), y.split(self.node_chunk))]
            return torch.cat(outs, 0)
        return self._contract(a, y)

    def _contract(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n, C, D = a.shape
        outs, widx = [], 0
        for o, (d_out, entries) in enumerate(self._outs):
            acc = None
            for nu, k in reversed(entries):
                w = self.weights[widx + nu - 1]
                if k > 0:
                    u = getattr(self, f"_u_{o}_{nu}").to(a.dtype)  # [d, D^nu, K]
                    wn = torch.einsum("be,ekc->bkc", y, w.to(a.dtype))  # [n, K, C]
                    c_nu = torch.einsum("mk,bkc->bcm", u.reshape(-1, k), wn).reshape((n, C, d_out) + (D,) * nu)
                    acc = c_nu if acc is None else acc + c_nu
                if acc is None:
                    continue
                # contract the last index with A: [n, C, d, D^(nu-1)] (also when order nu itself has no basis)
                acc = torch.einsum("bcmi,bci->bcm", acc.reshape(n, C, -1, D), a).reshape(
                    (n, C, d_out) + (D,) * (nu - 1)
                )
            widx += len(entries)
            if acc is None:
                acc = a.new_zeros(n, C, d_out)
            outs.append(acc.reshape(n, C * d_out))
        return torch.cat(outs, dim=1)

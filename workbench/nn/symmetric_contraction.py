"""MACE's symmetric contraction (many-body product), for O(3) or any workbench group.

For every channel ``c`` and node ``b`` with element ``e(b)`` (one-hot ``y``), the input ``A_bc`` (a vector of
``V = ir_1 + ... + ir_s``) is mapped to each output irrep by

    B_bc = sum_{nu=1..correlation} sum_k W_nu[e(b), k, c] U_nu[:, i_1..i_nu, k] A_bc,i_1 ... A_bc,i_nu

where ``U_nu[k]`` is a basis of the equivariant, fully symmetric ``nu``-linear maps ``V^nu -> ir_out``. The
basis is built here from the coupling tensors (iterated tensor products ``((ir x ir) x ir) ...``), then
symmetrized over the ``nu!`` permutations and reduced to an orthonormal basis of its span by SVD (so it is
equivariant but not MACE's exact basis: weights do not transfer to/from mace-torch). Evaluation (see
:class:`SymmetricContraction`) folds every ``U_nu`` onto the distinct monomials of ``A`` (``U`` is symmetric, so
only ``i_1 <= ... <= i_nu`` matter) and contracts them with the per-element weights in one batched matrix product
per order; it is the same polynomial as MACE's recursion ``((c_3 A + c_2) A + c_1) A`` (``c_nu = U_nu W_nu y``)
at a fraction of its cost.

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


def _monomial_tables(D: int, correlation: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per degree ``nu = 1..correlation``: the monomials ``A_i1 ... A_inu`` with ``i1 <= ... <= inu``, in
    lexicographic order (``itertools.combinations_with_replacement``), as ``(prev, last, inverse)``: monomial ``j``
    is monomial ``prev[j]`` of degree ``nu - 1`` times ``A[last[j]]`` (``prev`` is empty at degree 1), and
    ``inverse [D^nu]`` maps every multi-index ``(i1, ..., inu)`` (C order) to the monomial it equals."""
    tables, index_prev = [], None
    for nu in range(1, correlation + 1):
        combos = list(itertools.combinations_with_replacement(range(D), nu))
        last = torch.tensor([c[-1] for c in combos], dtype=torch.long)
        if nu == 1:
            prev = torch.zeros(0, dtype=torch.long)
        else:
            prev = torch.tensor([index_prev[c[:-1]] for c in combos], dtype=torch.long)
        index_prev = {c: j for j, c in enumerate(combos)}
        full = torch.cartesian_prod(*([torch.arange(D)] * nu)).reshape(-1, nu).sort(dim=1).values
        # rank of each sorted multi-index among the sorted combos (lexicographic, base-D digits)
        keys = (full * (D ** torch.arange(nu - 1, -1, -1))).sum(1)
        combo_keys = (torch.tensor(combos).reshape(-1, nu) * (D ** torch.arange(nu - 1, -1, -1))).sum(1)
        inverse = torch.searchsorted(combo_keys, keys)
        tables.append((prev, last, inverse))
    return tables


class SymmetricContraction(ConstantsMixin):
    """MACE's symmetric contraction with per-element weights, correlation order ``correlation`` (>= 1).

    Args:
        irreps_in: ``C x (ir_1 + ... )`` with one multiplicity ``C`` (channels) for all segments.
        irreps_out: ``C x (...)`` with the same ``C``.
        correlation: maximal body order ``nu``.
        num_elements: number of element types (columns of the one-hot ``y``).
        group: ``None`` (O(3)) or a ``workbench.groups`` group.
        node_chunk: nodes processed together (bounds the memory of the ``[C, n, J]`` monomials).

    Evaluation (module docstring's sum, reorganized; the same polynomial): the ``J`` distinct monomials
    ``A_i1 ... A_inu`` (``i1 <= ... <= inu``, every order ``nu`` up to ``correlation``; ``J = C(D+1, 1) + ... ``) of
    each channel are formed by one gather-and-multiply per order; every basis tensor ``U_nu`` is folded onto them
    (summing its entries over the orderings of each monomial, exact for any tensor) into one constant
    ``U [J, M, K]`` (``M`` = output components per channel, ``K`` = all basis elements of all outputs and orders,
    block-sparse). Per call, ``W_eff[c, j, e, m] = sum_k U[j, m, k] W[e, k, c]`` is one matrix product and the
    nodes take one batched product over channels, ``B[c, b, (e, m)] = sum_j mono[c, b, j] W_eff[c, j, (e, m)]``,
    then ``sum_e y[b, e] B[c, b, e, m]``: ``O(C n J E M)`` per call instead of ``O(C n M D^nu K)``.
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
        if int(node_chunk) < 1:
            raise ValueError(f"node_chunk must be >= 1, got {node_chunk}")
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
        self._D = D = sum(self._in_dims)
        C = self.channels
        tables = _monomial_tables(D, self.correlation)
        for nu, (prev, last, _) in enumerate(tables[1:], start=2):  # degree 1 is A itself: no gather
            self.register_constant(f"_mono_prev_{nu}", prev)
            self.register_constant(f"_mono_last_{nu}", last)
        row_offsets = [0]
        for _, last, _ in tables:
            row_offsets.append(row_offsets[-1] + last.numel())
        self._outs = []  # per output segment: (d_out, [(nu, K)])
        self.weights = torch.nn.ParameterList()
        blocks = []  # (order nu, first output column m0, first basis column k0, folded basis [J_nu, d_out, K])
        m0 = k0 = 0
        for _, ir_out in s_out:
            d_out = ir_out.dim
            entries = []
            for nu in range(1, self.correlation + 1):
                u = symmetric_basis(s_in, irs, ir_out, nu)
                k = u.shape[-1]
                entries.append((nu, k))
                inverse = tables[nu - 1][2]
                flat = u.reshape(d_out, D**nu, k).permute(1, 0, 2)  # [D^nu, d_out, K]
                folded = flat.new_zeros(tables[nu - 1][1].numel(), d_out, k).index_add_(0, inverse, flat)
                blocks.append((nu, m0, k0, folded))
                k0 += k
                self.weights.append(
                    torch.nn.Parameter(torch.randn(self.num_elements, max(k, 0), self.channels) / max(k, 1))
                )
            if all(k == 0 for _, k in entries):
                raise ValueError(f"no symmetric product of {s_in} up to order {correlation} gives {ir_out}")
            self._outs.append((d_out, entries))
            m0 += d_out
        self._M, self._K = m0, k0
        dtype = torch.complex128 if any(b[3].is_complex() for b in blocks) else torch.float64
        u_all = torch.zeros(row_offsets[-1], self._M, self._K, dtype=dtype)
        for nu, m, k, folded in blocks:
            u_all[row_offsets[nu - 1] : row_offsets[nu], m : m + folded.shape[1], k : k + folded.shape[2]] = folded
        self.register_constant("_u_all", u_all.reshape(-1, self._K))
        # x (mul_ir) columns -> rows (component i, channel c) of [D * C, N]; rows (c, m) of [C * M, N] -> output columns
        seg_starts = [sum(C * d for d in self._in_dims[:s]) for s in range(len(self._in_dims))]
        in_perm = [seg_starts[s] + c * d + i for s, d in enumerate(self._in_dims) for i in range(d) for c in range(C)]
        out_perm, m_start = [], 0
        for d_out, _ in self._outs:
            out_perm += [c * self._M + m_start + i for c in range(C) for i in range(d_out)]
            m_start += d_out
        self._rows = row_offsets
        self.register_constant("_in_perm", torch.tensor(in_perm, dtype=torch.long))
        self.register_constant("_out_perm", torch.tensor(out_perm, dtype=torch.long))
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
        n, C, E = x.shape[0], self.channels, self.num_elements
        # [D, C, N]: component-major, nodes last (the monomials gather whole rows)
        a = x.index_select(1, self._in_perm).t().reshape(self._D, C, n)
        y = y.to(a.dtype)
        # W_eff^T [C, E * M, J] from U [J * M, K] @ W [K, E * C], once per call (shared by all node chunks)
        w = torch.cat(list(self.weights), dim=1).to(a.dtype)  # [E, K, C]
        u = self._u_all.to(a.dtype)
        w_eff = (u @ w.transpose(0, 1).reshape(self._K, E * C)).reshape(-1, self._M, E, C)
        w_eff = w_eff.permute(3, 2, 1, 0).reshape(C, E * self._M, -1)
        if n > self.node_chunk and not torch.compiler.is_compiling():
            outs = [self._contract(ac, yc, w_eff) for ac, yc in
                    zip(a.split(self.node_chunk, dim=2), y.split(self.node_chunk))]
            return torch.cat(outs, 0)
        return self._contract(a, y, w_eff)

    def _contract(self, a: torch.Tensor, y: torch.Tensor, w_eff: torch.Tensor) -> torch.Tensor:
        D, C, n = a.shape
        flat = a.reshape(D, C * n)
        mono, acc = flat, None
        for nu in range(1, self.correlation + 1):
            if nu > 1:  # degree-nu monomials [J_nu, C * n]: a degree nu-1 monomial times one more component
                mono = mono.index_select(0, getattr(self, f"_mono_prev_{nu}")) * flat.index_select(
                    0, getattr(self, f"_mono_last_{nu}"))
            term = torch.bmm(w_eff[:, :, self._rows[nu - 1] : self._rows[nu]], mono.reshape(-1, C, n).transpose(0, 1))
            acc = term if acc is None else acc + term  # [C, E * M, n]
        out = (acc.reshape(C, self.num_elements, self._M, n) * y.t().reshape(1, -1, 1, n)).sum(1)  # [C, M, n]
        return out.reshape(C * self._M, n).index_select(0, self._out_perm).t().contiguous()

"""Representations of a Lie algebra (plus discrete group elements) given by matrices.

A :class:`Representation` of dimension ``d`` of a group with ``n`` Lie algebra generators and ``k`` discrete
generators holds

* ``generators``: ``[n, d, d]`` real or complex matrices ``dρ(T_a)`` of the Lie algebra basis ``T_a``,
* ``discrete``: ``[k, d, d]`` matrices ``ρ(P_j)`` of the discrete generators (e.g. parity), may be empty.

The algebra is fixed by its structure constants ``f[a, b, c]`` with ``[T_a, T_b] = sum_c f[a, b, c] T_c``.
They are either given (by the group) and checked, or solved from the generators by least squares (which needs
linearly independent generators, i.e. a faithful representation of the algebra); if the commutators are not
in the span of the generators a :class:`ValueError` says so.

Group elements act as ``ρ(exp(sum_a c_a T_a)) = expm(sum_a c_a dρ(T_a))`` (see :mod:`workbench.groups.group`).
Everything here is float64 / complex128 numpy internally; :attr:`Representation.generators` returns torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch

from workbench.checks import check_array
from workbench.groups.linalg import as_numpy

__all__ = ["Representation", "solve_structure_constants", "check_structure_constants"]

CLOSURE_RTOL = 1e-8


def _commutators(x: np.ndarray) -> np.ndarray:
    """``[n, n, d, d]`` array of ``[X_a, X_b]``."""
    return np.einsum("aij,bjk->abik", x, x) - np.einsum("bij,ajk->abik", x, x)


def solve_structure_constants(generators, rtol: float = CLOSURE_RTOL) -> np.ndarray:
    """Structure constants ``f [n, n, n]`` (real) with ``[X_a, X_b] = sum_c f[a,b,c] X_c``.

    Solved by least squares over the reals from the generators ``[n, d, d]``.  Raises ValueError when the
    generators are linearly dependent or when a commutator is not in their real span (do not close).
    """
    x = check_array(as_numpy(generators, "generators"), "generators", shape=("n", "d", "d"))
    n, d, _ = x.shape
    basis = x.reshape(n, d * d).T  # [d*d, n]
    basis_r = np.concatenate([basis.real, basis.imag], axis=0) if np.iscomplexobj(basis) else basis
    sv = np.linalg.svd(basis_r, compute_uv=False)
    if n and sv[-1] <= 1e-10 * max(1.0, sv[0]):
        raise ValueError(
            "generators must be linearly independent (over the reals) to determine the structure constants; "
            "pass structure_constants= for a non-faithful representation"
        )
    comm = _commutators(x).reshape(n * n, d * d).T  # [d*d, n*n]
    comm_r = np.concatenate([comm.real, comm.imag], axis=0) if np.iscomplexobj(comm) else comm
    f, *_ = np.linalg.lstsq(basis_r, comm_r, rcond=None)
    residual = np.linalg.norm(basis_r @ f - comm_r, axis=0)
    scale = max(1.0, max(float(np.linalg.norm(x[a])) for a in range(n)) ** 2) if n else 1.0
    worst = int(np.argmax(residual)) if residual.size else 0
    if residual.size and residual[worst] > rtol * scale:
        a, b = divmod(worst, n)
        raise ValueError(
            f"generators do not close under commutation: [X_{a}, X_{b}] is not a real linear combination of "
            f"the generators (residual {residual[worst]:.3e}, relative {residual[worst] / scale:.3e})"
        )
    return f.T.reshape(n, n, n)


def check_structure_constants(generators, f: np.ndarray, rtol: float = CLOSURE_RTOL) -> float:
    """Relative error of ``[X_a, X_b] = sum_c f[a,b,c] X_c``; raises ValueError above ``rtol``."""
    x = as_numpy(generators, "generators")
    n = x.shape[0]
    check_array(np.asarray(f), "structure_constants", shape=(n, n, n), hint="n = number of generators")
    lhs = _commutators(x)
    rhs = np.einsum("abc,cij->abij", f, x)
    err = float(np.abs(lhs - rhs).max()) if n else 0.0
    scale = max(1.0, float(np.abs(x).max()) ** 2) if n and x.size else 1.0
    if err > rtol * scale:
        raise ValueError(
            f"generators do not satisfy the commutation relations of the algebra (max error {err:.3e})"
        )
    return err / scale


class Representation:
    """A finite-dimensional representation: Lie algebra generators and discrete generators (see module doc).

    Args:
        generators: ``[n, d, d]`` real or complex (torch or numpy) matrices ``dρ(T_a)``.
        discrete: optional ``[k, d, d]`` matrices ``ρ(P_j)`` of discrete group generators.
        structure_constants: optional ``[n, n, n]`` real ``f`` with ``[T_a, T_b] = f[a,b,c] T_c``; when given,
            the generators are checked against it, otherwise it is solved from the generators.
        name: free-form description used in ``repr``.
        check: set False to skip the closure check (internal use for already-validated matrices).
    """

    def __init__(
        self,
        generators,
        discrete=None,
        *,
        structure_constants: np.ndarray | None = None,
        name: str = "",
        check: bool = True,
    ) -> None:
        x = check_array(as_numpy(generators, "generators"), "generators", shape=("n", "d", "d"), finite=True)
        d = x.shape[1]
        if discrete is None:
            p = np.zeros((0, d, d))
        else:
            p = check_array(as_numpy(discrete, "discrete"), "discrete", shape=("k", d, d), finite=True,
                            hint=f"d = {d}, the generators' size")
        if np.iscomplexobj(x) and np.abs(x.imag).max(initial=0.0) == 0.0:
            x = x.real.copy()
        if np.iscomplexobj(p) and np.abs(p.imag).max(initial=0.0) == 0.0:
            p = p.real.copy()
        self._x = x
        self._p = p
        self.name = name
        if structure_constants is None:
            self._f = solve_structure_constants(x)
        else:
            self._f = np.asarray(structure_constants, dtype=np.float64)
            if check:
                check_structure_constants(x, self._f)

    # ------------------------------------------------------------------ accessors
    @property
    def dim(self) -> int:
        """Dimension ``d`` of the representation space."""
        return self._x.shape[1]

    @property
    def num_generators(self) -> int:
        """Number ``n`` of Lie algebra generators."""
        return self._x.shape[0]

    @property
    def is_real(self) -> bool:
        """True when all matrices are real."""
        return not (np.iscomplexobj(self._x) or np.iscomplexobj(self._p))

    @property
    def generators(self) -> torch.Tensor:
        """``[n, d, d]`` torch float64 (real rep) or complex128 Lie algebra generators."""
        return torch.from_numpy(self._x.copy())

    @property
    def discrete(self) -> torch.Tensor:
        """``[k, d, d]`` torch matrices of the discrete generators (``k = 0`` for connected groups)."""
        return torch.from_numpy(self._p.copy())

    @property
    def structure_constants(self) -> np.ndarray:
        """``[n, n, n]`` real structure constants ``f`` with ``[T_a, T_b] = sum_c f[a,b,c] T_c``."""
        return self._f.copy()

    def numpy_generators(self) -> np.ndarray:
        """``[n, d, d]`` numpy copy of the generators."""
        return self._x.copy()

    def numpy_discrete(self) -> np.ndarray:
        """``[k, d, d]`` numpy copy of the discrete generators."""
        return self._p.copy()

    def __repr__(self) -> str:
        kind = "real" if self.is_real else "complex"
        label = f" {self.name}" if self.name else ""
        return f"Representation({label.strip() or 'unnamed'}, dim={self.dim}, {kind}, n={self.num_generators})"

    # ------------------------------------------------------------------ constructions
    def _new(self, x: np.ndarray, p: np.ndarray, name: str) -> Representation:
        return Representation(x, p, structure_constants=self._f, name=name, check=False)

    def _check_compatible(self, other: Representation, what: str) -> None:
        if not isinstance(other, Representation):
            raise TypeError(f"{what} expects a Representation, got {type(other).__name__}")
        if other.num_generators != self.num_generators or other._p.shape[0] != self._p.shape[0]:
            raise ValueError(
                f"{what}: representations must have the same number of generators "
                f"({self.num_generators} vs {other.num_generators}) and discrete generators "
                f"({self._p.shape[0]} vs {other._p.shape[0]})"
            )
        if not np.allclose(self._f, other._f, atol=1e-9):
            raise ValueError(f"{what}: representations belong to different Lie algebras (structure constants)")

    def direct_sum(self, other: Representation) -> Representation:
        """Block-diagonal representation ``self ⊕ other`` (``self`` first)."""
        self._check_compatible(other, "direct_sum")
        d1, d2 = self.dim, other.dim
        dtype = np.result_type(self._x, other._x)
        x = np.zeros((self.num_generators, d1 + d2, d1 + d2), dtype=dtype)
        x[:, :d1, :d1] = self._x
        x[:, d1:, d1:] = other._x
        dtype_p = np.result_type(self._p, other._p)
        p = np.zeros((self._p.shape[0], d1 + d2, d1 + d2), dtype=dtype_p)
        p[:, :d1, :d1] = self._p
        p[:, d1:, d1:] = other._p
        return self._new(x, p, f"({self.name} + {other.name})")

    def tensor_product(self, other: Representation) -> Representation:
        """``self ⊗ other`` on ``C^{d1} ⊗ C^{d2}``, index ``i * d2 + j`` (row-major, like ``np.kron``)."""
        self._check_compatible(other, "tensor_product")
        i1, i2 = np.eye(self.dim), np.eye(other.dim)
        x = np.stack([np.kron(a, i2) + np.kron(i1, b) for a, b in zip(self._x, other._x)])
        x = x.reshape(self.num_generators, self.dim * other.dim, self.dim * other.dim)
        p = np.stack([np.kron(a, b) for a, b in zip(self._p, other._p)]) if self._p.shape[0] else None
        if p is None:
            p = np.zeros((0, self.dim * other.dim, self.dim * other.dim))
        return self._new(x, p, f"({self.name} x {other.name})")

    def dual(self) -> Representation:
        """Dual (contragredient) representation: ``dρ*(T) = -dρ(T)^T``, ``ρ*(P) = ρ(P)^{-T}``."""
        x = -np.transpose(self._x, (0, 2, 1))
        p = np.stack([np.linalg.inv(m).T for m in self._p]) if self._p.shape[0] else self._p.copy()
        return self._new(x, p, f"dual({self.name})")

    def conjugate(self) -> Representation:
        """Complex-conjugate representation: ``dρ̄(T) = conj(dρ(T))``, ``ρ̄(P) = conj(ρ(P))``."""
        return self._new(self._x.conj(), self._p.conj(), f"conj({self.name})")

    def change_basis(self, q) -> Representation:
        """Representation in the basis given by the columns of ``q`` ``[d, d]``: ``X -> q^{-1} X q``.

        A vector with coordinates ``v'`` in the new basis is ``q v'`` in the old one.
        """
        qm = check_array(as_numpy(q, "q"), "q", shape=(self.dim, self.dim), hint="d, d")
        cond = np.linalg.cond(qm)
        if not np.isfinite(cond) or cond > 1e12:
            raise ValueError(f"q must be invertible (condition number {cond:.3e})")
        qi = np.linalg.inv(qm)
        x = np.einsum("ij,ajk,kl->ail", qi, self._x, qm)
        p = np.einsum("ij,ajk,kl->ail", qi, self._p, qm)
        return self._new(x, p, self.name)

    def restrict(self, basis: np.ndarray) -> Representation:
        """Restriction to the invariant subspace spanned by the orthonormal columns ``basis`` ``[d, m]``."""
        b = np.asarray(basis)
        x = np.einsum("ji,ajk,kl->ail", b.conj(), self._x, b)
        p = np.einsum("ji,ajk,kl->ail", b.conj(), self._p, b)
        err = max(
            (np.linalg.norm(self._x[a] @ b - b @ x[a]) for a in range(self.num_generators)), default=0.0
        )
        if err > 1e-8 * max(1.0, float(np.abs(self._x).max(initial=0.0))):
            raise ValueError(f"restrict: the subspace is not invariant (error {err:.3e})")
        return self._new(x, p, f"{self.name}|sub")

    def symmetric_power(self, k: int) -> Representation:
        """``Sym^k`` in the orthonormal monomial basis ``x^α / sqrt(α! k!)`` (multi-indices in lexicographic
        order of sorted index tuples ``i_1 <= ... <= i_k``)."""
        if not isinstance(k, int) or k < 0:
            raise ValueError(f"k must be a non-negative int, got {k!r}")
        d = self.dim
        combos = list(itertools.combinations_with_replacement(range(d), k))
        alphas = [tuple(np.bincount(c, minlength=d)) for c in combos] if k else [tuple([0] * d)]
        index = {a: i for i, a in enumerate(alphas)}
        fact = [math.prod(math.factorial(v) for v in a) for a in alphas]
        m = len(alphas)
        dtype = self._x.dtype
        x = np.zeros((self.num_generators, m, m), dtype=dtype)
        for col, a in enumerate(alphas):
            for i in range(d):
                if a[i] == 0:
                    continue
                for j in range(d):
                    b = list(a)
                    b[i] -= 1
                    b[j] += 1
                    row = index[tuple(b)]
                    coef = a[i] * math.sqrt(fact[row] / fact[col])
                    x[:, row, col] += coef * self._x[:, j, i]
        p = np.stack([_sym_power_matrix(m_, alphas, index, fact) for m_ in self._p]) if self._p.shape[0] else (
            np.zeros((0, m, m))
        )
        return self._new(x, p, f"Sym^{k}({self.name})")

    def exterior_power(self, k: int) -> Representation:
        """``Λ^k`` in the orthonormal basis ``e_{i1} ∧ ... ∧ e_{ik}`` (``i1 < ... < ik``, lexicographic)."""
        if not isinstance(k, int) or k < 0 or k > self.dim:
            raise ValueError(f"k must be an int in [0, {self.dim}], got {k!r}")
        subsets = list(itertools.combinations(range(self.dim), k))
        index = {s: i for i, s in enumerate(subsets)}
        m = len(subsets)
        x = np.zeros((self.num_generators, m, m), dtype=self._x.dtype)
        for col, s in enumerate(subsets):
            for pos, i in enumerate(s):
                for j in range(self.dim):
                    if j != i and j in s:
                        continue
                    new = list(s)
                    new[pos] = j
                    order = np.argsort(new)
                    sign = _perm_sign(order)
                    row = index[tuple(sorted(new))]
                    x[:, row, col] += sign * self._x[:, j, i]
        p = (
            np.stack([np.array([[np.linalg.det(mm[np.ix_(r, c)]) if k else 1.0 for c in subsets] for r in subsets])
                      for mm in self._p])
            if self._p.shape[0]
            else np.zeros((0, m, m))
        )
        return self._new(x, p, f"Λ^{k}({self.name})")


def _perm_sign(order: Sequence[int]) -> int:
    order = list(order)
    sign = 1
    for i in range(len(order)):
        while order[i] != i:
            j = order[i]
            order[i], order[j] = order[j], order[i]
            sign = -sign
    return sign


def _sym_power_matrix(mat: np.ndarray, alphas, index, fact) -> np.ndarray:
    """Matrix of ``mat^{⊗k}`` on ``Sym^k`` in the orthonormal monomial basis (polynomial substitution)."""
    d = mat.shape[0]
    m = len(alphas)
    out = np.zeros((m, m), dtype=mat.dtype)
    for col, a in enumerate(alphas):
        poly = {tuple([0] * d): 1.0 + 0 * mat[0, 0]}
        for i in range(d):
            for _ in range(a[i]):
                new: dict = {}
                for mono, c in poly.items():
                    for j in range(d):
                        if mat[j, i] == 0:
                            continue
                        b = list(mono)
                        b[j] += 1
                        b = tuple(b)
                        new[b] = new.get(b, 0) + c * mat[j, i]
                poly = new
        for mono, c in poly.items():
            row = index[mono]
            out[row, col] += c * math.sqrt(fact[row] / fact[col])
    # monomial coefficient c of x^β in (Px)^α maps x^α/sqrt(α!k!) to c x^β/sqrt(α!k!)
    #   = c sqrt(β!/α!) * (x^β/sqrt(β!k!)), which is the factor used above.
    return out

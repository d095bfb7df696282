"""Intertwiners, isotypic components, decompositions and Clebsch-Gordan tensors, computed numerically.

Algorithm (float64 / complex128 throughout), for a representation ``A`` (dim ``D``) and an irrep ``B``
(dim ``d``):

1. **Casimir filter.**  The ad-invariant symmetric forms ``M`` of the Lie algebra (null space of
   ``ad_c M + M ad_c^T = 0``) and its centre give Casimir operators ``C = sum_ab M_ab X_a X_b`` and
   ``C = sum_a z_a X_a``.  On ``B`` they are scalars ``c``; the joint eigenspace ``W`` of ``A``'s Casimirs with
   those eigenvalues contains every copy of ``B`` in ``A`` (and possibly irreps with equal Casimirs, e.g.
   ``3bar`` next to ``3``; the next step sorts them out).
2. **Weight reduction.**  A fixed generic algebra element ``Z`` is diagonalizable in every representation;
   an intertwiner maps each eigenspace of ``Z`` on ``B`` into the eigenspace of ``Z`` on ``W`` with the same
   eigenvalue, so only those blocks are unknown.
3. **Null space.**  The intertwiner equations ``X^A_a R = R X^B_a`` for all generators and
   ``P^A_j R = R P^B_j`` for all discrete generators are stacked for those unknowns and solved by SVD.

For real representations the real and imaginary parts of the complex solutions span the real solution space;
multiplicities are counted over the reals for real irreps and over the complex numbers for complex ones.
"""

from __future__ import annotations

import functools

import numpy as np

from workbench.groups.linalg import (
    canonical_basis,
    cluster_values,
    eigenspace,
    null_space,
    orthonormalize,
)
from workbench.groups.representation import Representation

__all__ = [
    "casimir_data",
    "clebsch_gordan_tensor",
    "decompose_representation",
    "intertwiners",
]

_GENERIC_SEED = 20240607


@functools.lru_cache(maxsize=64)
def _casimir_data_cached(f_bytes: bytes, n: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    f = np.frombuffer(f_bytes, dtype=np.float64).reshape(n, n, n)
    # ad matrices: (ad_c)[x, a] = f[c, a, x]
    ad = np.transpose(f, (0, 2, 1))
    # invariant symmetric forms: unknown M (n*n, row-major), equations ad_c M + M ad_c^T = 0 and M = M^T
    eye = np.eye(n)
    rows = [np.kron(ad[c], eye) + np.kron(eye, ad[c]) for c in range(n)]
    sym = np.eye(n * n) - np.eye(n * n)[[j * n + i for i in range(n) for j in range(n)]]
    rows.append(sym)
    forms_flat = null_space(np.concatenate(rows, axis=0), rtol=1e-9)
    forms = tuple(canonical_basis(forms_flat)[:, k].reshape(n, n) for k in range(forms_flat.shape[1]))
    forms = tuple((m + m.T) / 2 for m in forms)
    # centre: z with sum_a z_a f[a, b, c] = 0 for all b, c
    centre_flat = null_space(f.reshape(n, n * n).T, rtol=1e-9)
    centre = tuple(canonical_basis(centre_flat)[:, k] for k in range(centre_flat.shape[1]))
    return forms, centre


def casimir_data(structure_constants: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(invariant symmetric forms ``[n, n]``, centre vectors ``[n]``) of the algebra with structure constants
    ``f [n, n, n]``; each spans its space in canonical basis (cached)."""
    f = np.ascontiguousarray(structure_constants, dtype=np.float64)
    return _casimir_data_cached(f.tobytes(), f.shape[0])


def _hermitian_view(c: np.ndarray) -> tuple[np.ndarray | None, complex]:
    """Return (hermitian matrix h, factor) with ``h = factor * c`` when ``c`` is (anti-)Hermitian, else None."""
    scale = max(1.0, float(np.abs(c).max(initial=0.0)))
    if np.abs(c - c.conj().T).max(initial=0.0) <= 1e-11 * scale:
        return c, 1.0
    if np.abs(c + c.conj().T).max(initial=0.0) <= 1e-11 * scale:
        return -1j * c, -1j
    return None, 1.0


def _select_eigenspace(restricted: np.ndarray, value: complex, tol: float) -> np.ndarray:
    """Orthonormal basis (coordinates) of the eigenspace of the small diagonalizable matrix ``restricted``
    with eigenvalue ``value`` (eigenvalues within ``tol``)."""
    herm, factor = _hermitian_view(restricted)
    if herm is not None:
        herm = (herm + herm.conj().T) / 2
        if np.iscomplexobj(herm) and np.abs(herm.imag).max(initial=0.0) == 0:
            herm = herm.real
        evals, evecs = np.linalg.eigh(herm)
        keep = np.abs(evals - (factor * value).real) <= tol
        return evecs[:, keep]
    evals = np.linalg.eigvals(restricted)
    count = int(np.sum(np.abs(evals - value) <= tol))
    return eigenspace(restricted, value, count)


def _generic_coefficients(n: int) -> np.ndarray:
    coeff = np.random.default_rng(_GENERIC_SEED).normal(size=n)
    return coeff / np.linalg.norm(coeff)


class _Action:
    """How a representation acts on blocks of vectors ``V [D, k]``: explicit matrices, or ``ρ1 ⊗ ρ2`` applied
    through the Kronecker structure (never forming the ``D x D`` product matrices)."""

    def __init__(self, x: np.ndarray, p: np.ndarray, factors: tuple[Representation, Representation] | None = None):
        self.x, self.p, self.factors = x, p, factors
        if factors is None:
            self.dim = x.shape[1]
        else:
            self.dim = factors[0].dim * factors[1].dim
        self.real = not (np.iscomplexobj(x) or np.iscomplexobj(p))

    @classmethod
    def explicit(cls, rep: Representation) -> _Action:
        return cls(rep._x, rep._p)

    @classmethod
    def product(cls, r1: Representation, r2: Representation) -> _Action:
        act = cls(np.zeros((r1.num_generators, 0, 0), dtype=np.result_type(r1._x, r2._x)),
                  np.zeros((r1._p.shape[0], 0, 0), dtype=np.result_type(r1._p, r2._p)), (r1, r2))
        return act

    @property
    def num_generators(self) -> int:
        return self.x.shape[0]

    @property
    def num_discrete(self) -> int:
        return self.p.shape[0]

    def combo(self, c: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``(sum_a c_a X_a) v``."""
        if self.factors is None:
            return np.einsum("a,aij->ij", c, self.x) @ v
        r1, r2 = self.factors
        m1 = np.einsum("a,aij->ij", c, r1._x)
        m2 = np.einsum("a,aij->ij", c, r2._x)
        k = v.shape[1]
        out = (m1 @ v.reshape(r1.dim, r2.dim * k)).reshape(r1.dim, r2.dim, k)
        out = out + m2 @ v.reshape(r1.dim, r2.dim, k)
        return out.reshape(self.dim, k)

    def generator(self, a: int, v: np.ndarray) -> np.ndarray:
        """``X_a v``."""
        c = np.zeros(self.num_generators)
        c[a] = 1.0
        return self.combo(c, v)

    def discrete(self, j: int, v: np.ndarray) -> np.ndarray:
        """``P_j v``."""
        if self.factors is None:
            return self.p[j] @ v
        r1, r2 = self.factors
        k = v.shape[1]
        out = (r1._p[j] @ v.reshape(r1.dim, r2.dim * k)).reshape(r1.dim, r2.dim, k)
        return (r2._p[j] @ out).reshape(self.dim, k)

    def z_eigenspaces(self, coeff: np.ndarray, atol: float):
        """Function ``value -> orthonormal basis [D, k]`` of the eigenspace of ``Z = sum_a coeff_a X_a``."""
        if self.factors is None:
            yz = np.einsum("a,aij->ij", coeff, self.x)
            ev = np.linalg.eigvals(yz)

            def space(value: complex) -> np.ndarray:
                count = int(np.sum(np.abs(ev - value) <= atol))
                return eigenspace(yz, value, count)

            return space
        parts = []
        for r in self.factors:
            z = np.einsum("a,aij->ij", coeff, r._x)
            vals, vecs = [], []
            for value, idx in cluster_values(np.linalg.eigvals(z), atol / 4):
                e = eigenspace(z, value, len(idx))
                vals.extend([value] * e.shape[1])
                vecs.append(e)
            parts.append((np.array(vals), np.concatenate(vecs, axis=1)))
        (v1, u1), (v2, u2) = parts
        sums = v1[:, None] + v2[None, :]

        def space(value: complex) -> np.ndarray:
            ii, jj = np.nonzero(np.abs(sums - value) <= atol)
            if ii.size == 0:
                return np.zeros((self.dim, 0))
            cols = (u1[:, None, ii] * u2[None, :, jj]).reshape(self.dim, ii.size)
            return orthonormalize(cols, rank=ii.size)

        return space


def _casimir_appliers(structure_constants: np.ndarray):
    """List of functions ``(action, V) -> C V`` for the quadratic and linear Casimirs."""
    forms, centre = casimir_data(structure_constants)
    appliers = []
    for m in forms:
        s, u = np.linalg.eigh(m)
        keep = np.abs(s) > 1e-14

        def apply(action: _Action, v: np.ndarray, s=s[keep], u=u[:, keep]) -> np.ndarray:
            out = np.zeros(v.shape, dtype=np.result_type(v, action.x, action.p, *(
                [action.factors[0]._x, action.factors[1]._x] if action.factors else [])))
            for i in range(len(s)):
                out = out + s[i] * action.combo(u[:, i], action.combo(u[:, i], v))
            return out

        appliers.append(apply)
    for z in centre:
        appliers.append(lambda action, v, z=z: action.combo(z, v))
    return appliers


def _solve_embeddings(action: _Action, irrep: Representation, rtol: float = 1e-9) -> np.ndarray:
    """Orthonormal (Frobenius) canonical basis ``[m, D, d]`` of the embeddings ``Q`` of the irrep into the
    representation ``action``: ``X_a Q = Q X^irrep_a`` and ``P_j Q = Q P^irrep_j`` (see module doc)."""
    x_irr, p_irr = irrep._x, irrep._p
    n, d = x_irr.shape[0], irrep.dim
    dim = action.dim
    if action.num_generators != n or action.num_discrete != p_irr.shape[0]:
        raise ValueError("representation and irrep must have the same numbers of generators")
    real = action.real and irrep.is_real
    coeff = _generic_coefficients(n) if n else np.zeros(0)
    xz = np.einsum("a,aij->ij", coeff, x_irr) if n else np.zeros((d, d))
    scale = max(1.0, float(np.abs(xz).max(initial=0.0)))
    atol = 1e-7 * scale
    clusters = cluster_values(np.linalg.eigvals(xz), atol)
    e3 = [eigenspace(xz, value, len(idx)) for value, idx in clusters]
    s3_inv = np.linalg.inv(np.concatenate(e3, axis=1))
    space = action.z_eigenspaces(coeff, atol)
    # Casimir values on the irrep (skipping operators that are not scalars on it)
    casimirs = []
    for apply in _casimir_appliers(irrep.structure_constants):
        c_irr = apply(_Action.explicit(irrep), np.eye(d))
        value = np.trace(c_irr) / d
        c_scale = max(1.0, float(np.abs(c_irr).max(initial=0.0)))
        if np.abs(c_irr - value * np.eye(d)).max(initial=0.0) <= 1e-8 * c_scale:
            casimirs.append((apply, value, c_scale))
    pieces = []
    start = 0
    for (value, _), e in zip(clusters, e3):
        rows = s3_inv[start : start + e.shape[1]]
        start += e.shape[1]
        b = space(value)
        for apply, c_value, c_scale in casimirs:
            if b.shape[1] == 0:
                break
            restricted = b.conj().T @ apply(action, b)
            b = b @ _select_eigenspace(restricted, c_value, 1e-6 * max(c_scale, float(np.abs(restricted).max())))
        if b.shape[1]:
            pieces.append((b, rows))
    if not pieces:
        return np.zeros((0, dim, d))
    blocks = []
    for a in range(n + p_irr.shape[0]):
        cols = []
        for b, rows in pieces:
            if a < n:
                xb, rx = action.generator(a, b), rows @ x_irr[a]
            else:
                xb, rx = action.discrete(a - n, b), rows @ p_irr[a - n]
            blk = xb[:, None, :, None] * rows.T[None, :, None, :] - b[:, None, :, None] * rx.T[None, :, None, :]
            cols.append(blk.reshape(dim * d, -1))
        blocks.append(np.concatenate(cols, axis=1))
    sol = null_space(np.concatenate(blocks, axis=0), rtol=rtol)
    m = sol.shape[1]
    if m == 0:
        return np.zeros((0, dim, d))
    q = np.zeros((m, dim, d), dtype=np.complex128)
    offset = 0
    for b, rows in pieces:
        k1, k2 = b.shape[1], rows.shape[0]
        coef = sol[offset : offset + k1 * k2].reshape(k1, k2 * m)
        q += np.einsum("wjm,jd->mwd", (b @ coef).reshape(dim, k2, m), rows, optimize=True)
        offset += k1 * k2
    flat = q.reshape(m, dim * d).T
    if real:
        flat = orthonormalize(np.concatenate([flat.real, flat.imag], axis=1), rank=m)
    else:
        flat = orthonormalize(flat, rank=m)
    flat = canonical_basis(flat)
    if real:
        flat = flat.real
    q = flat.T.reshape(m, dim, d)
    # verify against the full equations
    err = 0.0
    qt = np.transpose(q, (1, 0, 2)).reshape(dim, m * d)
    for a in range(n + p_irr.shape[0]):
        lhs = action.generator(a, qt) if a < n else action.discrete(a - n, qt)
        mat = x_irr[a] if a < n else p_irr[a - n]
        rhs = (q @ mat).transpose(1, 0, 2).reshape(dim, m * d)
        err = max(err, float(np.abs(lhs - rhs).max()))
    if err > 1e-9 * max(1.0, float(np.abs(x_irr).max(initial=0.0))):
        raise RuntimeError(f"intertwiner computation lost accuracy (residual {err:.3e}); please report")
    return q


def intertwiners(rep: Representation, irrep: Representation) -> np.ndarray:
    """Canonical Frobenius-orthonormal basis ``[m, D, d]`` of all ``Q`` with ``ρ_rep Q = Q ρ_irrep``
    (``irrep`` must be irreducible); real when both are real."""
    if not (isinstance(rep, Representation) and isinstance(irrep, Representation)):
        raise TypeError("intertwiners expects two Representation objects")
    return _solve_embeddings(_Action.explicit(rep), irrep)


def clebsch_gordan_tensor(ir1: Representation, ir2: Representation, ir3: Representation) -> np.ndarray:
    """Clebsch-Gordan tensor ``C [d1, d2, d3, m]`` with
    ``sum_ab ρ1(g)_ia ρ2(g)_jb C_abk = sum_c C_ijc ρ3(g)_ck`` (i.e. ``(ρ1 ⊗ ρ2) Q = Q ρ3`` for
    ``Q[(i j), k] = C_ijk``); slices orthonormal in the Frobenius norm, in canonical basis."""
    ir1._check_compatible(ir2, "clebsch_gordan_tensor")
    ir1._check_compatible(ir3, "clebsch_gordan_tensor")
    q = _solve_embeddings(_Action.product(ir1, ir2), ir3)  # [m, d1*d2, d3]
    m = q.shape[0]
    return np.ascontiguousarray(np.transpose(q, (1, 2, 0)).reshape(ir1.dim, ir2.dim, ir3.dim, m))


def decompose_representation(
    rep: Representation, candidates: list[tuple[object, Representation]]
) -> tuple[list[tuple[object, int]], np.ndarray]:
    """Decompose ``rep`` into the candidate irreps.

    Returns ``(pairs, q)``: ``pairs`` lists (label, multiplicity) in candidate order (multiplicity > 0 only);
    ``q [D, D]`` has as columns the embeddings of every copy (irrep by irrep, copy by copy), so that
    ``X^rep q = q (⊕ X^irrep)``.  Raises NotImplementedError when the candidates do not fill ``rep``.
    """
    pairs = []
    columns = []
    total = 0
    for label, irrep in candidates:
        q = intertwiners(rep, irrep)
        if q.shape[0]:
            pairs.append((label, q.shape[0]))
            columns.extend(q[k] for k in range(q.shape[0]))
            total += q.shape[0] * irrep.dim
        if total == rep.dim:
            break
    if total != rep.dim:
        found = " + ".join(f"{mul}x{label}" for label, mul in pairs) or "nothing"
        raise NotImplementedError(
            f"representation of dim {rep.dim} only partly decomposed into supported irreps "
            f"(found {found}, total dim {total}); it contains irreps this group does not construct"
        )
    q = np.concatenate(columns, axis=1) if columns else np.zeros((rep.dim, 0))
    return pairs, q

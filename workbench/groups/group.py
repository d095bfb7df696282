"""Base classes: a Lie group given by generators, its irreps and its elements.

**Elements.**  A :class:`GroupElement` stores its matrix in the group's *defining matrix group*: the faithful
defining representation of the simply connected group (SU(2) 2x2 for SU(2), SL(2,C) 2x2 for the Lorentz group,
3x3 for SU(3)), or the natural matrices of SO(d), O(d), O(3) (det -1 = the discrete part).  Composition is
matrix multiplication.

**Irrep matrices.**  Write an element as ``g = P_{j1} ... P_{jr} exp(X)`` with ``P`` the discrete generators
and ``X = sum_a c_a T_a`` the principal logarithm of the connected part in algebra coordinates ``c``; then
``ρ(g) = ρ(P_{j1}) ... ρ(P_{jr}) expm(sum_a c_a dρ(T_a))``.  This is a homomorphism because the element lives
in the simply connected group (or, for SO(d)/O(d), only representations of SO(d)/O(d) are built).

**Clebsch-Gordan tensors (one contract for every group).**  ``C = group.clebsch_gordan(ir1, ir2, ir3)`` has
shape ``[d1, d2, d3, m]`` and is the *projection* ``ir1 x ir2 -> ir3``: for each copy ``u``,
``z_k = sum_ij C[i, j, k, u] x_i y_j`` is equivariant (``x -> ρ1(g) x`` and ``y -> ρ2(g) y`` give
``z -> ρ3(g) z``), i.e. ``sum_ij C_ijk ρ1(g)_ia ρ2(g)_jb = sum_c ρ3(g)_kc C_abc`` for every element ``g``.
Each ``m`` slice has Frobenius norm 1.  For unitary irreps (every compact group here) the projection is the
complex conjugate of the embedding ``ir3 -> ir1 x ir2`` that the null-space solver returns (orthonormal slices in
the canonical basis of :func:`workbench.groups.linalg.canonical_basis`, largest entry of the first slice real
positive); real orthogonal irreps (O(3)/SO(3) in the e3nn basis, where the table is ``wigner_3j``) have
projection = embedding.  For non-unitary irreps (the Lorentz group) the projection is read off the inverse of the
full change of basis ``ir1 x ir2 -> (+) ir3`` (the embeddings of every irrep of the product), each slice then
normalized to Frobenius norm 1 with its largest entry made real positive (deterministic phase), and checked
against the generators.  No caller re-phases or re-checks.  Embeddings are cached in memory
(``functools.lru_cache``) and on disk (:mod:`workbench.groups.cache`), projections in memory.
:func:`intertwining_error` measures the contract on a group element.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Hashable

import numpy as np
import scipy.linalg
import torch

from workbench.checks import check_array, check_tensor
from workbench.groups import cache as disk_cache
from workbench.groups.intertwiners import clebsch_gordan_tensor, decompose_representation
from workbench.groups.linalg import as_numpy, matrix_log
from workbench.groups.representation import Representation, solve_structure_constants

__all__ = ["GroupElement", "Irrep", "LieGroup", "clear_caches", "intertwining_error", "intertwining_sides"]


class GroupElement:
    """An element of a :class:`LieGroup`, stored as its matrix in the defining matrix group (see module doc).

    ``g @ h`` composes, ``g.inverse()`` inverts, ``g.matrix`` is the defining matrix (torch).
    """

    __slots__ = ("group", "_m", "_log")

    def __init__(self, group: LieGroup, matrix) -> None:
        self.group = group
        self._m = np.array(as_numpy(matrix, "matrix"))
        self._m.setflags(write=False)
        self._log: tuple[list[int], np.ndarray] | None = None

    @property
    def matrix(self) -> torch.Tensor:
        """Defining matrix ``[m, m]`` (torch float64 or complex128)."""
        return torch.from_numpy(self._m.copy())

    def numpy(self) -> np.ndarray:
        """Defining matrix as a numpy copy."""
        return self._m.copy()

    def __matmul__(self, other: GroupElement) -> GroupElement:
        return self.group.compose(self, other)

    def inverse(self) -> GroupElement:
        """Inverse element."""
        return self.group.inverse(self)

    def __repr__(self) -> str:
        return f"GroupElement({self.group.name}, {np.array2string(self._m, precision=4)})"


class Irrep:
    """An irreducible representation of a group: ``.label``, ``.dim``, ``.generators`` ``[n, dim, dim]``,
    ``.discrete`` ``[k, dim, dim]`` and ``.matrix(element)`` ``[dim, dim]`` (torch float64 or complex128)."""

    def __init__(self, group: LieGroup, label: Hashable, representation: Representation) -> None:
        self.group = group
        self.label = label
        self.representation = representation

    @property
    def dim(self) -> int:
        """Dimension of the irrep."""
        return self.representation.dim

    @property
    def generators(self) -> torch.Tensor:
        """Lie algebra generators ``[n, dim, dim]`` in the group's algebra basis (torch)."""
        return self.representation.generators

    @property
    def discrete(self) -> torch.Tensor:
        """Matrices ``[k, dim, dim]`` of the group's discrete generators (``k = 0`` when connected)."""
        return self.representation.discrete

    @property
    def is_real(self) -> bool:
        """True when the irrep is given by real matrices."""
        return self.representation.is_real

    def matrix(self, element: GroupElement) -> torch.Tensor:
        """``ρ(element)`` ``[dim, dim]`` (torch float64 for real irreps, complex128 otherwise)."""
        return torch.from_numpy(self.group._irrep_matrix(self, element))

    def __repr__(self) -> str:
        return f"Irrep({self.group.name}, {self.group.format_label(self.label)}, dim={self.dim})"

    def __str__(self) -> str:
        return self.group.format_label(self.label)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Irrep) and other.group == self.group and other.label == self.label

    def __hash__(self) -> int:
        return hash((self.group, self.label))


class LieGroup(ABC):
    """A Lie group described by the generators of its defining representation (see module doc).

    Subclasses implement :meth:`_defining_generators`, :meth:`canonical_label`, :meth:`_build_irrep`,
    :meth:`_candidate_labels`, :meth:`format_label` and :meth:`_random_matrix`; groups with discrete parts
    also override :meth:`_defining_discrete` and :meth:`_split_discrete`.
    """

    #: human-readable name, e.g. "SU(2)"
    name: str = "G"

    def __init__(self) -> None:
        x = self._defining_generators()
        self._def_x = x
        self._def_p = self._defining_discrete()
        self._f = solve_structure_constants(x)
        basis = x.reshape(x.shape[0], -1).T
        self._coord_basis = np.concatenate([basis.real, basis.imag], axis=0)
        self._irreps: dict[Hashable, Irrep] = {}
        self._traceless = bool(np.all(np.abs(np.einsum("aii->a", x)) < 1e-12))

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def _defining_generators(self) -> np.ndarray:
        """``[n, m, m]`` algebra basis ``T_a`` as matrices of the defining matrix group."""

    def _defining_discrete(self) -> np.ndarray:
        """``[k, m, m]`` discrete generators in the defining matrix group (none by default)."""
        m = self._defining_generators().shape[1]
        return np.zeros((0, m, m))

    @abstractmethod
    def canonical_label(self, label) -> Hashable:
        """Parse a user label into the canonical label; raises ValueError/TypeError for bad labels."""

    @abstractmethod
    def _build_irrep(self, label: Hashable) -> tuple[np.ndarray, np.ndarray]:
        """(generators ``[n, d, d]``, discrete ``[k, d, d]``) of the irrep with canonical ``label``."""

    @abstractmethod
    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        """Canonical labels of the constructible irreps of dimension <= ``max_dim``."""

    @abstractmethod
    def format_label(self, label: Hashable) -> str:
        """String form of a canonical label (used in keys and reprs)."""

    @abstractmethod
    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        """A random defining matrix (Haar for compact groups)."""

    def _split_discrete(self, m: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Write ``m = P_{j1} ... P_{jr} c`` with ``c`` in the identity component: returns ([j...], c)."""
        return [], m

    def _product_candidates(self, l1: Hashable, l2: Hashable) -> list[Hashable]:
        """Candidate irreps in ``l1 ⊗ l2`` (default: every constructible irrep of small enough dim)."""
        return self._candidate_labels(self.irrep(l1).dim * self.irrep(l2).dim)

    def _candidates_for_representation(self, rep: Representation) -> list[Hashable]:
        """Candidate irreps for :meth:`decompose_representation` (default: by dimension)."""
        return self._candidate_labels(rep.dim)

    # ------------------------------------------------------------------ identity / hashing
    @property
    def cache_name(self) -> str:
        """Identifies the group and its conventions in cache keys."""
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LieGroup) and type(other) is type(self) and other.cache_name == self.cache_name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.cache_name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ------------------------------------------------------------------ algebra
    @property
    def num_generators(self) -> int:
        """Dimension ``n`` of the Lie algebra."""
        return self._def_x.shape[0]

    @property
    def structure_constants(self) -> torch.Tensor:
        """``[n, n, n]`` float64 ``f`` with ``[T_a, T_b] = sum_c f[a,b,c] T_c``."""
        return torch.from_numpy(self._f.copy())

    @property
    def defining_representation(self) -> Representation:
        """The defining matrix representation (generators and discrete generators)."""
        return Representation(self._def_x, self._def_p, structure_constants=self._f, name="defining")

    # ------------------------------------------------------------------ irreps
    def irrep(self, label) -> Irrep:
        """The irrep with the given label (see the group's docstring for accepted labels)."""
        if isinstance(label, Irrep):
            if label.group != self:
                raise ValueError(f"irrep {label!r} belongs to {label.group.name}, not {self.name}")
            return label
        key = self.canonical_label(label)
        if key not in self._irreps:
            x, p = self._build_irrep(key)
            rep = Representation(x, p, structure_constants=self._f, name=self.format_label(key))
            self._irreps[key] = Irrep(self, key, rep)
        return self._irreps[key]

    def _label(self, label) -> Hashable:
        return label.label if isinstance(label, Irrep) else self.canonical_label(label)

    # ------------------------------------------------------------------ elements
    def identity(self) -> GroupElement:
        """The identity element."""
        return GroupElement(self, np.eye(self._def_x.shape[1], dtype=self._def_x.dtype))

    def element(self, matrix) -> GroupElement:
        """Wrap a defining matrix ``[m, m]`` as an element (checked to lie in the group)."""
        size = self._def_x.shape[1]
        m = check_array(as_numpy(matrix, "matrix"), "matrix", shape=(size, size), finite=True,
                        hint=f"a defining matrix of {self.name}")
        element = GroupElement(self, m)
        self.log(element)  # raises when the matrix is not in the group
        return element

    def exp(self, coords) -> GroupElement:
        """``exp(sum_a coords[a] T_a)`` for real algebra coordinates ``coords [n]``."""
        c = check_array(as_numpy(coords, "coords"), "coords", shape=(self.num_generators,), dtype="float",
                        finite=True, hint="real algebra coordinates, one per generator")
        return GroupElement(self, scipy.linalg.expm(np.einsum("a,aij->ij", c, self._def_x)))

    def log(self, element: GroupElement) -> tuple[list[int], np.ndarray]:
        """(discrete word ``[j...]``, algebra coordinates ``c [n]``) with
        ``element = P_{j1}...P_{jr} exp(sum_a c_a T_a)`` (principal logarithm)."""
        if not isinstance(element, GroupElement) or element.group != self:
            raise TypeError(f"element must be a GroupElement of {self.name}, got {element!r}")
        if element._log is not None:
            return list(element._log[0]), element._log[1].copy()
        word, connected = self._split_discrete(element._m)
        log_m = matrix_log(connected, traceless=self._traceless).reshape(-1)
        rhs = np.concatenate([log_m.real, log_m.imag])
        c, *_ = np.linalg.lstsq(self._coord_basis, rhs, rcond=None)
        err = float(np.linalg.norm(self._coord_basis @ c - rhs))
        if err > 1e-8 * max(1.0, float(np.linalg.norm(rhs))):
            raise ValueError(f"matrix is not an element of {self.name} (log residual {err:.3e})")
        element._log = (list(word), c.copy())
        return word, c

    def random_element(self, generator: torch.Generator | None = None) -> GroupElement:
        """A random element (Haar measure for compact groups; see the group's doc otherwise)."""
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        return GroupElement(self, self._random_matrix(generator))

    def compose(self, g: GroupElement, h: GroupElement) -> GroupElement:
        """The product ``g h``."""
        for name, e in (("g", g), ("h", h)):
            if not isinstance(e, GroupElement) or e.group != self:
                raise TypeError(f"{name} must be a GroupElement of {self.name}")
        return GroupElement(self, g._m @ h._m)

    def inverse(self, g: GroupElement) -> GroupElement:
        """The inverse ``g^{-1}``."""
        if not isinstance(g, GroupElement) or g.group != self:
            raise TypeError(f"g must be a GroupElement of {self.name}")
        return GroupElement(self, np.linalg.inv(g._m))

    def _irrep_matrix(self, irrep: Irrep, element: GroupElement) -> np.ndarray:
        word, c = self.log(element)
        x = irrep.representation._x
        out = scipy.linalg.expm(np.einsum("a,aij->ij", c, x)) if x.shape[0] else np.eye(irrep.dim)
        p = irrep.representation._p
        for j in reversed(word):
            out = p[j] @ out
        return out

    # ------------------------------------------------------------------ tensor products
    def clebsch_gordan(self, ir1, ir2, ir3) -> torch.Tensor:
        """Clebsch-Gordan projection ``[d1, d2, d3, m]`` from ``ir1 x ir2`` onto ``ir3`` (float64 when the
        irreps are real, else complex128): ``z_k = sum_ij C[i, j, k, u] x_i y_j`` is equivariant, each ``u`` slice
        has Frobenius norm 1 (module doc); ``m = 0`` when ``ir3`` does not occur in the product."""
        labels = (self._label(ir1), self._label(ir2), self._label(ir3))
        return torch.from_numpy(_projection_cached(self, *labels).copy())

    def is_unitary(self, ir) -> bool:
        """True when the irrep's matrices are unitary (anti-Hermitian generators, unitary discrete generators)."""
        rep = self.irrep(ir).representation
        x, p = rep._x, rep._p
        anti = all(np.abs(a + a.conj().T).max(initial=0.0) <= 1e-12 * max(1.0, np.abs(a).max(initial=0.0)) for a in x)
        eye = np.eye(rep.dim)
        unit = all(np.abs(m.conj().T @ m - eye).max(initial=0.0) <= 1e-12 for m in p)
        return bool(anti and unit)

    def _compute_clebsch_gordan(self, l1: Hashable, l2: Hashable, l3: Hashable) -> np.ndarray:
        r1, r2, r3 = (self.irrep(lab).representation for lab in (l1, l2, l3))
        return clebsch_gordan_tensor(r1, r2, r3)

    def decompose(self, ir1, ir2) -> list[tuple[Hashable, int]]:
        """Irreps in ``ir1 ⊗ ir2`` as (canonical label, multiplicity) pairs, multiplicity from the CG tensors.

        Raises NotImplementedError if the product contains irreps this group does not construct.
        """
        l1, l2 = self._label(ir1), self._label(ir2)
        total = self.irrep(l1).dim * self.irrep(l2).dim
        pairs = []
        found = 0
        for l3 in self._product_candidates(l1, l2):
            m = _embedding_cached(self, l1, l2, l3).shape[-1]
            if m:
                pairs.append((l3, m))
                found += m * self.irrep(l3).dim
            if found == total:
                break
        if found != total:
            desc = " + ".join(f"{m}x{self.format_label(lab)}" for lab, m in pairs) or "nothing"
            raise NotImplementedError(
                f"{self.format_label(l1)} x {self.format_label(l2)} of {self.name} (dim {total}) contains irreps "
                f"this group does not construct (found {desc}, dim {found})"
            )
        return pairs

    def decompose_representation(self, rep: Representation) -> tuple[list[tuple[Hashable, int]], torch.Tensor]:
        """Decompose any representation of this group into irreps.

        Returns ``(pairs, q)`` where ``q [D, D]`` holds the embeddings of the irreps as columns (in the order
        of ``pairs``, copy by copy): ``X^rep q = q (⊕ X^irrep)`` for every generator.
        """
        if not isinstance(rep, Representation):
            raise TypeError(f"rep must be a Representation, got {type(rep).__name__}")
        if rep.num_generators != self.num_generators or not np.allclose(rep.structure_constants, self._f):
            raise ValueError(f"rep is not a representation of the Lie algebra of {self.name}")
        labels = self._candidates_for_representation(rep)
        candidates = [(lab, self.irrep(lab).representation) for lab in labels]
        pairs, q = decompose_representation(rep, candidates)
        return pairs, torch.from_numpy(q)


@functools.lru_cache(maxsize=4096)
def _embedding_cached(group: LieGroup, l1: Hashable, l2: Hashable, l3: Hashable) -> np.ndarray:
    """The solver's embeddings ``ir3 -> ir1 x ir2`` ``[d1, d2, d3, m]`` (memory + disk cache)."""
    key = disk_cache.cache_key("clebsch_gordan", group.cache_name, *(group.format_label(x) for x in (l1, l2, l3)))
    shape = tuple(group.irrep(x).dim for x in (l1, l2, l3))
    table = disk_cache.load_array(key)
    if table is None or table.ndim != 4 or table.shape[:3] != shape:
        table = group._compute_clebsch_gordan(l1, l2, l3)
        disk_cache.save_array(key, table)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=4096)
def _projection_cached(group: LieGroup, l1: Hashable, l2: Hashable, l3: Hashable) -> np.ndarray:
    """The normalized projections ``ir1 x ir2 -> ir3`` ``[d1, d2, d3, m]`` (module doc)."""
    embedding = _embedding_cached(group, l1, l2, l3)
    if embedding.shape[-1] == 0 or all(group.is_unitary(x) for x in (l1, l2, l3)):
        table = embedding.conj() if np.iscomplexobj(embedding) else embedding
        table.setflags(write=False)
        return table
    d1, d2, d3 = embedding.shape[:3]
    columns, owners = [], []
    for label, _ in group.decompose(l1, l2):
        other = _embedding_cached(group, l1, l2, label)
        for u in range(other.shape[-1]):
            columns.append(other[..., u].reshape(d1 * d2, -1))
            owners.extend([(label, u)] * other.shape[2])
    rows = np.linalg.inv(np.concatenate(columns, axis=1).astype(np.complex128))  # [d1 d2, d1 d2]: projections
    slices = []
    for u in range(embedding.shape[-1]):
        picked = [r for r, owner in enumerate(owners) if owner == (l3, u)]
        c = rows[picked].T.reshape(d1, d2, d3)
        c = c / np.linalg.norm(c)
        flat = c.reshape(-1)
        big = flat[np.abs(flat).argmax()]
        slices.append(c * (abs(big) / big))
    table = np.stack(slices, axis=-1)
    if np.abs(table.imag).max() < 1e-13 and not np.iscomplexobj(embedding):
        table = table.real.copy()
    reps = [group.irrep(x).representation for x in (l1, l2, l3)]
    res = _generator_residual(table, *reps)
    if res > 1e-8:
        raise ValueError(
            f"Clebsch-Gordan projection {group.format_label(l1)} x {group.format_label(l2)} -> "
            f"{group.format_label(l3)} of {group.name} is not equivariant (residual {res:.2e})"
        )
    table.setflags(write=False)
    return table


def _generator_residual(table: np.ndarray, r1: Representation, r2: Representation, r3: Representation) -> float:
    """Max abs residual of the projection contract under the Lie-algebra generators (infinitesimal form) and the
    discrete generators, for a table ``[d1, d2, d3, m]``."""
    res = 0.0
    for a, b, c in zip(r1._x, r2._x, r3._x):
        lhs = np.einsum("ia,ijku->ajku", a, table) + np.einsum("jb,ijku->ibku", b, table)
        rhs = np.einsum("kc,abcu->abku", c, table)
        res = max(res, float(np.abs(lhs - rhs).max(initial=0.0)))
    for a, b, c in zip(r1._p, r2._p, r3._p):
        lhs = np.einsum("ia,jb,ijku->abku", a, b, table)
        rhs = np.einsum("kc,abcu->abku", c, table)
        res = max(res, float(np.abs(lhs - rhs).max(initial=0.0)))
    return res


def intertwining_error(group: LieGroup, ir1, ir2, ir3, g: GroupElement) -> float:
    """Max abs residual of the Clebsch-Gordan contract of ``group.clebsch_gordan(ir1, ir2, ir3)`` under ``g``.

    With ``C [d1, d2, d3, m]`` and ``ρ1, ρ2, ρ3`` the irrep matrices of ``g``, returns
    ``max |sum_ij C[i, j, k, u] ρ1_ia ρ2_jb - sum_c ρ3_kc C[a, b, c, u]|`` over ``a, b, k, u``: 0 (up to rounding)
    when ``z_k = sum_ij C_ijk x_i y_j`` is equivariant; 0.0 when ``ir3`` does not occur (``m = 0``).  Irreps are
    given as labels or :class:`Irrep` objects of ``group``; ``g`` is a :class:`GroupElement` of ``group``.

    Examples:
        >>> import torch
        >>> from workbench.groups import by_name, intertwining_error
        >>> lorentz = by_name("Lorentz")
        >>> boost = lorentz.random_element(torch.Generator().manual_seed(0))
        >>> intertwining_error(lorentz, "(1/2,1/2)", "(1/2,1/2)", "(1,1)", boost) < 1e-9
        True
    """
    if not isinstance(group, LieGroup):
        raise TypeError(f"group must be a workbench.groups group, got {type(group).__name__}")
    if not isinstance(g, GroupElement) or g.group != group:
        raise TypeError(f"g must be a GroupElement of {group.name}, got {g!r}")
    cg = group.clebsch_gordan(ir1, ir2, ir3)
    lhs, rhs = intertwining_sides(cg, *(group.irrep(x).matrix(g) for x in (ir1, ir2, ir3)))
    return float((lhs - rhs).abs().max()) if cg.numel() else 0.0


def intertwining_sides(cg, rho1, rho2, rho3) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sides of the Clebsch-Gordan contract for explicit matrices, ``(lhs, rhs)`` each ``[d1, d2, d3, m]``:
    ``lhs[a, b, k, u] = sum_ij C[i, j, k, u] ρ1_ia ρ2_jb`` and ``rhs[a, b, k, u] = sum_c ρ3_kc C[a, b, c, u]``.

    ``cg`` is ``[d1, d2, d3, m]``, ``rho1, rho2, rho3`` square ``[d1, d1]``, ``[d2, d2]``, ``[d3, d3]`` (torch or
    numpy; computed in float64, or complex128 when any input is complex). The one implementation of the residual:
    :func:`intertwining_error` and the tensor-product explorer's relative check both read it.
    """
    cg, rho1, rho2, rho3 = (torch.as_tensor(t) for t in (cg, rho1, rho2, rho3))
    for k, rho in enumerate((rho1, rho2, rho3), start=1):
        check_tensor(rho, f"rho{k}", shape=(f"d{k}", f"d{k}"), hint="a square matrix")
    check_tensor(cg, "cg", shape=(rho1.shape[0], rho2.shape[0], rho3.shape[0], "mult"), hint="d1, d2, d3, mult")
    dtype = torch.complex128 if any(t.is_complex() for t in (cg, rho1, rho2, rho3)) else torch.float64
    cg, r1, r2, r3 = (t.to(dtype) for t in (cg, rho1, rho2, rho3))
    return torch.einsum("ijku,ia,jb->abku", cg, r1, r2), torch.einsum("kc,abcu->abku", r3, cg)


def clear_caches() -> None:
    """Clear the in-memory Clebsch-Gordan caches (the disk cache is controlled by ``WORKBENCH_CACHE``)."""
    _embedding_cached.cache_clear()
    _projection_cached.cache_clear()

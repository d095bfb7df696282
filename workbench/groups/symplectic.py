"""The compact symplectic group Sp(2n) = USp(2n) = {g in U(2n): g^T J g = J} with ``J = [[0, I_n], [-I_n, 0]]``.

``Sp(4)`` means the group of 4 x 4 matrices (``n = 2``; the argument is the matrix size ``2n``).

**Algebra basis** (``n(2n+1)`` real generators, complex anti-Hermitian ``2n x 2n`` matrices, every one with
``X^T J + J X = 0``): start from the real split form ``sp(2n, R) = {J S : S symmetric}``; its antisymmetric
part ``k = u(n)`` (``n^2`` real antisymmetric matrices) and its symmetric part ``p`` (``n(n+1)`` real symmetric
matrices) are each given the canonical orthonormal basis of :func:`workbench.groups.linalg.canonical_basis`
(Frobenius norm 1).  The generators are ``[k..., i p...]`` (compact real form ``k + i p``).

**Elements** are the ``2n x 2n`` complex matrices; ``random_element`` returns ``exp(sum_a c_a T_a)`` with
``c_a ~ N(0, 1)`` (an exponential of an algebra element, not Haar distributed).  The group is simply
connected, so every irrep matrix ``expm(dρ(log g))`` is a homomorphism.

**Irreps** are labelled by partitions (highest weights ``λ_1 >= ... >= λ_n >= 0``, at most ``n`` rows):

* ``()`` / ``"scalar"``; ``(1,)`` / ``"defining"`` (also ``"vector"``, ``"fundamental"``; pseudo-real, dim 2n);
* ``(k,)``: ``Sym^k`` of the defining rep (irreducible for Sp); ``(2,)`` / ``"adjoint"`` / ``"symmetric"``;
* ``(1,) * k`` (``k <= n``): the J-traceless part of ``Λ^k``; ``(1, 1)`` / ``"antisymmetric"`` (dim
  ``n(2n-1) - 1``), built as the top-Casimir component of ``Λ^k``;
* any other partition: the Cartan (top-Casimir) component of ``(λ minus its first column) ⊗ (1,)*rows``.

Dimensions are checked against Weyl's dimension formula.  Irreps with more than ``n`` rows do not exist and
raise a clear error.  Known check: Sp(4) ``(1,) ⊗ (1,) = () + (1, 1) + (2,)`` (1 + 5 + 10).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from fractions import Fraction

import numpy as np
import torch

from workbench.groups.group import LieGroup
from workbench.groups.linalg import canonical_basis, orthonormalize
from workbench.groups.numerical_irreps import top_casimir_component
from workbench.groups.partitions import as_partition

__all__ = ["Sp", "symplectic_form", "symplectic_weyl_dimension"]

_NAMES = {
    "scalar": (),
    "trivial": (),
    "defining": (1,),
    "vector": (1,),
    "fundamental": (1,),
    "adjoint": (2,),
    "symmetric": (2,),
    "antisymmetric": (1, 1),
}


def symplectic_form(n2: int) -> np.ndarray:
    """The standard symplectic form ``J = [[0, I_n], [-I_n, 0]]`` ``[2n, 2n]`` float64."""
    n2 = _check_size(n2)
    n = n2 // 2
    j = np.zeros((n2, n2))
    j[:n, n:] = np.eye(n)
    j[n:, :n] = -np.eye(n)
    return j


def symplectic_weyl_dimension(n: int, part: tuple[int, ...]) -> int:
    """Weyl dimension of the Sp(2n) irrep with highest weight ``part`` (a partition with at most ``n`` rows)."""
    lam = list(part) + [0] * (n - len(part))
    ell = [Fraction(lam[i] + n - i) for i in range(n)]
    m = [Fraction(n - i) for i in range(n)]
    dim = Fraction(1)
    for i in range(n):
        dim *= ell[i] / m[i]
        for j in range(i + 1, n):
            dim *= (ell[i] ** 2 - ell[j] ** 2) / (m[i] ** 2 - m[j] ** 2)
    return int(dim)


def _check_size(n2) -> int:
    if isinstance(n2, bool) or not isinstance(n2, (int, np.integer)) or n2 < 2 or n2 % 2:
        raise ValueError(f"Sp(n2) takes the even matrix size n2 = 2n >= 2 (e.g. Sp(4)), got {n2!r}")
    return int(n2)


def _sp_generators(n2: int) -> np.ndarray:
    j = symplectic_form(n2)
    split = []
    for a, b in itertools.combinations_with_replacement(range(n2), 2):
        s = np.zeros((n2, n2))
        s[a, b] = s[b, a] = 1.0
        split.append(j @ s)
    split = np.stack(split)
    anti = (split - np.transpose(split, (0, 2, 1))) / 2
    sym = (split + np.transpose(split, (0, 2, 1))) / 2
    n = n2 // 2

    def basis(mats: np.ndarray, rank: int) -> np.ndarray:
        flat = orthonormalize(mats.reshape(len(mats), -1).T, rank=rank)
        return canonical_basis(flat).T.reshape(rank, n2, n2)

    k = basis(anti, n * n)
    p = basis(sym, n * (n + 1))
    return np.concatenate([k.astype(np.complex128), 1j * p])


def _parse_partition(label, n: int) -> tuple[int, ...]:
    if isinstance(label, str):
        key = label.strip().lower()
        if key not in _NAMES:
            raise ValueError(
                f"unknown irrep name {label!r} for Sp({2 * n}): expected one of {sorted(_NAMES)} or a partition "
                "like (1,), (2,) or (1, 1)"
            )
        part = _NAMES[key]
    elif (part := as_partition(label)) is None:
        raise ValueError(
            f"Sp({2 * n}) irrep label must be a partition like (1,), (2,), (2, 1) or a name like 'defining', "
            f"got {label!r}"
        )
    if len(part) > n:
        raise ValueError(f"Sp({2 * n}): the irrep {label!r} has {len(part)} rows; at most n = {n} rows exist")
    return part


class Sp(LieGroup):
    """Compact symplectic group ``Sp(n2)`` of ``n2 x n2`` matrices (``n2 = 2n``); see module doc."""

    def __init__(self, n2: int = 4) -> None:
        self.n2 = _check_size(n2)
        self.n = self.n2 // 2
        self._j = symplectic_form(self.n2)
        super().__init__()

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"Sp({self.n2})"

    def __repr__(self) -> str:
        return f"Sp({self.n2})"

    @property
    def form(self) -> torch.Tensor:
        """The symplectic form ``J`` ``[2n, 2n]`` float64 (``g^T J g = J`` for every element)."""
        return torch.from_numpy(self._j.copy())

    def _defining_generators(self) -> np.ndarray:
        return _sp_generators(self.n2)

    def canonical_label(self, label) -> Hashable:
        return _parse_partition(label, self.n)

    def irrep_dim(self, label) -> int:
        """Dimension of the irrep ``label`` from Weyl's formula (without building it)."""
        return symplectic_weyl_dimension(self.n, self.canonical_label(label))

    def _build_irrep(self, label: Hashable) -> tuple[np.ndarray, np.ndarray]:
        part: tuple[int, ...] = label  # type: ignore[assignment]
        defining = self.defining_representation
        dim = symplectic_weyl_dimension(self.n, part)
        if not part:
            return np.zeros((self.num_generators, 1, 1)), np.zeros((0, 1, 1))
        if part == (1,):
            return defining.numpy_generators(), defining.numpy_discrete()
        if len(part) == 1:
            rep = defining.symmetric_power(part[0])
            if rep.dim != dim:
                raise RuntimeError(f"Sym^{part[0]} has dimension {rep.dim}, expected {dim}; please report")
            return rep.numpy_generators(), rep.numpy_discrete()
        if part[0] == 1:
            return top_casimir_component(defining.exterior_power(len(part)), dim)
        rest = tuple(v - 1 for v in part if v > 1)
        column = (1,) * len(part)
        product = self.irrep(rest).representation.tensor_product(self.irrep(column).representation)
        return top_casimir_component(product, dim)

    def _partitions(self, max_dim: int, max_boxes: int | None = None) -> list[tuple[int, ...]]:
        """Partitions (<= n rows) of irreps with dimension <= ``max_dim`` (and <= ``max_boxes`` boxes)."""
        found = {()}
        frontier = [()]
        while frontier:
            new = []
            for part in frontier:
                rows = list(part) + [0]
                for i in range(min(len(rows), self.n)):
                    if i > 0 and rows[i] + 1 > rows[i - 1]:
                        continue
                    cand = list(rows)
                    cand[i] += 1
                    cand_t = tuple(v for v in cand if v > 0)
                    if cand_t in found or (max_boxes is not None and sum(cand_t) > max_boxes):
                        continue
                    # the dimension grows when a box is added, so pruning here is exact
                    if symplectic_weyl_dimension(self.n, cand_t) <= max_dim:
                        found.add(cand_t)
                        new.append(cand_t)
            frontier = new
        return sorted(found, key=lambda p: (sum(p), p))

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        return list(self._partitions(max_dim))

    def _product_candidates(self, l1: Hashable, l2: Hashable) -> list[Hashable]:
        # every component of λ ⊗ μ has at most |λ| + |μ| boxes (it sits in V^{⊗(|λ|+|μ|)})
        boxes = sum(l1) + sum(l2)  # type: ignore[arg-type]
        max_dim = symplectic_weyl_dimension(self.n, l1) * symplectic_weyl_dimension(self.n, l2)  # type: ignore
        return list(self._partitions(max_dim, boxes))

    def format_label(self, label: Hashable) -> str:
        return str(tuple(label))  # type: ignore[arg-type]

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        coords = torch.randn(self.num_generators, generator=generator, dtype=torch.float64).numpy()
        return self.exp(coords).numpy()

    @property
    def cache_name(self) -> str:
        return self.name

"""SO(d) and O(d) for any ``d >= 2`` with real tensor irreps.

Algebra basis: ``L_ij = E_ij - E_ji`` for ``i < j`` in lexicographic order (``n = d(d-1)/2``).  Elements are
d x d orthogonal matrices (det +1 for SO(d)); for O(d) the discrete generator is the reflection
``P = diag(-1, 1, ..., 1)``.

**Labels** are partitions (Young diagrams) of the tensor irreps that are constructed:

* ``()`` / ``"scalar"``; ``(1,)`` / ``"vector"`` (the defining representation);
* ``(k,)``: symmetric traceless rank-k tensors (harmonic polynomials of degree k; ``(2,)`` / ``"symmetric"``),
  built as the top Casimir component of ``Sym^k`` (:mod:`workbench.groups.numerical_irreps`);
* ``(1,) * k``: k-forms ``Λ^k`` in the basis ``e_{i1} ∧ ... ∧ e_{ik}`` (``(1, 1)`` / ``"antisymmetric"``);
  ``Λ^k ≅ Λ^{d-k}``, so ``k > d/2`` is relabelled.
* SO(2n) only: ``Λ^n`` is reducible; its halves are the eigenspaces of the Hodge star
  ``*(e_S) = sign(S, S^c) e_{S^c}`` (``S`` an increasing n-subset, ``sign`` that of the permutation listing
  ``S`` then its complement), so that ``ω ∧ *ω = |ω|^2 e_1 ∧ ... ∧ e_d``.  ``*^2 = (-1)^n``:

  - ``((1,)*n, "+")`` / ``"selfdual"``: ``*ω = ω`` (n even, real irrep) or ``*ω = iω`` (n odd, complex irrep);
  - ``((1,)*n, "-")`` / ``"antiselfdual"``: ``*ω = -ω`` (n even) or ``*ω = -iω`` (n odd; the complex conjugate
    of the "+" half).

  The sign may also be given as ``+1`` / ``-1``; the bare partition ``(1,)*n`` is refused as reducible.  Each
  half has dimension ``C(2n, n) / 2`` and its basis is the canonical basis
  (:func:`workbench.groups.linalg.canonical_basis`) of the eigenspace inside ``Λ^n``.  For SO(4) the halves are
  the (1, 0) and (0, 1) irreps of so(4) = su(2) + su(2).

For O(d) a label is ``(partition, twist)`` with twist ``+1`` (the natural tensor action of reflections) or ``-1``
(multiplied by ``det``); a bare partition or name means twist +1, and ``"pseudoscalar"``, ``"pseudovector"`` are
the twisted scalar and vector.  When the diagram has exactly ``d/2`` rows the two twists are equivalent and the
label is normalized to twist +1 (``Λ^{d/2}`` stays irreducible under O(d): reflections swap its SO(d) halves);
``Λ^k ⊗ det ≅ Λ^{d-k}`` is used to relabel ``k > d/2``.

``SO(2)`` returns :class:`workbench.groups.SO2` (its real irreps are not absolutely irreducible).
Mixed Young diagrams (e.g. ``(2, 1)``) are not constructed: :meth:`decompose` raises NotImplementedError when a
product contains them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable

import numpy as np
import torch

from workbench.groups.group import LieGroup
from workbench.groups.linalg import canonical_basis, orthonormalize
from workbench.groups.numerical_irreps import top_casimir_component
from workbench.groups.partitions import as_partition
from workbench.groups.so2 import SO2

__all__ = ["O", "SO", "hodge_star"]

_NAMES = {"scalar": (), "vector": (1,), "symmetric": (2,), "antisymmetric": (1, 1)}
_HALF_NAMES = {"selfdual": "+", "self-dual": "+", "antiselfdual": "-", "anti-self-dual": "-"}
_SIGNS = {"+": "+", "-": "-", 1: "+", -1: "-"}


def _check_d(d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"d must be an int >= 2, got {d!r}")
    return int(d)


def _so_generators(d: int) -> np.ndarray:
    gens = []
    for i, j in itertools.combinations(range(d), 2):
        m = np.zeros((d, d))
        m[i, j], m[j, i] = 1.0, -1.0
        gens.append(m)
    return np.stack(gens)


def _parse_partition(label) -> tuple[int, ...]:
    if isinstance(label, str):
        key = label.strip().lower()
        if key in _NAMES:
            return _NAMES[key]
        if key in _HALF_NAMES:
            raise ValueError(f"{label!r} names half of the middle exterior power, an irrep of SO(2n) only")
        raise ValueError(
            f"unknown irrep name {label!r}: expected one of {sorted(_NAMES)} or a partition like (2,) or (1, 1)"
        )
    part = as_partition(label)
    if part is not None:
        return part
    raise ValueError(f"irrep label must be a partition like (2,) or (1, 1) or a name like 'vector', got {label!r}")


def hodge_star(d: int) -> np.ndarray:
    """Hodge star ``[C(d, d/2), C(d, d/2)]`` on ``Λ^{d/2}`` of R^d (d even) in the basis ``e_S`` of increasing
    subsets ``S`` in lexicographic order: ``*(e_S) = sign(S, S^c) e_{S^c}`` (matrix column = image of ``e_S``)."""
    d = _check_d(d)
    if d % 2:
        raise ValueError(f"d must be even for the middle-degree Hodge star, got {d}")
    subsets = list(itertools.combinations(range(d), d // 2))
    index = {s: i for i, s in enumerate(subsets)}
    star = np.zeros((len(subsets), len(subsets)))
    for col, s in enumerate(subsets):
        rest = tuple(i for i in range(d) if i not in s)
        order = s + rest
        inversions = sum(1 for a in range(d) for b in range(a + 1, d) if order[a] > order[b])
        star[index[rest], col] = -1.0 if inversions % 2 else 1.0
    return star


def _harmonic_dim(d: int, k: int) -> int:
    return math.comb(k + d - 1, d - 1) - (math.comb(k + d - 3, d - 1) if k >= 2 else 0)


class SO(LieGroup):
    """SO(d) with tensor irreps labelled by partitions (see module doc).  ``SO(2)`` returns ``SO2()``."""

    def __new__(cls, d: int = 3):
        d = _check_d(d)
        if d == 2 and cls is SO:
            return SO2()
        return super().__new__(cls)

    def __init__(self, d: int) -> None:
        self.d = _check_d(d)
        super().__init__()

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"SO({self.d})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.d})"

    def _defining_generators(self) -> np.ndarray:
        return _so_generators(self.d)

    def _check_partition(self, part: tuple[int, ...], original) -> tuple[int, ...]:
        d = self.d
        if len(part) >= 2 and part[0] > 1:
            raise ValueError(
                f"{self.name}: mixed Young diagram {original!r} is not constructed (supported: scalar, (k,) "
                "symmetric traceless, (1,)*k forms)"
            )
        if part and part[0] == 1 and len(part) > d:
            raise ValueError(f"{self.name}: a {len(part)}-form does not exist in dimension {d}")
        return part

    def canonical_label(self, label) -> Hashable:
        d = self.d
        half = self._parse_half(label)
        if half is not None:
            return half
        part = self._check_partition(_parse_partition(label), label)
        if part and part[0] == 1:
            k = len(part)
            if k > d / 2:
                part = (1,) * (d - k)
            if 2 * len(part) == d and len(part) > 0:
                raise ValueError(
                    f"{self.name}: the {d // 2}-forms are reducible (self-dual and anti-self-dual parts); ask for "
                    f"'selfdual' / 'antiselfdual' or ({part}, '+') / ({part}, '-'), or use O(d) where they are "
                    "irreducible"
                )
        return part

    def _parse_half(self, label) -> tuple[tuple[int, ...], str] | None:
        """``((1,)*n, sign)`` for the labels of the Hodge-star halves of ``Λ^n`` (SO(2n)), else None."""
        sign = None
        if isinstance(label, str) and label.strip().lower() in _HALF_NAMES:
            sign, part = _HALF_NAMES[label.strip().lower()], None
        elif (
            isinstance(label, (tuple, list))
            and len(label) == 2
            and isinstance(label[0], (tuple, list))
            and (label[1] in ("+", "-") if isinstance(label[1], str) else (
                isinstance(label[1], (int, np.integer)) and not isinstance(label[1], bool) and label[1] in (1, -1)))
        ):
            sign, part = _SIGNS[label[1] if isinstance(label[1], str) else int(label[1])], _parse_partition(label[0])
        if sign is None:
            return None
        if self.d % 2:
            raise ValueError(f"{self.name}: self-dual/anti-self-dual irreps {label!r} exist only for SO(2n)")
        n = self.d // 2
        if part is not None and part != (1,) * n:
            raise ValueError(
                f"{self.name}: a sign '+'/'-' is only accepted with the middle exterior power {(1,) * n}, "
                f"got {label!r}"
            )
        return ((1,) * n, sign)

    def _build_tensor(self, part: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        vector = self.defining_representation
        if not part:
            return np.zeros((self.num_generators, 1, 1)), np.ones((self._def_p.shape[0], 1, 1))
        if part[0] == 1:
            rep = vector.exterior_power(len(part))
            return rep.numpy_generators(), rep.numpy_discrete()
        k = part[0]
        return top_casimir_component(vector.symmetric_power(k), _harmonic_dim(self.d, k))

    def _build_half(self, sign: str) -> tuple[np.ndarray, np.ndarray]:
        """The Hodge-star eigenspace ``sign`` of ``Λ^n`` for SO(2n) (see module doc)."""
        n = self.d // 2
        forms = self.defining_representation.exterior_power(n)
        star = hodge_star(self.d)
        value = (1.0 if sign == "+" else -1.0) * (1.0 if n % 2 == 0 else 1j)
        evals, evecs = np.linalg.eig(star)
        keep = np.abs(evals - value) < 1e-9
        if int(keep.sum()) != math.comb(self.d, n) // 2:
            raise RuntimeError(f"Hodge star eigenspace has dimension {int(keep.sum())}; please report")
        basis = canonical_basis(orthonormalize(evecs[:, keep], rank=int(keep.sum())))
        if n % 2 == 0:
            basis = basis.real
        sub = forms.restrict(basis)
        return sub.numpy_generators(), sub.numpy_discrete()

    def _build_irrep(self, label: Hashable) -> tuple[np.ndarray, np.ndarray]:
        if len(label) == 2 and isinstance(label[1], str):
            return self._build_half(label[1])
        return self._build_tensor(label)

    def _tensor_labels(self, max_dim: int) -> list[tuple[int, ...]]:
        out = [()]
        for k in range(1, self.d // 2 + 1):
            if math.comb(self.d, k) <= max_dim and (2 * k < self.d or isinstance(self, O)):
                out.append((1,) * k)
        k = 2
        while _harmonic_dim(self.d, k) <= max_dim and k <= max_dim:
            out.append((k,))
            k += 1
        return sorted(set(out), key=lambda p: (sum(p), p))

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        out: list[Hashable] = list(self._tensor_labels(max_dim))
        n = self.d // 2
        if self.d % 2 == 0 and math.comb(self.d, n) // 2 <= max_dim:
            out += [((1,) * n, "+"), ((1,) * n, "-")]
        return out

    def format_label(self, label: Hashable) -> str:
        if len(label) == 2 and isinstance(label[1], str):
            return f"{tuple(label[0])}{label[1]}"
        return str(tuple(label))

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        z = torch.randn(self.d, self.d, generator=generator, dtype=torch.float64).numpy()
        q, r = np.linalg.qr(z)
        q = q * np.sign(np.diag(r))
        if np.linalg.det(q) < 0:
            q[:, 0] = -q[:, 0]
        return q

    @property
    def cache_name(self) -> str:
        return self.name


class O(SO):  # noqa: E742 - the group is called O(d)
    """O(d) with tensor irreps ``(partition, twist)`` (see module doc)."""

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"O({self.d})"

    def _defining_discrete(self) -> np.ndarray:
        p = np.eye(self.d)
        p[0, 0] = -1.0
        return p[None]

    def canonical_label(self, label) -> Hashable:
        twist = 1
        if isinstance(label, str) and label.strip().lower() in ("pseudoscalar", "pseudovector"):
            part, twist = ((),) if label.strip().lower() == "pseudoscalar" else ((1,),), -1
            part = part[0]
        elif (
            isinstance(label, (tuple, list))
            and len(label) == 2
            and isinstance(label[1], (int, np.integer))
            and not isinstance(label[1], bool)
            and label[1] in (1, -1)
            and (isinstance(label[0], (tuple, list, str)))
        ):
            part, twist = _parse_partition(label[0]), int(label[1])
        else:
            part = _parse_partition(label)
        part = self._check_partition(part, label)
        d = self.d
        if part and part[0] == 1 and len(part) > d / 2:
            part, twist = (1,) * (d - len(part)), -twist
        if 2 * len(part) == d:
            twist = 1
        return (part, twist)

    def _build_irrep(self, label: Hashable) -> tuple[np.ndarray, np.ndarray]:
        part, twist = label
        x, p = self._build_tensor(part)
        return x, twist * p

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        out = []
        for part in self._tensor_labels(max_dim):
            out.append((part, 1))
            if 2 * len(part) != self.d:
                out.append((part, -1))
        return out

    def format_label(self, label: Hashable) -> str:
        part, twist = label
        return f"({tuple(part)}, {'+' if twist > 0 else '-'})"

    def _split_discrete(self, m: np.ndarray) -> tuple[list[int], np.ndarray]:
        if np.linalg.det(m) < 0:
            return [0], self._def_p[0] @ m
        return [], m

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        q = super()._random_matrix(generator)
        flip = int(torch.randint(0, 2, (1,), generator=generator).item())
        return self._def_p[0] @ q if flip else q


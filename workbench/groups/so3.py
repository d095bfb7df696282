"""SO(3) and O(3) with real irreps in the e3nn 0.6 basis (from :mod:`workbench.groups.o3`).

* ``SO3()``: irreps ``l = 0, 1, 2, ...`` (labels ``1``, ``"2"``); a half-integer spin raises ValueError (those are
  representations of SU(2): use ``SU2()``).  Generators are :func:`workbench.groups.o3.so3_generators` (the
  algebra basis ``T_x, T_y, T_z`` = infinitesimal rotations about x, y, z; for ``l = 1`` the matrices act on
  (x, y, z)).  Elements are 3x3 rotation matrices; ``irrep(l).matrix(R)`` equals e3nn's ``wigner_D``.
* ``O3()``: irreps ``"0e"``, ``"1o"``, ... (canonical label: :class:`workbench.groups.o3.Irrep`), the discrete
  generator is the inversion ``-I`` with ``ρ_{(l,p)}(-I) = p``.  Elements are 3x3 orthogonal matrices.

Clebsch-Gordan tensors are the exact closed form :func:`workbench.groups.o3.wigner_3j` (Racah's formula in
rational arithmetic, then the real basis): ``clebsch_gordan(a, b, c)[..., 0] == wigner_3j(la, lb, lc)``, Frobenius
norm 1, so e3nn weights transfer. Every other group uses the generic null-space solver; for SO(3)/O(3) the tests
check that the solver (``LieGroup._compute_clebsch_gordan``) reproduces these tables up to sign.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import torch

from workbench.groups import o3
from workbench.groups.group import LieGroup
from workbench.groups.su2 import parse_spin

__all__ = ["O3", "SO3"]


def _parse_l(label) -> int:
    j = parse_spin(label)
    if j.denominator != 1:
        raise ValueError(
            f"SO(3) irreps have integer l; got half-integer spin {label!r} (a representation of SU(2) only: "
            "use workbench.groups.SU2())"
        )
    return int(j)


def _exact_table(l1: int, l2: int, l3: int, allowed: bool = True) -> np.ndarray:
    """``wigner_3j(l1, l2, l3)`` as a ``[d1, d2, d3, 1]`` table; multiplicity 0 if the coupling is forbidden."""
    shape = (2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)
    if not allowed or not abs(l1 - l2) <= l3 <= l1 + l2:
        return np.zeros((*shape, 0))
    return o3.wigner_3j(l1, l2, l3, dtype=torch.float64).numpy()[..., None]


def _random_rotation(generator: torch.Generator | None) -> np.ndarray:
    return o3.rand_matrix(generator=generator, dtype=torch.float64).numpy()


class SO3(LieGroup):
    """SO(3) with real irreps ``l`` in the e3nn basis (see module doc)."""

    name = "SO(3)"

    def _defining_generators(self) -> np.ndarray:
        return o3.so3_generators(1).numpy()

    def canonical_label(self, label) -> int:
        if isinstance(label, o3.Irrep):
            return label.l
        return _parse_l(label)

    def _build_irrep(self, label: int) -> tuple[np.ndarray, np.ndarray]:
        d = 2 * label + 1
        return o3.so3_generators(label).numpy(), np.zeros((0, d, d))

    def _candidate_labels(self, max_dim: int) -> list[int]:
        return list(range((max_dim - 1) // 2 + 1))

    def _product_candidates(self, l1: int, l2: int) -> list[int]:
        return list(range(abs(l1 - l2), l1 + l2 + 1))

    def format_label(self, label: int) -> str:
        return str(label)

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        return _random_rotation(generator)

    def _compute_clebsch_gordan(self, l1: int, l2: int, l3: int) -> np.ndarray:
        return _exact_table(l1, l2, l3)


class O3(LieGroup):
    """O(3) = SO(3) x {1, -I} with irreps ``"0e"``, ``"1o"``, ... in the e3nn basis (see module doc)."""

    name = "O(3)"

    def _defining_generators(self) -> np.ndarray:
        return o3.so3_generators(1).numpy()

    def _defining_discrete(self) -> np.ndarray:
        return -np.eye(3)[None]

    def canonical_label(self, label) -> o3.Irrep:
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            raise ValueError(f"O(3) irreps need a parity: use e.g. '{label}e' or '{label}o', got {label!r}")
        if isinstance(label, str) and ("/" in label or "." in label):
            raise ValueError(f"O(3) irreps have integer l (like '1o'); got {label!r} (half-integer spins: SU2())")
        return o3.Irrep(label)

    def _build_irrep(self, label: o3.Irrep) -> tuple[np.ndarray, np.ndarray]:
        return o3.so3_generators(label.l).numpy(), label.p * np.eye(label.dim)[None]

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        return [o3.Irrep(l, p) for l in range((max_dim - 1) // 2 + 1) for p in (1, -1)]

    def _product_candidates(self, l1: o3.Irrep, l2: o3.Irrep) -> list[Hashable]:
        return list(l1 * l2)

    def format_label(self, label: o3.Irrep) -> str:
        return str(label)

    def _split_discrete(self, m: np.ndarray) -> tuple[list[int], np.ndarray]:
        if np.linalg.det(m) < 0:
            return [0], -m
        return [], m

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        r = _random_rotation(generator)
        flip = int(torch.randint(0, 2, (1,), generator=generator).item())
        return -r if flip else r

    def _compute_clebsch_gordan(self, l1: o3.Irrep, l2: o3.Irrep, l3: o3.Irrep) -> np.ndarray:
        return _exact_table(l1.l, l2.l, l3.l, allowed=l1.p * l2.p == l3.p)

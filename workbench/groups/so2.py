"""SO(2) and O(2).

* ``SO2()``: irreps are the integer charges ``m`` (labels ``2``, ``-1``, ``"3"``), **1-dimensional complex**:
  ``ρ_m(R(θ)) = exp(i m θ)``.  The algebra basis is the 2x2 rotation generator ``J = [[0, -1], [1, 0]]``, so
  ``dρ_m(J) = i m``.  Elements are 2x2 rotation matrices ``R(θ)``.
* ``O2()``: irreps ``"0e"`` (trivial), ``"0o"`` (the determinant) and ``m = 1, 2, ...`` (**real 2-dimensional**,
  basis ``(Re z^m, Im z^m)`` with ``z = x + i y``): ``dρ_m(J) = [[0, -m], [m, 0]]`` and, for the reflection
  ``P = diag(-1, 1)`` (x -> -x), ``ρ_m(P) = (-1)^m diag(1, -1)``.  The vector representation is ``m = 1``.
  Elements are 2x2 orthogonal matrices.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
import torch

from workbench.groups.group import LieGroup
from workbench.groups.representation import Representation

__all__ = ["O2", "SO2"]

_J = np.array([[[0.0, -1.0], [1.0, 0.0]]])


def _parse_int(label, name: str = "label") -> int:
    if isinstance(label, bool):
        raise TypeError(f"{name} must be an integer charge, got {label!r}")
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return int(label)
    if isinstance(label, str):
        try:
            return int(label.strip())
        except ValueError:
            pass
    raise ValueError(f"{name} must be an integer charge like 2 or '-1', got {label!r}")


def _random_angle(generator: torch.Generator | None) -> float:
    return float((torch.rand(1, generator=generator, dtype=torch.float64) * 2 - 1).item() * math.pi)


def _rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def _charges_of(rep: Representation) -> list[int]:
    vals = np.linalg.eigvals(rep.numpy_generators()[0]) if rep.dim else np.zeros(0)
    return sorted({int(round(v.imag)) for v in vals}, key=lambda m: (abs(m), -m))


class SO2(LieGroup):
    """SO(2) = U(1) with complex 1-dim irreps ``m`` (see module doc)."""

    name = "SO(2)"

    def _defining_generators(self) -> np.ndarray:
        return _J.copy()

    def canonical_label(self, label) -> int:
        return _parse_int(label)

    def _build_irrep(self, label: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([[[1j * label]]]), np.zeros((0, 1, 1))

    def _candidate_labels(self, max_dim: int) -> list[int]:
        raise NotImplementedError("SO(2) has infinitely many irreps of each dimension")

    def _candidates_for_representation(self, rep: Representation) -> list[int]:
        return _charges_of(rep)

    def _product_candidates(self, l1: int, l2: int) -> list[int]:
        return [l1 + l2]

    def format_label(self, label: int) -> str:
        return str(label)

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        return _rotation(_random_angle(generator))

    def rotation(self, theta: float):
        """The element ``R(θ)``."""
        return self.exp([float(theta)])


class O2(LieGroup):
    """O(2) with irreps ``"0e"``, ``"0o"`` and real 2-dim ``m >= 1`` (see module doc)."""

    name = "O(2)"

    def _defining_generators(self) -> np.ndarray:
        return _J.copy()

    def _defining_discrete(self) -> np.ndarray:
        return np.diag([-1.0, 1.0])[None]

    def canonical_label(self, label) -> Hashable:
        if isinstance(label, str) and label.strip() in ("0e", "0o"):
            return label.strip()
        m = _parse_int(label)
        if m < 0:
            raise ValueError(f"O(2) irreps are '0e', '0o' or m >= 1, got {label!r}")
        return "0e" if m == 0 else m

    def _build_irrep(self, label: Hashable) -> tuple[np.ndarray, np.ndarray]:
        if label == "0e":
            return np.zeros((1, 1, 1)), np.ones((1, 1, 1))
        if label == "0o":
            return np.zeros((1, 1, 1)), -np.ones((1, 1, 1))
        m = int(label)
        return m * _J.copy(), ((-1) ** m) * np.diag([1.0, -1.0])[None]

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        raise NotImplementedError("O(2) has infinitely many irreps of dimension 2")

    def _candidates_for_representation(self, rep: Representation) -> list[Hashable]:
        ms = sorted({abs(m) for m in _charges_of(rep)})
        return [x for m in ms for x in (["0e", "0o"] if m == 0 else [m])]

    def _product_candidates(self, l1: Hashable, l2: Hashable) -> list[Hashable]:
        m1 = 0 if isinstance(l1, str) else l1
        m2 = 0 if isinstance(l2, str) else l2
        out: list[Hashable] = []
        for m in sorted({abs(m1 - m2), m1 + m2}):
            out.extend(["0e", "0o"] if m == 0 else [m])
        return out

    def format_label(self, label: Hashable) -> str:
        return str(label)

    def _split_discrete(self, m: np.ndarray) -> tuple[list[int], np.ndarray]:
        if np.linalg.det(m) < 0:
            return [0], self._def_p[0] @ m
        return [], m

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        r = _rotation(_random_angle(generator))
        flip = int(torch.randint(0, 2, (1,), generator=generator).item())
        return self._def_p[0] @ r if flip else r

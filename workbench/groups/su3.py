"""SU(3): irreps by Dynkin labels ``(p, q)``, dimension ``(p+1)(q+1)(p+q+2)/2``.

Algebra basis ``T_a = -i λ_a / 2`` (Gell-Mann matrices ``λ_1 ... λ_8``).  The irrep ``(p, q)`` is built as the
component with the largest quadratic Casimir of ``Sym^p(3) ⊗ Sym^q(3bar)`` (``3bar`` = complex conjugate of
``3``), in the canonical basis of :mod:`workbench.groups.numerical_irreps`; ``(1, 0)`` is the defining ``3``
itself.  Labels: ``(p, q)`` tuples, ``"(1,1)"``, or names ``"1"``, ``"3"``, ``"3bar"``, ``"6"``, ``"6bar"``,
``"8"``, ``"10"``, ``"10bar"``, ``"15"``, ``"15bar"``, ``"27"`` (``10 = (3, 0)``, ``6 = (2, 0)``).  Elements are
3x3 SU(3) matrices; :meth:`SU3.random_element` is Haar-random.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from workbench.groups.group import LieGroup
from workbench.groups.numerical_irreps import top_casimir_component
from workbench.groups.representation import Representation

__all__ = ["GELL_MANN", "SU3"]

GELL_MANN = np.zeros((8, 3, 3), dtype=np.complex128)
GELL_MANN[0][0, 1] = GELL_MANN[0][1, 0] = 1
GELL_MANN[1][0, 1], GELL_MANN[1][1, 0] = -1j, 1j
GELL_MANN[2][0, 0], GELL_MANN[2][1, 1] = 1, -1
GELL_MANN[3][0, 2] = GELL_MANN[3][2, 0] = 1
GELL_MANN[4][0, 2], GELL_MANN[4][2, 0] = -1j, 1j
GELL_MANN[5][1, 2] = GELL_MANN[5][2, 1] = 1
GELL_MANN[6][1, 2], GELL_MANN[6][2, 1] = -1j, 1j
GELL_MANN[7] = np.diag([1, 1, -2]) / np.sqrt(3)

NAMES = {
    "1": (0, 0), "3": (1, 0), "3bar": (0, 1), "6": (2, 0), "6bar": (0, 2), "8": (1, 1), "10": (3, 0),
    "10bar": (0, 3), "15": (2, 1), "15bar": (1, 2), "27": (2, 2),
}
_PAIR = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def dimension(p: int, q: int) -> int:
    """Dimension ``(p+1)(q+1)(p+q+2)/2`` of the SU(3) irrep ``(p, q)``."""
    return (p + 1) * (q + 1) * (p + q + 2) // 2


class SU3(LieGroup):
    """SU(3) with irreps ``(p, q)`` (see module doc)."""

    name = "SU(3)"

    def _defining_generators(self) -> np.ndarray:
        return -0.5j * GELL_MANN

    def canonical_label(self, label) -> tuple[int, int]:
        if isinstance(label, str):
            key = label.strip().replace(" ", "")
            if key in NAMES:
                return NAMES[key]
            match = _PAIR.match(key)
            if match is None:
                raise ValueError(
                    f"SU(3) irreps are Dynkin labels (p, q) or names like '3', '3bar', '8', '10bar', '27'; "
                    f"got {label!r}"
                )
            label = (int(match.group(1)), int(match.group(2)))
        if (
            not isinstance(label, (tuple, list))
            or len(label) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in label)
        ):
            raise ValueError(f"SU(3) irreps are Dynkin labels (p, q) with ints p, q >= 0, got {label!r}")
        p, q = int(label[0]), int(label[1])
        if p < 0 or q < 0:
            raise ValueError(f"SU(3) Dynkin labels must be >= 0, got {label!r}")
        return p, q

    def _build_irrep(self, label: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        p, q = label
        defining = Representation(self._def_x, structure_constants=self._f, name="3")
        if (p, q) == (1, 0):
            return self._def_x.copy(), np.zeros((0, 3, 3))
        space = defining.symmetric_power(p).tensor_product(defining.conjugate().symmetric_power(q))
        return top_casimir_component(space, dimension(p, q))

    def _candidate_labels(self, max_dim: int) -> list[tuple[int, int]]:
        out = [(p, q) for p in range(max_dim) for q in range(max_dim) if dimension(p, q) <= max_dim]
        return sorted(out, key=lambda pq: (dimension(*pq), -pq[0]))

    def _product_candidates(self, l1, l2) -> list[tuple[int, int]]:
        bound = l1[0] + l1[1] + l2[0] + l2[1]
        return [pq for pq in self._candidate_labels(self.irrep(l1).dim * self.irrep(l2).dim) if sum(pq) <= bound]

    def format_label(self, label: tuple[int, int]) -> str:
        return f"({label[0]},{label[1]})"

    def name_of(self, label) -> str:
        """Conventional name (``"8"``, ``"10bar"``) of an irrep label, or ``"(p,q)"`` when it has none."""
        pq = self.canonical_label(label)
        for name, value in NAMES.items():
            if value == pq:
                return name
        return self.format_label(pq)

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        z = torch.randn(2, 3, 3, generator=generator, dtype=torch.float64).numpy()
        q, r = np.linalg.qr((z[0] + 1j * z[1]) / np.sqrt(2))
        d = np.diag(r)
        q = q * (d / np.abs(d))
        return q / np.linalg.det(q) ** (1 / 3)

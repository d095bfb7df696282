"""SU(2): spins ``j = 0, 1/2, 1, 3/2, ...`` in the standard complex basis ``|j, m>``, ``m = j, j-1, ..., -j``.

Algebra basis ``T_a = -i σ_a / 2`` (a = x, y, z); on spin ``j`` the generators are ``dρ(T_a) = -i S_a`` with the
Hermitian spin matrices ``S_a`` (``S_z = diag(j, ..., -j)``, Condon-Shortley phases ``S_+ |m> =
sqrt(j(j+1) - m(m+1)) |m+1>``).  Elements are 2x2 SU(2) matrices.  Labels: ``"1/2"``, ``0.5``, ``1``,
``"3/2"``, ``Fraction(3, 2)``; the canonical label is a :class:`fractions.Fraction` (equal to ``0.5`` etc.).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from workbench.groups.group import LieGroup

__all__ = ["SU2", "parse_spin", "spin_matrices"]


def parse_spin(label, name: str = "label") -> Fraction:
    """Parse a spin ``j`` (int, half-integer float, ``"3/2"``, Fraction) into a non-negative Fraction."""
    if isinstance(label, bool):
        raise TypeError(f"{name} must be a spin like 1, 0.5 or '3/2', got {label!r}")
    try:
        if isinstance(label, str):
            j = Fraction(label.strip())
        elif isinstance(label, (int, np.integer, Fraction)):
            j = Fraction(int(label)) if not isinstance(label, Fraction) else label
        elif isinstance(label, (float, np.floating)):
            j = Fraction(float(label)).limit_denominator(2)
            if float(j) != float(label):
                raise ValueError
        else:
            raise TypeError(f"{name} must be a spin like 1, 0.5 or '3/2', got {type(label).__name__}")
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"{name} must be a spin like 1, 0.5 or '3/2', got {label!r}") from exc
    if j < 0:
        raise ValueError(f"{name} must be a non-negative spin, got {label!r}")
    if (2 * j).denominator != 1:
        raise ValueError(f"{name} must be an integer or half-integer spin, got {label!r}")
    return j


def spin_matrices(j) -> np.ndarray:
    """Hermitian spin matrices ``[3, 2j+1, 2j+1]`` (S_x, S_y, S_z) in the basis m = j, ..., -j."""
    j = parse_spin(j, "j")
    d = int(2 * j + 1)
    m = np.array([float(j) - k for k in range(d)])
    jf = float(j)
    splus = np.zeros((d, d))
    for k in range(1, d):  # |m_k> -> |m_{k-1}>, m_{k-1} = m_k + 1
        splus[k - 1, k] = np.sqrt(jf * (jf + 1) - m[k] * (m[k] + 1))
    sminus = splus.T
    sx = (splus + sminus) / 2
    sy = (splus - sminus) / 2j
    sz = np.diag(m).astype(np.complex128)
    return np.stack([sx.astype(np.complex128), sy, sz])


class SU2(LieGroup):
    """SU(2) with complex spin-j irreps (see module doc)."""

    name = "SU(2)"

    def _defining_generators(self) -> np.ndarray:
        return -1j * spin_matrices(Fraction(1, 2))

    def canonical_label(self, label) -> Fraction:
        return parse_spin(label)

    def _build_irrep(self, label: Fraction) -> tuple[np.ndarray, np.ndarray]:
        d = int(2 * label + 1)
        return -1j * spin_matrices(label), np.zeros((0, d, d))

    def _candidate_labels(self, max_dim: int) -> list[Fraction]:
        return [Fraction(k, 2) for k in range(max_dim)]

    def _product_candidates(self, l1: Fraction, l2: Fraction) -> list[Fraction]:
        return [abs(l1 - l2) + k for k in range(int(min(l1, l2) * 2) + 1)]

    def format_label(self, label: Fraction) -> str:
        return str(label)

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        q = torch.randn(4, generator=generator, dtype=torch.float64).numpy()
        a, b, c, d = q / np.linalg.norm(q)
        return np.array([[a + 1j * b, c + 1j * d], [-c + 1j * d, a - 1j * b]])

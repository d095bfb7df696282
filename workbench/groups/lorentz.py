"""The proper orthochronous Lorentz group SO+(1,3), through its double cover SL(2,C).

**Algebra basis** (6 real generators, in the defining representation ``(1/2, 0)`` on C^2):
rotations ``J_a = -i σ_a / 2`` (indices 0, 1, 2 = x, y, z) and boosts ``K_a = σ_a / 2`` (indices 3, 4, 5), so
``[J_a, J_b] = ε_abc J_c``, ``[J_a, K_b] = ε_abc K_c``, ``[K_a, K_b] = -ε_abc J_c``.

**Irreps** ``(m, n)`` (sl(2,C) ⊗ C = su(2) ⊕ su(2)), dimension ``(2m+1)(2n+1)``, basis
``|m, m_z> ⊗ |n, n_z>`` (each spin basis as in :mod:`workbench.groups.su2`, index ``i * (2n+1) + j``):
``dρ(J_a) = -i (S^m_a ⊗ 1 + 1 ⊗ S^n_a)`` and ``dρ(K_a) = S^m_a ⊗ 1 - 1 ⊗ S^n_a``.  Labels: ``(0.5, 0.5)``,
``"(1/2,1/2)"``, ``("1/2", 0)``; the canonical label is a pair of Fractions (equal to ``(0.5, 0.5)``).
``(1/2, 1/2)`` is the 4-vector.

**Elements** are SL(2,C) matrices ``g``.  They act on real 4-momenta ``(t, x, y, z)`` by
``t + x σ_x + y σ_y + z σ_z -> g (t + x σ_x + ...) g^†``: :meth:`Lorentz.vector_matrix` gives this 4x4 real
``Λ(g)`` (it preserves ``η = diag(+1, -1, -1, -1)``).  :meth:`Lorentz.boost` and :meth:`Lorentz.rotation` are
active transformations (a boost of rapidity ``φ`` along ``z`` maps ``(t, z) -> (t cosh φ + z sinh φ,
t sinh φ + z cosh φ)``; rotations are right-handed).  :meth:`Lorentz.random_element` returns ``exp(sum_a c_a
T_a)`` with ``c_a ~ N(0, 1)`` (rotations and boosts of moderate rapidity).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import torch

from workbench.checks import check_array
from workbench.groups.group import GroupElement, LieGroup
from workbench.groups.intertwiners import intertwiners
from workbench.groups.linalg import as_numpy
from workbench.groups.representation import Representation
from workbench.groups.su2 import parse_spin, spin_matrices

__all__ = ["Lorentz", "PAULI"]

#: (σ_0 = 1, σ_x, σ_y, σ_z)
PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128
)

_PAIR = re.compile(r"^\(?\s*([^,()\s]+)\s*,\s*([^,()\s]+)\s*\)?$")


class Lorentz(LieGroup):
    """SO+(1,3) via SL(2,C), irreps ``(m, n)`` (see module doc)."""

    name = "SO+(1,3)"

    def _defining_generators(self) -> np.ndarray:
        s = PAULI[1:] / 2
        return np.concatenate([-1j * s, s])

    def canonical_label(self, label) -> tuple[Fraction, Fraction]:
        if isinstance(label, str):
            match = _PAIR.match(label.strip())
            if match is None:
                raise ValueError(f"Lorentz irreps are labelled (m, n) like '(1/2,1/2)' or (0.5, 0), got {label!r}")
            label = (match.group(1), match.group(2))
        if not isinstance(label, (tuple, list)) or len(label) != 2:
            raise ValueError(f"Lorentz irreps are labelled (m, n) like '(1/2,1/2)' or (0.5, 0), got {label!r}")
        return parse_spin(label[0], "m"), parse_spin(label[1], "n")

    def _build_irrep(self, label: tuple[Fraction, Fraction]) -> tuple[np.ndarray, np.ndarray]:
        sm, sn = spin_matrices(label[0]), spin_matrices(label[1])
        im, in_ = np.eye(sm.shape[1]), np.eye(sn.shape[1])
        left = np.stack([np.kron(a, in_) for a in sm])
        right = np.stack([np.kron(im, b) for b in sn])
        d = left.shape[1]
        return np.concatenate([-1j * (left + right), left - right]), np.zeros((0, d, d))

    def _candidate_labels(self, max_dim: int) -> list[tuple[Fraction, Fraction]]:
        out = []
        for a in range(max_dim):
            for b in range(max_dim):
                if (a + 1) * (b + 1) <= max_dim:
                    out.append((Fraction(a, 2), Fraction(b, 2)))
        return sorted(out, key=lambda mn: ((2 * mn[0] + 1) * (2 * mn[1] + 1), mn))

    def _product_candidates(self, l1, l2) -> list[tuple[Fraction, Fraction]]:
        ms = [abs(l1[0] - l2[0]) + k for k in range(int(2 * min(l1[0], l2[0])) + 1)]
        ns = [abs(l1[1] - l2[1]) + k for k in range(int(2 * min(l1[1], l2[1])) + 1)]
        return [(m, n) for m in ms for n in ns]

    def format_label(self, label) -> str:
        return f"({label[0]},{label[1]})"

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        c = torch.randn(6, generator=generator, dtype=torch.float64).numpy()
        return self.exp(c).numpy()

    # ------------------------------------------------------------------ 4-vectors
    @property
    def metric(self) -> torch.Tensor:
        """Minkowski metric ``diag(+1, -1, -1, -1)`` ``[4, 4]`` float64."""
        return torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))

    def vector_matrix(self, element: GroupElement) -> torch.Tensor:
        """Real ``Λ(g)`` ``[4, 4]`` acting on ``(t, x, y, z)``: ``Λ_μν = tr(σ_μ g σ_ν g^†) / 2``."""
        if not isinstance(element, GroupElement) or element.group != self:
            raise TypeError("element must be a GroupElement of the Lorentz group")
        g = element.numpy()
        lam = 0.5 * np.einsum("mab,bc,ncd,ad->mn", PAULI, g, PAULI, g.conj())
        return torch.from_numpy(np.ascontiguousarray(lam.real))

    def vector_representation(self) -> Representation:
        """The real 4-vector representation on ``(t, x, y, z)`` (generators ``[6, 4, 4]`` float64)."""
        x = self._def_x
        gens = 0.5 * (
            np.einsum("mab,tbc,nca->tmn", PAULI, x, PAULI) + np.einsum("mab,nbc,tac->tmn", PAULI, PAULI, x.conj())
        )
        return Representation(gens.real, structure_constants=self._f, name="4-vector")

    def vector_change_of_basis(self) -> torch.Tensor:
        """Complex ``Q`` ``[4, 4]`` with ``Λ(g) = Q ρ_{(1/2,1/2)}(g) Q^{-1}`` (from the intertwiner null space:
        Frobenius norm 1, canonical phase)."""
        q = intertwiners(self.vector_representation(), self.irrep((Fraction(1, 2), Fraction(1, 2))).representation)
        if q.shape[0] != 1:  # pragma: no cover - guarded by tests
            raise RuntimeError("the 4-vector is not a single copy of (1/2,1/2)")
        return torch.from_numpy(q[0])

    def boost(self, rapidity: float, direction) -> GroupElement:
        """Pure boost of ``rapidity`` along the 3-vector ``direction`` (normalized here; must be non-zero)."""
        t = _scaled_unit_vector(rapidity, "rapidity", direction, "direction")
        return self.exp(np.concatenate([np.zeros(3), t]))

    def rotation(self, angle: float, axis) -> GroupElement:
        """Right-handed rotation by ``angle`` about the 3-vector ``axis`` (normalized here; must be non-zero)."""
        return self.exp(np.concatenate([_scaled_unit_vector(angle, "angle", axis, "axis"), np.zeros(3)]))


def _scaled_unit_vector(amount: float, amount_name: str, vector, vector_name: str) -> np.ndarray:
    """``amount * vector / |vector|`` after checking that both are finite and the 3-vector is non-zero."""
    n = check_array(as_numpy(vector, vector_name).astype(np.float64), vector_name, shape=(3,), finite=True)
    if np.linalg.norm(n) == 0:
        raise ValueError(f"{vector_name} must be a non-zero 3-vector, got {vector!r}")
    if not np.isfinite(float(amount)):
        raise ValueError(f"{amount_name} must be finite, got {amount!r}")
    return float(amount) * n / np.linalg.norm(n)

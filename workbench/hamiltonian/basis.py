"""Atomic-orbital bases described by their shells: which angular momenta each element carries, in which order.

An :class:`OrbitalBasis` maps an atomic number to the angular momenta ``l`` of its (contracted, spherical) shells
in the order the quantum-chemistry code lays them out, e.g. def2-SVP oxygen ``(0, 0, 0, 1, 1, 2)`` = 3s2p1d,
14 functions. A molecule's atomic orbitals (AOs) are its atoms' shells, atom after atom, each shell's ``2l+1``
functions consecutive. Inside a shell the components are in the project's O(3) basis (e3nn's: ``1o`` is
``(x, y, z)``); :mod:`workbench.hamiltonian.ao_convention` converts from PySCF's order.

Under a rotation ``R`` a matrix ``H`` over these AOs (Fock, overlap) becomes ``D(R) H D(R)^T`` with ``D`` the
block-diagonal of the shells' Wigner D matrices (:meth:`OrbitalBasis.wigner_D`); a shell of degree ``l`` has parity
``(-1)^l``, so reflections act the same way with the O(3) ``D``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from workbench.checks import check_tensor
from workbench.groups import o3

__all__ = ["OrbitalBasis", "DEF2_SVP"]


@dataclass(frozen=True)
class OrbitalBasis:
    """Shells per element of a named basis.

    Args:
        name: the basis name the quantum-chemistry code knows (e.g. ``"def2-svp"``).
        shells: atomic number -> angular momenta of its shells, in layout order.

    Example:
        >>> DEF2_SVP.num_functions(8), DEF2_SVP.num_functions(1)
        (14, 5)
        >>> DEF2_SVP.num_orbitals([8, 1, 1])
        24
    """

    name: str
    shells: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty basis name, got {self.name!r}")
        clean = {}
        for z, ls in dict(self.shells).items():
            if int(z) < 1 or not len(ls) or any(int(l) < 0 for l in ls):
                raise ValueError(f"shells must map atomic numbers >= 1 to non-empty tuples of l >= 0, got {z}: {ls}")
            clean[int(z)] = tuple(int(l) for l in ls)
        object.__setattr__(self, "shells", dict(sorted(clean.items())))

    @property
    def elements(self) -> tuple[int, ...]:
        return tuple(self.shells)

    @property
    def lmax(self) -> int:
        return max(max(ls) for ls in self.shells.values())

    def shells_of(self, z: int) -> tuple[int, ...]:
        """The shell degrees of element ``z``; ValueError naming the basis when it does not cover ``z``."""
        if int(z) not in self.shells:
            raise ValueError(f"element Z={int(z)} is not in basis {self.name!r} as described here "
                             f"(elements {list(self.shells)})")
        return self.shells[int(z)]

    def num_functions(self, z: int) -> int:
        """Number of AOs of one atom of element ``z``."""
        return sum(2 * l + 1 for l in self.shells_of(z))

    def check_elements(self, z: Sequence[int] | torch.Tensor) -> None:
        """ValueError naming the unknown atomic numbers of ``z`` (if any)."""
        unknown = sorted({int(v) for v in (z.tolist() if isinstance(z, torch.Tensor) else z)} - set(self.shells))
        if unknown:
            raise ValueError(f"z: atomic numbers {unknown} are not in basis {self.name!r} as described here "
                             f"(elements {list(self.shells)})")

    def num_orbitals(self, z: Sequence[int] | torch.Tensor) -> int:
        """Number of AOs of a molecule with atomic numbers ``z``."""
        self.check_elements(z)
        return sum(self.num_functions(int(v)) for v in (z.tolist() if isinstance(z, torch.Tensor) else z))

    def shell_list(self, z: Sequence[int] | torch.Tensor) -> list[tuple[int, int]]:
        """``(atom index, l)`` of every shell of a molecule, in AO order."""
        self.check_elements(z)
        zs = z.tolist() if isinstance(z, torch.Tensor) else list(z)
        return [(i, l) for i, v in enumerate(zs) for l in self.shells_of(int(v))]

    def wigner_D(self, z: Sequence[int] | torch.Tensor, R: torch.Tensor) -> torch.Tensor:
        """``D(R) [n_ao, n_ao]``: block diagonal of the shells' O(3) Wigner D of the 3x3 orthogonal matrix ``R``
        (det -1 allowed: a shell of degree ``l`` has parity ``(-1)^l``), dtype of ``R``."""
        check_tensor(R, "R", shape=(3, 3), dtype="float", hint="an orthogonal 3x3 matrix")
        blocks = {l: o3.Irrep(l, (-1) ** l).D_from_matrix(R) for l in range(self.lmax + 1)}
        return torch.block_diag(*[blocks[l] for _, l in self.shell_list(z)])


#: def2-SVP for H, C, N, O as PySCF lays it out (spherical functions): H 2s1p, C/N/O 3s2p1d.
DEF2_SVP = OrbitalBasis("def2-svp", {1: (0, 0, 1), 6: (0, 0, 0, 1, 1, 2), 7: (0, 0, 0, 1, 1, 2),
                                     8: (0, 0, 0, 1, 1, 2)})

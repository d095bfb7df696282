"""Molecular orbitals on a cube grid, from AO coefficients in the project's basis (PySCF evaluates the AOs: the
``qc`` extra).

``psi_k(r) = sum_mu C[mu, k] phi_mu(r)`` with ``C`` in the project's AO order (columns = orbitals, e.g. from
:func:`workbench.hamiltonian.eigen.generalized_eigh`); the AO values come from PySCF's ``eval_gto`` in PySCF's order
and are converted with :func:`workbench.hamiltonian.ao_convention.conversion_matrix` (``phi_e3nn = C_conv
phi_pyscf``). The grid is regular, in Å, axis-aligned, ``padding`` Å around the atoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.hamiltonian.ao_convention import conversion_matrix
from workbench.hamiltonian.basis import OrbitalBasis
from workbench.hamiltonian.pyscf_labels import BOHR, _mol

__all__ = ["OrbitalGrid", "orbitals_on_grid"]


@dataclass
class OrbitalGrid:
    """``values [K, nx, ny, nz]`` (bohr^-3/2) of ``K`` orbitals on the grid with corner ``origin [3]`` (Å) and
    ``spacing`` (Å); ``points()`` gives the ``[nx * ny * nz, 3]`` coordinates (Å, ``ij`` order)."""

    origin: np.ndarray
    spacing: float
    shape: tuple[int, int, int]
    values: np.ndarray

    def axes(self) -> list[np.ndarray]:
        return [self.origin[k] + self.spacing * np.arange(self.shape[k]) for k in range(3)]

    def points(self) -> np.ndarray:
        return np.stack(np.meshgrid(*self.axes(), indexing="ij"), axis=-1).reshape(-1, 3)


def orbitals_on_grid(z: Sequence[int], pos: np.ndarray, coefficients: np.ndarray, basis: OrbitalBasis,
                     spacing: float = 0.2, padding: float = 2.5) -> OrbitalGrid:
    """Orbitals ``coefficients [n_ao, K]`` (project AO order) of the molecule ``z [A]``, ``pos [A, 3]`` (Å) on a
    cube grid (module docstring). ValueError for a coefficient matrix whose rows are not the molecule's AOs."""
    pos = np.asarray(pos, dtype=np.float64)
    coefficients = np.asarray(coefficients, dtype=np.float64)
    n = basis.num_orbitals(z)
    if coefficients.ndim == 1:
        coefficients = coefficients[:, None]
    if coefficients.ndim != 2 or coefficients.shape[0] != n:
        raise ValueError(f"coefficients must have shape [{n}, K] (one row per AO of the molecule), got "
                         f"{list(coefficients.shape)}")
    if not (spacing > 0 and padding >= 0):
        raise ValueError(f"need spacing > 0 and padding >= 0 (Å), got {spacing}, {padding}")
    lo, hi = pos.min(0) - padding, pos.max(0) + padding
    shape = tuple(int(np.ceil((hi[k] - lo[k]) / spacing)) + 1 for k in range(3))
    grid = OrbitalGrid(lo, float(spacing), shape, np.zeros(0))
    mol = _mol(list(z), pos, basis.name)
    ao = mol.eval_gto("GTOval_sph", grid.points() / BOHR)  # [P, n_ao] PySCF order; coordinates in bohr
    ao = ao @ conversion_matrix(basis, z).T  # project order
    grid.values = (ao @ coefficients).T.reshape(coefficients.shape[1], *shape)
    return grid

"""PySCF <-> project (e3nn) atomic-orbital conventions, in one place.

PySCF lays out spherical AOs shell after shell; inside a shell its real solid harmonics are ordered

- ``l = 0``: ``s``; ``l = 1``: ``(x, y, z)`` (PySCF's special case for p);
- ``l >= 2``: ``m = -l .. l`` of the standard real spherical harmonics with **z** as the polar axis
  (d: ``xy, yz, z^2, xz, x^2-y^2``), with positive signs.

The project's O(3) basis (e3nn 0.6) uses **y** as the polar axis: its degree-``l`` harmonics are the standard ones
evaluated at ``P r = (z, x, y)``. Hence, for one shell of degree ``l``, the project's components are
``C_l @ pyscf_components`` with

- ``C_0 = [1]``, ``C_1 = I_3`` (both already agree);
- ``C_l = D^l(P)`` for ``l >= 2``: the project's Wigner D of the cyclic permutation
  ``P = [[0, 0, 1], [1, 0, 0], [0, 1, 0]]`` (a proper rotation). For ``l = 2`` this is a signed permutation
  mixing ``z^2`` and ``x^2-y^2``; for ``l >= 3`` it mixes several components (it is not a permutation).

These were found by fitting PySCF's ``eval_gto("GTOval_sph")`` against the project's spherical harmonics on random
points (l = 0..5, residual ~1e-15) and are checked in the tests the same way and, for whole matrices, by
``D(R) H D(R)^T`` on a rotated molecule. A matrix over AOs converts as ``H_e3nn = C H_pyscf C^T`` with ``C`` the
block diagonal of the shells' ``C_l`` (orthogonal, so ``H_pyscf = C^T H_e3nn C``); MO coefficient matrices
(columns = orbitals) convert as ``C @ coeff``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.hamiltonian.basis import OrbitalBasis

__all__ = ["CYCLIC_PERMUTATION", "shell_conversion", "pyscf_to_e3nn_matrix", "e3nn_to_pyscf", "pyscf_to_e3nn",
           "conversion_matrix"]

#: ``P r = (z, x, y)``: the project's harmonics are the standard (z-polar) ones evaluated at ``P r``.
CYCLIC_PERMUTATION = ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


@functools.cache
def _shell_conversion_np(l: int) -> np.ndarray:
    if l < 2:
        return np.eye(2 * l + 1)
    P = torch.tensor(CYCLIC_PERMUTATION, dtype=torch.float64)
    return o3.wigner_D_from_matrix(l, P).numpy()


def shell_conversion(l: int) -> np.ndarray:
    """``C_l [2l+1, 2l+1]`` (float64, orthogonal): project components = ``C_l @`` PySCF components of a shell.

    Example:
        >>> shell_conversion(1).tolist() == np.eye(3).tolist()
        True
        >>> int(np.abs(shell_conversion(2)[0]).argmax())   # project's first d component is PySCF's xz (m=+1)
        3
    """
    if not isinstance(l, (int, np.integer)) or l < 0:
        raise ValueError(f"l must be an integer >= 0, got {l!r}")
    return _shell_conversion_np(int(l)).copy()


def conversion_matrix(basis: OrbitalBasis, z: Sequence[int] | torch.Tensor) -> np.ndarray:
    """``C [n_ao, n_ao]`` (float64) for a molecule with atomic numbers ``z``: block diagonal of the shells' ``C_l``."""
    ls = [l for _, l in basis.shell_list(z)]
    n = sum(2 * l + 1 for l in ls)
    C, k = np.zeros((n, n)), 0
    for l in ls:
        C[k:k + 2 * l + 1, k:k + 2 * l + 1] = _shell_conversion_np(l)
        k += 2 * l + 1
    return C


def _as_array(m, name: str, n: int) -> np.ndarray:
    a = m.detach().cpu().numpy() if isinstance(m, torch.Tensor) else np.asarray(m, dtype=np.float64)
    if a.ndim < 2 or a.shape[-2:] != (n, n):
        raise ValueError(f"{name} must have shape [..., {n}, {n}] (one row and column per atomic orbital of the "
                         f"molecule), got {list(a.shape)}")
    return a


def pyscf_to_e3nn(matrix, basis: OrbitalBasis, z: Sequence[int] | torch.Tensor) -> np.ndarray:
    """An AO matrix ``[..., n_ao, n_ao]`` (Fock, overlap, density) from PySCF's order to the project's:
    ``C M C^T``. Returns float64 numpy."""
    C = conversion_matrix(basis, z)
    a = _as_array(matrix, "matrix", C.shape[0])
    return C @ a @ C.T


def e3nn_to_pyscf(matrix, basis: OrbitalBasis, z: Sequence[int] | torch.Tensor) -> np.ndarray:
    """Inverse of :func:`pyscf_to_e3nn`: ``C^T M C``."""
    C = conversion_matrix(basis, z)
    a = _as_array(matrix, "matrix", C.shape[0])
    return C.T @ a @ C


def pyscf_to_e3nn_matrix(matrix: torch.Tensor, basis: OrbitalBasis, z: Sequence[int] | torch.Tensor
                         ) -> torch.Tensor:
    """Torch version of :func:`pyscf_to_e3nn` (keeps dtype and device)."""
    check_tensor(matrix, "matrix", dtype="float")
    C = torch.as_tensor(conversion_matrix(basis, z), dtype=matrix.dtype, device=matrix.device)
    if matrix.shape[-2:] != (C.shape[0], C.shape[0]):
        raise ValueError(f"matrix must have shape [..., {C.shape[0]}, {C.shape[0]}], got {list(matrix.shape)}")
    return C @ matrix @ C.T

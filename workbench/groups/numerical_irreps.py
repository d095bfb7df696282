"""Build an irrep numerically as the top Casimir eigenspace of a constructed representation.

Used by SU(3) (``Sym^p(3) ⊗ Sym^q(3bar)``) and SO(d)/O(d) (``Sym^k`` of the vector): in each case the wanted
irrep is the unique component with the largest ``|quadratic Casimir|``.  The basis of the irrep is the
canonical basis (:func:`workbench.groups.linalg.canonical_basis`) of that eigenspace inside the
construction's orthonormal basis, so it is deterministic.
"""

from __future__ import annotations

import numpy as np

from workbench.groups.intertwiners import casimir_data
from workbench.groups.linalg import canonical_basis
from workbench.groups.representation import Representation

__all__ = ["top_casimir_component"]


def top_casimir_component(rep: Representation, expected_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(generators, discrete) of the component of ``rep`` with the largest ``|Casimir|`` (first invariant form
    of the algebra); checks that its dimension is ``expected_dim``."""
    forms, _ = casimir_data(rep.structure_constants)
    if not forms:
        raise ValueError("the algebra has no quadratic Casimir")
    x = rep.numpy_generators()
    s, u = np.linalg.eigh(forms[0])
    ys = np.einsum("ai,ajk->ijk", u, x)
    cas = sum(s[i] * ys[i] @ ys[i] for i in range(len(s)))
    herm = cas if np.abs(cas - cas.conj().T).max() < 1e-9 * max(1.0, np.abs(cas).max()) else -1j * cas
    herm = (herm + herm.conj().T) / 2
    if np.iscomplexobj(herm) and np.abs(herm.imag).max() == 0:
        herm = herm.real
    evals, evecs = np.linalg.eigh(herm)
    top = np.max(np.abs(evals))
    keep = np.abs(np.abs(evals) - top) <= 1e-8 * max(1.0, top)
    if int(keep.sum()) != expected_dim:
        raise RuntimeError(
            f"top Casimir eigenspace has dimension {int(keep.sum())}, expected {expected_dim}; please report"
        )
    basis = canonical_basis(evecs[:, keep])
    if rep.is_real:
        basis = basis.real
    sub = rep.restrict(basis)
    return sub.numpy_generators(), sub.numpy_discrete()

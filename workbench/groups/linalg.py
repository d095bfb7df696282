"""Numerical linear algebra used by the representation-theory machinery (numpy, float64 / complex128).

Conventions used everywhere in :mod:`workbench.groups`:

* Null spaces come from an SVD; a direction is "null" when its singular value is below
  ``rtol * max(1, largest singular value)``.
* A subspace is reported in its **canonical orthonormal basis** (:func:`canonical_basis`): pivoted Gram-Schmidt
  on the columns of the orthogonal projector onto the subspace.  The result depends only on the subspace, not
  on how it was computed, and each basis vector has a real positive entry at its pivot row (the phase
  convention).  This makes Clebsch-Gordan tensors and numerically built irreps deterministic.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

__all__ = [
    "as_numpy",
    "canonical_basis",
    "cluster_values",
    "eigenspace",
    "matrix_log",
    "null_space",
    "orthonormalize",
]

DEFAULT_RTOL = 1e-9


def as_numpy(x, name: str = "array") -> np.ndarray:
    """Convert a torch tensor / array-like to a float64 or complex128 numpy array (copy-free when possible)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "c":
        return arr.astype(np.complex128, copy=False)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False)
    raise TypeError(f"{name} must be a real or complex numeric array, got dtype {arr.dtype}")


def null_space(a: np.ndarray, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """Orthonormal basis ``[n, k]`` of the null space of ``a`` ``[m, n]`` (SVD, relative tolerance ``rtol``)."""
    a = np.asarray(a)
    n = a.shape[1]
    if a.shape[0] == 0 or n == 0:
        return np.eye(n, dtype=a.dtype)
    if a.shape[0] > 2 * n:
        # tall system: the null space of a equals that of the small triangular factor r (a = q r)
        a = np.linalg.qr(a, mode="r")
    _, s, vh = np.linalg.svd(a, full_matrices=a.shape[0] < n)
    scale = max(1.0, float(s[0]) if s.size else 0.0)
    rank = int(np.sum(s > rtol * scale))
    return vh[rank:].conj().T


def orthonormalize(v: np.ndarray, rank: int | None = None, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """Orthonormal basis ``[n, r]`` of the column span of ``v`` ``[n, k]`` (SVD); ``rank`` forces ``r``."""
    if v.shape[1] == 0:
        return v
    u, s, _ = np.linalg.svd(v, full_matrices=False)
    if rank is None:
        rank = int(np.sum(s > rtol * max(1.0, float(s[0]))))
    return u[:, :rank]


def canonical_basis(v: np.ndarray, tie_rtol: float = 1e-8) -> np.ndarray:
    """Canonical orthonormal basis of the span of the orthonormal columns ``v`` ``[n, m]``.

    Let ``P = v v^H`` be the projector onto the span.  Repeatedly pick the row ``i`` where the residual
    ``e_i^H (P - P_chosen) e_i`` is largest (ties within ``tie_rtol`` go to the smallest ``i``), and append the
    normalized vector ``(P - P_chosen) e_i``.  The result depends only on the span, its pivot entries are real
    and positive, and a real input gives a real output.
    """
    n, m = v.shape
    basis = np.zeros((n, m), dtype=v.dtype)
    residual = np.sum(np.abs(v) ** 2, axis=1)
    for k in range(m):
        r_max = residual.max()
        i = int(np.flatnonzero(residual >= r_max * (1.0 - tie_rtol))[0])
        w = v @ v[i].conj() - basis[:, :k] @ basis[i, :k].conj()
        # re-orthogonalize once for accuracy
        w = w - basis[:, :k] @ (basis[:, :k].conj().T @ w)
        w = w / np.linalg.norm(w)
        phase = w[i] / abs(w[i])
        w = w / phase
        if np.isrealobj(basis):
            w = w.real
        basis[:, k] = w
        residual = np.maximum(residual - np.abs(w) ** 2, 0.0)
    return basis


def cluster_values(values: np.ndarray, atol: float) -> list[tuple[complex, np.ndarray]]:
    """Group (complex) numbers that are within ``atol`` of each other: list of (mean value, indices).

    The clusters are ordered by decreasing real part, then decreasing imaginary part (deterministic).
    """
    values = np.asarray(values)
    remaining = list(range(len(values)))
    clusters = []
    while remaining:
        i = remaining[0]
        members = [j for j in remaining if abs(values[j] - values[i]) <= atol]
        remaining = [j for j in remaining if j not in members]
        idx = np.array(members)
        clusters.append((complex(np.mean(values[idx])), idx))
    clusters.sort(key=lambda c: (-round(c[0].real / atol), -round(c[0].imag / atol)))
    return clusters


def eigenspace(a: np.ndarray, value: complex, count: int) -> np.ndarray:
    """Orthonormal basis ``[n, count]`` of the eigenspace of ``a`` ``[n, n]`` for the eigenvalue ``value``.

    ``a`` must be diagonalizable on that eigenspace (true for semisimple elements in a representation).  The
    basis is the ``count`` smallest right singular vectors of ``a - value I`` (no tolerance needed).
    """
    n = a.shape[0]
    if count == 0:
        return np.zeros((n, 0), dtype=a.dtype)
    shifted = a - value * np.eye(n)
    if np.isrealobj(a) and abs(np.imag(value)) == 0:
        shifted = shifted.real
    _, _, vh = np.linalg.svd(shifted)
    return vh[n - count :].conj().T


def matrix_log(a: np.ndarray, traceless: bool = False) -> np.ndarray:
    """Principal matrix logarithm of ``a`` ``[n, n]``, as complex128.

    Normal matrices (unitary / orthogonal group elements) use the complex Schur form, which is diagonal for
    them, so ``log a = U diag(log t) U^H`` is exact to rounding; other matrices use their eigendecomposition
    when it is well conditioned, else ``scipy.linalg.logm``.
    With ``traceless=True`` (det 1 groups such as SU(n)), eigenvalue branches are shifted by ``2πi`` (largest
    phases first) so that the logarithm is traceless.
    """
    a = np.asarray(a)
    normal_err = np.linalg.norm(a @ a.conj().T - a.conj().T @ a)
    if normal_err <= 1e-12 * max(1.0, np.linalg.norm(a) ** 2):
        t, u = scipy.linalg.schur(a.astype(np.complex128), output="complex")
        log_t = np.log(np.diag(t))
        if traceless:
            turns = int(round(float(np.sum(log_t).imag) / (2 * np.pi)))
            for _ in range(abs(turns)):
                k = int(np.argmax(log_t.imag)) if turns > 0 else int(np.argmin(log_t.imag))
                log_t[k] -= np.sign(turns) * 2j * np.pi
        out = (u * log_t) @ u.conj().T
    else:
        evals, vecs = np.linalg.eig(a)
        if np.linalg.cond(vecs) < 1e6:
            # diagonalizable with well-separated eigenvalues (generic group elements)
            out = (vecs * np.log(evals)) @ np.linalg.inv(vecs)
        else:
            out = scipy.linalg.logm(a)
    return np.asarray(out, dtype=np.complex128)

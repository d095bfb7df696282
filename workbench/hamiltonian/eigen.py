"""The generalized eigenproblem ``H C = S C diag(eps)`` by Löwdin orthogonalization, differentiable, and the
orbital metrics of the Hamiltonian pipeline.

``S^-1/2`` comes from ``eigh(S)``; ``H' = S^-1/2 H S^-1/2``; ``eigh(H') = (eps, V)``; ``C = S^-1/2 V`` (columns are
orbitals, ``C^T S C = I``). Gradients flow through both ``eigh`` calls (torch's; finite when eigenvalues are
distinct). Energies in Eh.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["generalized_eigh", "orbital_metrics", "hamiltonian_loss", "HARTREE_TO_MEV"]

HARTREE_TO_MEV = 27211.386245988


def _check_pair(H: torch.Tensor, S: torch.Tensor, names=("H", "S")) -> None:
    check_tensor(H, names[0], shape=(..., "n", "n"), dtype="float", finite=True, hint="square AO matrices")
    check_tensor(S, names[1], shape=tuple(H.shape), dtype="float", finite=True, hint=f"same shape as {names[0]}")


def generalized_eigh(H: torch.Tensor, S: torch.Tensor, min_overlap_eigenvalue: float = 1e-8
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Orbital energies ``[..., n]`` (ascending) and coefficients ``[..., n, n]`` (columns) of ``H C = S C eps``.

    ``H``, ``S``: symmetric ``[..., n, n]``; ``S`` must be positive definite (ValueError otherwise).

    Example:
        >>> H = torch.tensor([[-1.0, -0.2], [-0.2, -0.5]], dtype=torch.float64)
        >>> S = torch.tensor([[1.0, 0.1], [0.1, 1.0]], dtype=torch.float64)
        >>> eps, C = generalized_eigh(H, S)
        >>> bool(torch.allclose(H @ C, S @ C @ torch.diag(eps)))
        True
    """
    _check_pair(H, S)
    s, U = torch.linalg.eigh(S)
    if bool((s.detach() < min_overlap_eigenvalue).any()):
        raise ValueError(f"S must be positive definite; its smallest eigenvalue is {float(s.min()):.3g}")
    X = U @ torch.diag_embed(s.rsqrt()) @ U.transpose(-1, -2)
    eps, V = torch.linalg.eigh(X @ H @ X)
    return eps, X @ V


def orbital_metrics(H_pred: torch.Tensor, S_pred: torch.Tensor, H_true: torch.Tensor, S_true: torch.Tensor,
                    nocc: int) -> dict[str, float]:
    """PhiSNet's test metrics over a batch ``[N, n, n]`` of one molecule (``nocc`` doubly occupied orbitals).

    Returns ``H_mae_uEh`` (all matrix entries, µEh), ``S_mae`` (dimensionless), ``eps_occ_mae_uEh`` and
    ``eps_occ_mae_meV`` (occupied orbital energies of the predicted ``H`` vs the true ones; both eigenproblems use
    the **true** overlap ``S_true``, which is exact and cheap from the geometry and basis, as QHNet does, so that
    a predicted ``S`` that is not positive definite early in training cannot break the evaluation), ``homo_mae_meV``,
    ``lumo_mae_meV``, ``gap_mae_meV``, ``psi_cosine`` (mean over occupied orbitals of ``|c_pred . c_true| /
    (|c_pred| |c_true|)``, coefficient vectors as PhiSNet compares them).
    """
    _check_pair(H_pred, S_pred, ("H_pred", "S_pred"))
    _check_pair(H_true, S_true, ("H_true", "S_true"))
    if H_pred.shape != H_true.shape:
        raise ValueError(f"H_pred {list(H_pred.shape)} and H_true {list(H_true.shape)} must have the same shape")
    n = H_true.shape[-1]
    if not 1 <= int(nocc) < n:
        raise ValueError(f"nocc must be in [1, {n}) (doubly occupied orbitals), got {nocc}")
    with torch.no_grad():
        e_p, C_p = generalized_eigh(H_pred.double(), S_true.double())
        e_t, C_t = generalized_eigh(H_true.double(), S_true.double())
        occ = slice(0, int(nocc))
        homo, lumo = int(nocc) - 1, int(nocc)
        cp, ct = C_p[..., :, occ], C_t[..., :, occ]
        cos = (cp * ct).sum(-2).abs() / (cp.norm(dim=-2) * ct.norm(dim=-2))
        gap_p, gap_t = e_p[..., lumo] - e_p[..., homo], e_t[..., lumo] - e_t[..., homo]
        return {
            "H_mae_uEh": float((H_pred - H_true).abs().mean()) * 1e6,
            "S_mae": float((S_pred - S_true).abs().mean()),
            "eps_occ_mae_uEh": float((e_p[..., occ] - e_t[..., occ]).abs().mean()) * 1e6,
            "eps_occ_mae_meV": float((e_p[..., occ] - e_t[..., occ]).abs().mean()) * HARTREE_TO_MEV,
            "homo_mae_meV": float((e_p[..., homo] - e_t[..., homo]).abs().mean()) * HARTREE_TO_MEV,
            "lumo_mae_meV": float((e_p[..., lumo] - e_t[..., lumo]).abs().mean()) * HARTREE_TO_MEV,
            "gap_mae_meV": float((gap_p - gap_t).abs().mean()) * HARTREE_TO_MEV,
            "psi_cosine": float(cos.mean()),
        }


def hamiltonian_loss(H_pred: torch.Tensor, S_pred: torch.Tensor, H_true: torch.Tensor, S_true: torch.Tensor,
                     eps_true: torch.Tensor | None = None, nocc: int | None = None, eps_weight: float = 0.0,
                     h_scale: float = 1.0, s_scale: float = 1.0) -> torch.Tensor:
    """Mean squared error on ``H / h_scale`` and ``S / s_scale`` (all ``[N, n, n]``), plus ``eps_weight`` x the MSE
    of the occupied orbital energies (divided by ``h_scale``) of the predicted ``H`` with the true overlap
    ``S_true`` through :func:`generalized_eigh` against ``eps_true [N, n]``."""
    _check_pair(H_pred, S_pred, ("H_pred", "S_pred"))
    _check_pair(H_true, S_true, ("H_true", "S_true"))
    if H_pred.shape != H_true.shape:
        raise ValueError(f"H_pred {list(H_pred.shape)} and H_true {list(H_true.shape)} must have the same shape "
                         "(one molecule's AOs; check the basis)")
    if not (h_scale > 0 and s_scale > 0):
        raise ValueError(f"h_scale and s_scale must be > 0, got {h_scale}, {s_scale}")
    loss = ((H_pred - H_true) / h_scale).pow(2).mean() + ((S_pred - S_true) / s_scale).pow(2).mean()
    if eps_weight:
        if eps_true is None or nocc is None:
            raise ValueError("eps_weight > 0 needs eps_true [N, n] and nocc")
        check_tensor(eps_true, "eps_true", shape=(H_true.shape[0], H_true.shape[-1]), dtype="float")
        eps, _ = generalized_eigh(H_pred, S_true)
        loss = loss + eps_weight * ((eps[:, :nocc] - eps_true[:, :nocc]) / h_scale).pow(2).mean()
    return loss

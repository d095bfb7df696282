"""Structure refinement against a measured total-scattering pattern by autograd through the Debye equation.

Examples:
    >>> import torch
    >>> from workbench.scattering.refine import aligned_rmsd
    >>> a = torch.randn(5, 3, dtype=torch.float64)
    >>> rotation = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0]
    >>> float(aligned_rmsd(a @ rotation.T + 1.0, a)) < 1e-12
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workbench.checks import check_tensor
from workbench.scattering.debye import check_q, debye_scattering

__all__ = ["aligned_rmsd", "refine_positions"]


def aligned_rmsd(pos: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """RMSD (Å) of ``pos [N, 3]`` to ``reference [N, 3]`` after the best translation and orthogonal map (rotation
    or reflection: a powder pattern cannot tell mirror images apart), same atom order."""
    check_tensor(pos, "pos", shape=("N", 3), dtype="float", finite=True)
    check_tensor(reference, "reference", shape=(pos.shape[0], 3), dtype=pos.dtype, finite=True)
    a = pos - pos.mean(0)
    b = reference - reference.mean(0)
    u, _, vh = torch.linalg.svd(a.T @ b)
    return ((a @ (u @ vh) - b) ** 2).sum(1).mean().sqrt()


def refine_positions(species: Sequence[str | int] | torch.Tensor, pos: torch.Tensor, q: torch.Tensor,
                     target: torch.Tensor, *, steps: int = 100, radiation: str = "xray", biso: float = 0.0,
                     lr: float = 1.0) -> tuple[torch.Tensor, list[float]]:
    """Positions ``[N, 3]`` that minimise ``mean((S(Q) - target)^2)`` from the start ``pos``, by L-BFGS with
    gradients through :func:`~workbench.scattering.debye.debye_scattering`; returns (positions, loss per step).

    Args:
        species, pos, q, radiation, biso: as for :func:`~workbench.scattering.debye.debye_scattering`.
        target: ``[nq]`` the measured (or simulated) S(Q) on ``q``.
        steps: L-BFGS iterations (>= 1); lr: its step length.
    """
    check_q(q)
    check_tensor(target, "target", shape=(q.shape[0],), dtype=q.dtype, finite=True, hint="S(Q) on q")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    x = pos.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=lr, max_iter=1, line_search_fn="strong_wolfe")
    losses: list[float] = []

    def closure():
        optimizer.zero_grad()
        s = debye_scattering(species, x, q, radiation=radiation, biso=biso, method="direct").structure_factor
        loss = ((s - target) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(float(optimizer.step(closure).detach()))
    return x.detach(), losses

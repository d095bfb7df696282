"""Fixed-step integrators on phase-space tensors ``state [..., 2n]`` laid out ``(q_1..q_n, p_1..p_n)``.

- :func:`rk4_trajectory`: classical fourth-order Runge-Kutta, ``substeps`` steps per saved sample (the references
  of the double pendulum and the check of the Kepler solution);
- :func:`leapfrog_step`: Stormer-Verlet for a separable Hamiltonian ``H = T(p) + V(q)`` given its two gradients
  (symplectic, second order; the Hamiltonian network's stepper).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from workbench.checks import check_tensor

__all__ = ["VectorField", "leapfrog_step", "rk4_step", "rk4_trajectory"]

#: ``field(state) -> d state / dt``, both ``[..., 2n]``.
VectorField = Callable[[torch.Tensor], torch.Tensor]


def rk4_step(field: VectorField, state: torch.Tensor, dt: float) -> torch.Tensor:
    """One classical RK4 step of size ``dt`` (fourth order, not symplectic)."""
    k1 = field(state)
    k2 = field(state + 0.5 * dt * k1)
    k3 = field(state + 0.5 * dt * k2)
    k4 = field(state + dt * k3)
    return state + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rk4_trajectory(field: VectorField, state0: torch.Tensor, dt: float, n_samples: int,
                   substeps: int = 1) -> torch.Tensor:
    """States ``[..., n_samples, 2n]`` at times ``0, dt, ..., (n_samples - 1) dt`` from ``state0 [..., 2n]``,
    each sample ``substeps`` RK4 steps of ``dt / substeps`` after the previous one.

    Raises:
        ValueError: ``state0`` not a finite floating-point tensor, ``dt`` not positive, counts not >= 1.
    """
    check_tensor(state0, "state0", shape=(..., None), dtype="float")
    if not dt > 0:
        raise ValueError(f"dt must be a positive number, got {dt!r}")
    for name, value in (("n_samples", n_samples), ("substeps", substeps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    h = dt / substeps
    out = [state0]
    state = state0
    for _ in range(n_samples - 1):
        for _ in range(substeps):
            state = rk4_step(field, state, h)
        out.append(state)
    return torch.stack(out, dim=-2)


def leapfrog_step(grad_kinetic: Callable[[torch.Tensor], torch.Tensor],
                  grad_potential: Callable[[torch.Tensor], torch.Tensor], q: torch.Tensor, p: torch.Tensor,
                  dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One Stormer-Verlet (kick-drift-kick) step of ``H = T(p) + V(q)``: ``p -= dt/2 dV/dq; q += dt dT/dp;
    p -= dt/2 dV/dq``. Symplectic and time-reversible for any ``T`` and ``V``."""
    p = p - 0.5 * dt * grad_potential(q)
    q = q + dt * grad_kinetic(p)
    p = p - 0.5 * dt * grad_potential(q)
    return q, p

"""The baselines of the Action-Angle Network paper, with the same ``model(state, jump)`` contract
(:mod:`workbench.dynamics.prediction`) and trained by the same loop:

- :class:`EulerUpdateNetwork`: the Action-Angle Network's encoder (:class:`SymplecticEncoder`), then ``jump``
  learned residual updates ``z <- z + f(z)`` in latent space, then the exact inverse; whole steps only, cost
  linear in the jump;
- :class:`NeuralODE`: ``ds/dt = f(s)`` with an MLP ``f``, integrated by ``torchdiffeq.odeint`` (fixed-step RK4,
  ``step_size`` in units of ``dt``; the ``dynamics`` extra); continuous in time, cost linear in the jump;
- :class:`HamiltonianNetwork`: a learned separable Hamiltonian ``H = T(p) + V(q)`` (two
  :class:`ScalarPotential` networks with closed-form gradients) advanced by ``substeps`` Stormer-Verlet
  (symplectic leapfrog) steps per ``dt``; whole steps only, cost linear in the jump. A separable ``H`` is exact for
  the oscillators and Kepler, and an approximation for the double pendulum (whose kinetic energy depends on q).
  It starts at the uncoupled oscillators ``H = |p|^2 / 2 + sum_k omega_k^2 q_k^2 / 2`` with ``omega_k`` evenly
  spaced over ``initial_frequencies`` (the Action-Angle Network's initial frequencies): started near ``H = 0``
  (tiny random quadratic forms) the network does not move ``q``, and on dynamics sampled at ``dt = 1`` with jumps
  up to 10 the loss then sits on a plateau (state MSE about 1 on the coupled oscillators, see
  ``tests/dynamics/test_action_angle_models.py``).

Batches may mix jumps: the steppers run to the largest jump and freeze each sample after its own.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.dynamics.extras import require_torchdiffeq
from workbench.dynamics.integrators import leapfrog_step
from workbench.dynamics.prediction import check_prediction_inputs
from workbench.dynamics.symplectic import ScalarPotential, SymplecticEncoder
from workbench.dynamics.systems import check_count, check_positive

__all__ = ["EulerUpdateNetwork", "HamiltonianNetwork", "NeuralODE", "mlp"]


def mlp(n_in: int, hidden: int, n_out: int, layers: int = 2) -> nn.Sequential:
    """``layers`` hidden tanh layers of ``hidden`` units, then a linear map to ``n_out``."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.Tanh()]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)


class EulerUpdateNetwork(nn.Module):
    """Encoder, ``jump`` latent updates ``z <- z + f(z)`` (``f`` an MLP whose last layer starts at zero), exact
    decoder (module docstring)."""

    def __init__(self, n_dof: int, n_layers: int = 2, hidden: int = 32, update_hidden: int = 64) -> None:
        super().__init__()
        self.n_dof = check_count(n_dof, "n_dof")
        self.encoder = SymplecticEncoder(n_dof, n_layers, hidden)
        self.update = mlp(2 * n_dof, check_count(update_hidden, "update_hidden"), 2 * n_dof)
        nn.init.zeros_(self.update[-1].weight)
        nn.init.zeros_(self.update[-1].bias)

    def forward(self, state: torch.Tensor, jump: torch.Tensor | float) -> torch.Tensor:
        state, jump = check_prediction_inputs(state, jump, 2 * self.n_dof, integer=True)
        z = self.encoder(state)
        for k in range(int(jump.max()) if len(jump) else 0):
            z = torch.where((jump > k)[:, None], z + self.update(z), z)
        return self.encoder.inverse(z)


class NeuralODE(nn.Module):
    """``ds/dt = f(s)`` integrated with torchdiffeq's fixed-step RK4 (module docstring); ``dt`` is the sampling
    step and ``step_size`` the solver step in units of ``dt``."""

    def __init__(self, n_dof: int, hidden: int = 64, step_size: float = 0.5, dt: float = 1.0) -> None:
        super().__init__()
        self.n_dof = check_count(n_dof, "n_dof")
        self.field = mlp(2 * n_dof, check_count(hidden, "hidden"), 2 * n_dof)
        self.step_size = check_positive(step_size, "step_size")
        self.dt = check_positive(dt, "dt")

    def forward(self, state: torch.Tensor, jump: torch.Tensor | float) -> torch.Tensor:
        state, jump = check_prediction_inputs(state, jump, 2 * self.n_dof, integer=False)
        torchdiffeq = require_torchdiffeq()
        times, index = torch.unique(torch.cat([jump.new_zeros(1), jump]), return_inverse=True)
        path = torchdiffeq.odeint(lambda t, s: self.field(s), state, times * self.dt, method="rk4",
                                  options={"step_size": self.step_size * self.dt})   # [T, B, 2n]
        return path[index[1:], torch.arange(len(jump))]


class HamiltonianNetwork(nn.Module):
    """Learned ``H(q, p) = T(p) + V(q)``, leapfrog with ``substeps`` steps per ``dt``; it starts at uncoupled
    unit-mass oscillators with frequencies evenly spaced over ``initial_frequencies = (low, high)`` (radians per
    unit time; ``low`` alone for one degree of freedom) and zero learned non-quadratic parts (module docstring)."""

    def __init__(self, n_dof: int, hidden: int = 64, substeps: int = 2, dt: float = 1.0,
                 initial_frequencies: tuple[float, float] = (0.3, 1.0)) -> None:
        super().__init__()
        self.n_dof = check_count(n_dof, "n_dof")
        self.kinetic = ScalarPotential(n_dof, check_count(hidden, "hidden"))
        self.potential = ScalarPotential(n_dof, hidden)
        self.substeps = check_count(substeps, "substeps")
        self.dt = check_positive(dt, "dt")
        if not isinstance(initial_frequencies, (tuple, list)) or len(initial_frequencies) != 2:
            raise ValueError(f"initial_frequencies must be a pair (low, high), got {initial_frequencies!r}")
        low, high = (check_positive(f, "initial_frequencies") for f in initial_frequencies)
        omega = torch.linspace(low, high, n_dof) if n_dof > 1 else torch.tensor([low])
        with torch.no_grad():
            self.kinetic.quadratic.copy_(torch.eye(n_dof))
            self.potential.quadratic.copy_(torch.diag(omega**2))

    def hamiltonian(self, state: torch.Tensor) -> torch.Tensor:
        """The learned ``H`` ``[...]`` of ``state [..., 2n]`` (its zero is arbitrary)."""
        return self.kinetic(state[..., self.n_dof :]) + self.potential(state[..., : self.n_dof])

    def forward(self, state: torch.Tensor, jump: torch.Tensor | float) -> torch.Tensor:
        state, jump = check_prediction_inputs(state, jump, 2 * self.n_dof, integer=True)
        q, p = state[:, : self.n_dof], state[:, self.n_dof :]
        h = self.dt / self.substeps
        for k in range(int(jump.max()) if len(jump) else 0):
            q_new, p_new = q, p
            for _ in range(self.substeps):
                q_new, p_new = leapfrog_step(self.kinetic.gradient, self.potential.gradient, q_new, p_new, h)
            live = (jump > k)[:, None]
            q, p = torch.where(live, q_new, q), torch.where(live, p_new, p)
        return torch.cat([q, p], dim=-1)

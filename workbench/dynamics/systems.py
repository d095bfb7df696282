"""The interface every simulator of :mod:`workbench.dynamics` shares.

A system is a Hamiltonian flow on phase space. States are float64 tensors ``[..., 2n]`` laid out
``(q_1..q_n, p_1..p_n)`` (positions first), ``n = system.n_dof``. Each system gives:

- ``reference_trajectory(state0 [B, 2n], n_samples, dt) -> [B, n_samples, 2n]``: exact (oscillators: modal
  decomposition; Kepler: Kepler's equation) or high-order (double pendulum: RK4 with small steps);
- ``vector_field(state) -> d state / dt`` (Hamilton's equations) and ``energy(state) -> [...]``;
- ``conserved(state) -> {name: [...]}``: the conserved quantities (energy always);
- ``analytic_frequencies(state) -> [..., n]`` or None: the angle frequencies of the integrable systems;
- ``sample_initial_states(n, generator) -> [n, 2n]``.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.checks import check_tensor

__all__ = ["DynamicalSystem", "check_state"]


def check_state(state: torch.Tensor, dim: int, name: str = "state") -> torch.Tensor:
    """``state`` as a finite floating-point tensor ``[..., dim]``; ValueError naming ``name`` otherwise (a NaN or
    inf state included)."""
    return check_tensor(state, name, shape=(..., dim), dtype="float", finite=True)


class DynamicalSystem:
    """Base of the simulators: ``name``, ``n_dof`` and ``integrable`` set by subclasses (module docstring)."""

    name: str = ""
    n_dof: int = 0
    integrable: bool = True

    @property
    def state_dim(self) -> int:
        """``2 * n_dof``: the length of a phase-space state."""
        return 2 * self.n_dof

    def split(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q, p)``, each ``[..., n]``, of ``state [..., 2n]``."""
        return state[..., : self.n_dof], state[..., self.n_dof :]

    def vector_field(self, state: torch.Tensor) -> torch.Tensor:
        """Hamilton's equations: ``(dH/dp, -dH/dq)`` as ``[..., 2n]``."""
        raise NotImplementedError

    def energy(self, state: torch.Tensor) -> torch.Tensor:
        """The Hamiltonian ``[...]`` of ``state [..., 2n]``."""
        raise NotImplementedError

    def conserved(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        """Conserved quantities, each ``[...]`` (energy for every system)."""
        return {"energy": self.energy(check_state(state, self.state_dim))}

    def analytic_frequencies(self, state: torch.Tensor) -> torch.Tensor | None:
        """Angle frequencies ``[..., n]`` (radians per unit time) where known; None for non-integrable systems."""
        return None

    def reference_trajectory(self, state0: torch.Tensor, n_samples: int, dt: float) -> torch.Tensor:
        """States ``[B, n_samples, 2n]`` at times ``0, dt, ...`` from ``state0 [B, 2n]``."""
        raise NotImplementedError

    def sample_initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` random initial states ``[n, 2n]`` (float64) from ``generator``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The system's parameters as plain JSON values."""
        return {"name": self.name, "n_dof": self.n_dof, "integrable": self.integrable}


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum`` (bools refused); ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_positive(value: Any, name: str) -> float:
    """``value`` as a finite float ``> 0``; ValueError naming ``name`` otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and value < float("inf")
    if not ok:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)

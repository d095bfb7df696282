"""N harmonic oscillators of unit mass, uncoupled or coupled in a chain of springs, solved exactly.

``H = |p|^2 / 2 + q^T K q / 2`` with a symmetric positive-definite stiffness matrix ``K``. Its eigen-decomposition
``K = V diag(omega^2) V^T`` (``torch.linalg.eigh``, ascending) gives the normal modes: modal coordinates
``a = V^T q, b = V^T p`` rotate independently, ``a(t) = a0 cos(omega t) + b0 / omega sin(omega t)``,
``b(t) = b0 cos(omega t) - a0 omega sin(omega t)``. That is the exact reference solution; the normal-mode
frequencies ``omega`` are the analytic angle frequencies and ``J_k = E_k / omega_k`` (``E_k`` the mode's energy) the
actions, conserved one by one.

- :func:`uncoupled_oscillators`: ``K = diag(k_i)`` (``"harmonic"`` in :data:`~workbench.dynamics.SYSTEMS`);
- :func:`coupled_oscillators`: ``n`` masses in a line between two walls joined by ``n + 1`` springs
  (``"coupled_harmonic"``): ``K_ii = k_i + k_{i+1}``, ``K_{i,i+1} = -k_{i+1}``.

Examples:
    >>> import torch
    >>> from workbench.dynamics.oscillators import coupled_oscillators
    >>> chain = coupled_oscillators(2, springs=[1.0, 1.0, 1.0])
    >>> chain.frequencies          # sqrt(1) and sqrt(3): in phase and against each other
    tensor([1.0000, 1.7321], dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.dynamics.systems import DynamicalSystem, check_count, check_positive, check_state

__all__ = ["HarmonicOscillators", "coupled_oscillators", "uncoupled_oscillators"]


class HarmonicOscillators(DynamicalSystem):
    """Unit-mass oscillators with stiffness ``K [n, n]`` (symmetric positive-definite, float64); ``name`` labels
    the system (module docstring)."""

    integrable = True

    def __init__(self, stiffness: torch.Tensor, name: str = "harmonic", amplitude: float = 1.0) -> None:
        k = check_tensor(torch.as_tensor(stiffness, dtype=torch.float64), "stiffness", shape=("n", "n"),
                         dtype="float")
        if not torch.allclose(k, k.T, atol=1e-12):
            raise ValueError("stiffness must be a symmetric matrix [n, n]")
        eigenvalues, modes = torch.linalg.eigh(k)
        if bool((eigenvalues <= 0).any()):
            raise ValueError(f"stiffness must be positive-definite, got eigenvalues {eigenvalues.tolist()}")
        self.name, self.n_dof, self.stiffness = name, int(k.shape[0]), k
        self.amplitude = check_positive(amplitude, "amplitude")
        self.modes = modes                       # [n, n]: columns are the normal modes
        self.frequencies = eigenvalues.sqrt()    # [n] ascending normal-mode frequencies

    def energy(self, state: torch.Tensor) -> torch.Tensor:
        q, p = self.split(check_state(state, self.state_dim))
        k = self.stiffness.to(q)
        return 0.5 * (p * p).sum(-1) + 0.5 * ((q @ k) * q).sum(-1)

    def vector_field(self, state: torch.Tensor) -> torch.Tensor:
        q, p = self.split(state)
        return torch.cat([p, -q @ self.stiffness.to(q)], dim=-1)

    def modal(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Modal coordinates ``(a, b) = (V^T q, V^T p)``, each ``[..., n]``."""
        q, p = self.split(check_state(state, self.state_dim))
        v = self.modes.to(q)
        return q @ v, p @ v

    def mode_actions(self, state: torch.Tensor) -> torch.Tensor:
        """Actions ``J_k = (b_k^2 + omega_k^2 a_k^2) / (2 omega_k)`` ``[..., n]``, one per normal mode."""
        a, b = self.modal(state)
        w = self.frequencies.to(a)
        return (b * b + (w * a) ** 2) / (2 * w)

    def conserved(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().conserved(state)
        actions = self.mode_actions(state)
        out.update({f"action_{k}": actions[..., k] for k in range(self.n_dof)})
        return out

    def analytic_frequencies(self, state: torch.Tensor) -> torch.Tensor:
        """The normal-mode frequencies ``[..., n]`` (ascending), the same for every state."""
        state = check_state(state, self.state_dim)
        return self.frequencies.to(state).expand(*state.shape[:-1], self.n_dof)

    def evolve(self, state: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """The exact state ``[..., 2n]`` a time ``t`` (scalar or broadcastable ``[...]``) after ``state``."""
        a, b = self.modal(state)
        t = torch.as_tensor(t, dtype=a.dtype)[..., None]
        w = self.frequencies.to(a)
        c, s = torch.cos(w * t), torch.sin(w * t)
        a_t, b_t = a * c + b / w * s, b * c - a * w * s
        v = self.modes.to(a)
        return torch.cat([a_t @ v.T, b_t @ v.T], dim=-1)

    def reference_trajectory(self, state0: torch.Tensor, n_samples: int, dt: float) -> torch.Tensor:
        state0 = check_state(state0, self.state_dim, "state0")
        check_count(n_samples, "n_samples")
        times = torch.arange(n_samples, dtype=state0.dtype) * check_positive(dt, "dt")
        return self.evolve(state0[..., None, :], times)

    def sample_initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Positions and momenta drawn from ``N(0, amplitude^2)``."""
        check_count(n, "n")
        return self.amplitude * torch.randn(n, self.state_dim, generator=generator, dtype=torch.float64)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stiffness": self.stiffness.tolist(), "frequencies": self.frequencies.tolist(),
                "amplitude": self.amplitude}


def uncoupled_oscillators(n_oscillators: int = 3, stiffness: Sequence[float] | None = None,
                          amplitude: float = 1.0) -> HarmonicOscillators:
    """``n_oscillators`` independent oscillators, ``K = diag(stiffness)``; default stiffness gives frequencies
    evenly spaced in ``[0.3, 0.9]`` (below the Nyquist limit ``pi`` of a unit sampling step)."""
    n = check_count(n_oscillators, "n_oscillators")
    if stiffness is None:
        k = torch.linspace(0.3, 0.9, n, dtype=torch.float64) ** 2 if n > 1 else torch.tensor([0.36],
                                                                                              dtype=torch.float64)
    else:
        k = check_tensor(torch.as_tensor(stiffness, dtype=torch.float64), "stiffness", shape=(n,))
    return HarmonicOscillators(torch.diag(k), name="harmonic", amplitude=amplitude)


def coupled_oscillators(n_oscillators: int = 3, springs: Sequence[float] | None = None,
                        amplitude: float = 1.0) -> HarmonicOscillators:
    """``n_oscillators`` unit masses in a line between two walls, joined by ``n + 1`` springs (``springs[0]`` ties
    the first mass to the left wall, ``springs[n]`` the last to the right wall); default: spring constants evenly
    spaced in ``[0.1, 0.3]`` (all normal-mode frequencies below 1.1)."""
    n = check_count(n_oscillators, "n_oscillators")
    if springs is None:
        k = torch.linspace(0.1, 0.3, n + 1, dtype=torch.float64)
    else:
        k = check_tensor(torch.as_tensor(springs, dtype=torch.float64), "springs", shape=(n + 1,))
    if bool((k <= 0).any()):
        raise ValueError(f"springs must be positive, got {k.tolist()}")
    stiffness = torch.diag(k[:-1] + k[1:]) - torch.diag(k[1:-1], 1) - torch.diag(k[1:-1], -1)
    return HarmonicOscillators(stiffness, name="coupled_harmonic", amplitude=amplitude)

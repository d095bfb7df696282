"""The planar double pendulum in canonical coordinates: the non-integrable (chaotic) control case.

``q = (theta_1, theta_2)`` (angles from the downward vertical), ``p`` their conjugate momenta; masses ``m1, m2``,
rod lengths ``l1, l2``, gravity ``g``. With ``d = theta_1 - theta_2``:
``H = (l2^2 m2 p1^2 + l1^2 (m1 + m2) p2^2 - 2 m2 l1 l2 p1 p2 cos d) / (2 l1^2 l2^2 m2 (m1 + m2 sin^2 d))
- (m1 + m2) g l1 cos theta_1 - m2 g l2 cos theta_2``. Only the energy is conserved; there are no global
action-angle coordinates, so
:meth:`DoublePendulum.analytic_frequencies` is None. The reference trajectory is RK4 with ``substeps`` steps per
unit time (default 50; about a minute for 8 x 1,000 unit-time samples on one loaded core). Nearby trajectories
separate exponentially, so the reference itself is only as good as its step for a finite time (the tests measure
its convergence).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from workbench.dynamics.integrators import rk4_trajectory
from workbench.dynamics.systems import DynamicalSystem, check_count, check_positive, check_state

__all__ = ["DoublePendulum"]


class DoublePendulum(DynamicalSystem):
    """The double pendulum (module docstring). Initial angles uniform in ``[-max_angle, max_angle]``, momenta 0."""

    name = "double_pendulum"
    n_dof = 2
    integrable = False

    def __init__(self, m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0, g: float = 1.0,
                 max_angle: float = 2.0, substeps: int = 50) -> None:
        self.m1, self.m2 = check_positive(m1, "m1"), check_positive(m2, "m2")
        self.l1, self.l2, self.g = check_positive(l1, "l1"), check_positive(l2, "l2"), check_positive(g, "g")
        if not 0 < max_angle <= math.pi:
            raise ValueError(f"max_angle must be in (0, pi], got {max_angle!r}")
        self.max_angle = float(max_angle)
        self.substeps = check_count(substeps, "substeps")

    def _denominator(self, d: torch.Tensor) -> torch.Tensor:
        return self.l1 * self.l2 * (self.m1 + self.m2 * torch.sin(d) ** 2)

    def energy(self, state: torch.Tensor) -> torch.Tensor:
        t1, t2, p1, p2 = check_state(state, 4).unbind(-1)
        m1, m2, l1, l2, g = self.m1, self.m2, self.l1, self.l2, self.g
        d = t1 - t2
        kinetic = ((l2**2 * m2 * p1**2 + l1**2 * (m1 + m2) * p2**2 - 2 * m2 * l1 * l2 * p1 * p2 * torch.cos(d))
                   / (2 * l1 * l2 * m2 * self._denominator(d)))
        return kinetic - (m1 + m2) * g * l1 * torch.cos(t1) - m2 * g * l2 * torch.cos(t2)

    def vector_field(self, state: torch.Tensor) -> torch.Tensor:
        t1, t2, p1, p2 = state.unbind(-1)
        m1, m2, l1, l2, g = self.m1, self.m2, self.l1, self.l2, self.g
        d = t1 - t2
        cos_d, sin_d = torch.cos(d), torch.sin(d)
        c0 = self._denominator(d)
        dt1 = (l2 * p1 - l1 * p2 * cos_d) / (l1 * c0)
        dt2 = (l1 * (m1 + m2) * p2 - l2 * m2 * p1 * cos_d) / (l2 * m2 * c0)
        c1 = p1 * p2 * sin_d / c0
        c2 = ((l2**2 * m2 * p1**2 + l1**2 * (m1 + m2) * p2**2 - 2 * l1 * l2 * m2 * p1 * p2 * cos_d)
              * torch.sin(2 * d) / (2 * c0**2))
        dp1 = -(m1 + m2) * g * l1 * torch.sin(t1) - c1 + c2
        dp2 = -m2 * g * l2 * torch.sin(t2) + c1 - c2
        return torch.stack([dt1, dt2, dp1, dp2], dim=-1)

    def reference_trajectory(self, state0: torch.Tensor, n_samples: int, dt: float) -> torch.Tensor:
        state0 = check_state(state0, 4, "state0")
        check_count(n_samples, "n_samples")
        return rk4_trajectory(self.vector_field, state0, check_positive(dt, "dt"), n_samples,
                              substeps=max(1, round(self.substeps * dt)))

    def sample_initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        check_count(n, "n")
        angles = (2 * torch.rand(n, 2, generator=generator, dtype=torch.float64) - 1) * self.max_angle
        return torch.cat([angles, torch.zeros(n, 2, dtype=torch.float64)], dim=-1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "m1": self.m1, "m2": self.m2, "l1": self.l1, "l2": self.l2, "g": self.g,
                "max_angle": self.max_angle, "substeps": self.substeps}

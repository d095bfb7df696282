"""The Kepler two-body problem in its centre-of-mass frame, solved exactly through Kepler's equation.

Two bodies of total mass ``M`` in a plane reduce to one relative coordinate ``q = r_2 - r_1`` (2D) with reduced mass
``mu``; in units where ``mu = 1`` and ``G M = gm``: ``H = |p|^2 / 2 - gm / |q|`` (``n_dof = 2``; the bodies sit at
``r_1 = -m_2 / M q``, ``r_2 = m_1 / M q``). Conserved: the energy, the angular momentum ``L = q_x p_y - q_y p_x``
and the Runge-Lenz vector ``A = p x L - gm q / |q|`` (pointing at the pericentre, ``|A| = gm e``).

The reference solution is exact: from the orbital elements of the initial state (semi-major axis ``a``,
eccentricity ``e``, the pericentre direction) the mean anomaly advances as ``n t`` with ``n = sqrt(gm / a^3)``,
Kepler's equation ``E - e sin E = M`` is solved by Newton's method to rounding, and the position and momentum follow
from ``E``. Only bound orbits (``H < 0``) are allowed. The system is integrable but not separable in Cartesian
coordinates: both angle frequencies equal ``n`` (the radial and angular periods coincide), which is what
:meth:`Kepler.analytic_frequencies` returns.

Examples:
    >>> import torch
    >>> from workbench.dynamics.kepler import Kepler
    >>> orbit = Kepler().reference_trajectory(torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64), 3, 1.0)
    >>> orbit.shape, round(float(orbit[0, 2, :2].norm()), 12)   # the circular orbit keeps radius 1
    (torch.Size([1, 3, 4]), 1.0)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from workbench.dynamics.systems import DynamicalSystem, check_count, check_positive, check_state

__all__ = ["Kepler"]


class Kepler(DynamicalSystem):
    """Relative motion of two bodies (module docstring); ``gm`` = G (m_1 + m_2) in units of the reduced mass.

    Initial states: radius uniform in ``[r_min, r_max]``, random direction; speed ``sqrt(gm / r) (1 + u)``,
    ``u`` uniform in ``[-speed_spread, speed_spread]``, at an angle to the tangent uniform in
    ``[-radial_angle, radial_angle]`` radians; eccentricities stay below about 0.5 with the defaults.
    """

    name = "kepler"
    n_dof = 2
    integrable = True

    def __init__(self, gm: float = 1.0, r_min: float = 0.7, r_max: float = 1.3, speed_spread: float = 0.2,
                 radial_angle: float = 0.3) -> None:
        self.gm = check_positive(gm, "gm")
        self.r_min, self.r_max = check_positive(r_min, "r_min"), check_positive(r_max, "r_max")
        if self.r_max < self.r_min:
            raise ValueError(f"r_max must be >= r_min, got {r_max!r} < {r_min!r}")
        if not 0 <= speed_spread < 0.4:
            raise ValueError(f"speed_spread must be in [0, 0.4) (bound orbits), got {speed_spread!r}")
        if not 0 <= radial_angle < math.pi / 2:
            raise ValueError(f"radial_angle must be in [0, pi/2), got {radial_angle!r}")
        self.speed_spread, self.radial_angle = float(speed_spread), float(radial_angle)

    def energy(self, state: torch.Tensor) -> torch.Tensor:
        q, p = self.split(check_state(state, 4))
        return 0.5 * (p * p).sum(-1) - self.gm / q.norm(dim=-1)

    def angular_momentum(self, state: torch.Tensor) -> torch.Tensor:
        """``L = q_x p_y - q_y p_x`` ``[...]``."""
        q, p = self.split(check_state(state, 4))
        return q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0]

    def runge_lenz(self, state: torch.Tensor) -> torch.Tensor:
        """``A = p x L - gm q / |q|`` ``[..., 2]``."""
        q, p = self.split(check_state(state, 4))
        ang = self.angular_momentum(state)[..., None]
        cross = torch.stack([p[..., 1], -p[..., 0]], dim=-1) * ang
        return cross - self.gm * q / q.norm(dim=-1, keepdim=True)

    def conserved(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        a = self.runge_lenz(state)
        return {**super().conserved(state), "angular_momentum": self.angular_momentum(state),
                "runge_lenz_x": a[..., 0], "runge_lenz_y": a[..., 1]}

    def vector_field(self, state: torch.Tensor) -> torch.Tensor:
        q, p = self.split(state)
        r = q.norm(dim=-1, keepdim=True)
        return torch.cat([p, -self.gm * q / r**3], dim=-1)

    def mean_motion(self, state: torch.Tensor) -> torch.Tensor:
        """``n = sqrt(gm / a^3)`` ``[...]``; ValueError for an unbound state (``H >= 0``)."""
        energy = self.energy(state)
        if bool((energy >= 0).any()):
            raise ValueError("state must describe bound orbits (energy < 0); got energy >= 0")
        a = -self.gm / (2 * energy)
        return torch.sqrt(self.gm / a**3)

    def analytic_frequencies(self, state: torch.Tensor) -> torch.Tensor:
        """``(n, n)`` ``[..., 2]``: the radial and angular frequencies, degenerate for the Kepler potential."""
        n = self.mean_motion(state)
        return torch.stack([n, n], dim=-1)

    def evolve(self, state: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """The exact state ``[..., 4]`` a time ``t`` (broadcastable to ``[...]``) after ``state [..., 4]``."""
        state = check_state(state, 4)
        q, p = self.split(state)
        n = self.mean_motion(state)
        a = -self.gm / (2 * self.energy(state))
        ang = self.angular_momentum(state)
        lenz = self.runge_lenz(state)
        e = lenz.norm(dim=-1) / self.gm
        circular = (e < 1e-12)[..., None]
        x_hat = torch.where(circular, q / q.norm(dim=-1, keepdim=True), lenz / lenz.norm(dim=-1, keepdim=True)
                            .clamp_min(1e-300))
        sense = torch.sign(ang)[..., None]
        y_hat = sense * torch.stack([-x_hat[..., 1], x_hat[..., 0]], dim=-1)
        b = a * torch.sqrt((1 - e * e).clamp_min(0.0))
        x0, y0 = (q * x_hat).sum(-1), (q * y_hat).sum(-1)
        ecc0 = torch.atan2(y0 / b, x0 / a + e)
        mean = ecc0 - e * torch.sin(ecc0) + n * torch.as_tensor(t, dtype=q.dtype)
        ecc = _solve_kepler(mean, e)
        cos_e, sin_e = torch.cos(ecc), torch.sin(ecc)
        rate = n / (1 - e * cos_e)
        x, y = a * (cos_e - e), b * sin_e
        vx, vy = -a * sin_e * rate, b * cos_e * rate
        x_hat, y_hat = x_hat.expand(*x.shape, 2), y_hat.expand(*x.shape, 2)
        pos = x[..., None] * x_hat + y[..., None] * y_hat
        mom = vx[..., None] * x_hat + vy[..., None] * y_hat
        return torch.cat([pos, mom], dim=-1)

    def reference_trajectory(self, state0: torch.Tensor, n_samples: int, dt: float) -> torch.Tensor:
        state0 = check_state(state0, 4, "state0")
        check_count(n_samples, "n_samples")
        times = torch.arange(n_samples, dtype=state0.dtype) * check_positive(dt, "dt")
        return self.evolve(state0[..., None, :], times)

    def sample_initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        check_count(n, "n")

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)

        r, phi = uniform(self.r_min, self.r_max), uniform(0.0, 2 * math.pi)
        speed = torch.sqrt(self.gm / r) * (1 + uniform(-self.speed_spread, self.speed_spread))
        tilt = uniform(-self.radial_angle, self.radial_angle)
        radial = torch.stack([torch.cos(phi), torch.sin(phi)], dim=-1)
        tangent = torch.stack([-torch.sin(phi), torch.cos(phi)], dim=-1)
        q = r[:, None] * radial
        p = speed[:, None] * (torch.cos(tilt)[:, None] * tangent + torch.sin(tilt)[:, None] * radial)
        return torch.cat([q, p], dim=-1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "gm": self.gm, "r_min": self.r_min, "r_max": self.r_max,
                "speed_spread": self.speed_spread, "radial_angle": self.radial_angle}


def _solve_kepler(mean: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """The eccentric anomaly ``E`` with ``E - e sin E = mean`` (Newton's method from ``mean + e sin mean``;
    quadratic convergence for ``e < 1``; stops at rounding or after 60 iterations)."""
    e = torch.broadcast_to(e, mean.shape)
    mean = torch.remainder(mean, 2 * math.pi)
    ecc = mean + e * torch.sin(mean)
    for _ in range(60):
        delta = (ecc - e * torch.sin(ecc) - mean) / (1 - e * torch.cos(ecc))
        ecc = ecc - delta
        if float(delta.abs().max()) < 1e-15:
            break
    return ecc

"""The Action-Angle Network (Daigavane, Kosmala, Cranmer, Smidt, Ho; arXiv 2211.15338) in PyTorch.

A learned canonical transformation :class:`~workbench.dynamics.symplectic.SymplecticEncoder` maps a state
``(q, p) [..., 2n]`` to latent canonical pairs ``(x_k, y_k)``, read in polar form per degree of freedom:
action ``J_k = (x_k^2 + y_k^2) / 2`` and angle ``theta_k = atan2(x_k, y_k)``. In these coordinates integrable
dynamics are trivial: the actions stay fixed and each angle advances by ``omega_k(J) t`` with learned frequencies
``omega(J) = omega_0 + g(J)`` (``g`` a small MLP whose last layer starts at zero). A prediction ``jump`` steps
ahead rotates every pair by ``omega_k(J) * jump * dt`` and decodes with the encoder's exact inverse: one forward
pass for any jump, so its cost does not depend on the jump (continuous in time: any real ``jump >= 0``).

For unit-mass harmonic oscillators one :class:`~workbench.dynamics.symplectic.PointTransform` can represent the
exact action-angle map (normal modes scaled by ``sqrt(omega)``), and the learned ``omega`` should then equal the
normal-mode frequencies.

Examples:
    >>> import torch
    >>> from workbench.dynamics.action_angle import ActionAngleNetwork
    >>> _ = torch.manual_seed(0)
    >>> model = ActionAngleNetwork(2).double()
    >>> state = torch.randn(5, 4, dtype=torch.float64)
    >>> actions, angles = model.to_action_angle(state)
    >>> later = model(state, torch.full((5,), 50.0, dtype=torch.float64))
    >>> bool((model.to_action_angle(later)[0] - actions).abs().max() < 1e-12)   # actions are conserved exactly
    True
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.dynamics.prediction import check_prediction_inputs
from workbench.dynamics.symplectic import SymplecticEncoder
from workbench.dynamics.systems import check_count, check_positive, check_state

__all__ = ["ActionAngleNetwork"]


class ActionAngleNetwork(nn.Module):
    """Action-Angle Network for ``n_dof`` degrees of freedom (module docstring).

    Args:
        n_layers, hidden: the encoder's shear pairs and their hidden units.
        frequency_hidden: hidden units of the action-dependent frequency correction ``g(J)``.
        initial_frequencies: ``omega_0`` at initialization, evenly spaced over this ``(low, high)`` range.
        dt: the sampling step; ``jump`` is in units of it.
    """

    def __init__(self, n_dof: int, n_layers: int = 2, hidden: int = 32, frequency_hidden: int = 32,
                 initial_frequencies: tuple[float, float] = (0.3, 1.0), dt: float = 1.0) -> None:
        super().__init__()
        self.n_dof = check_count(n_dof, "n_dof")
        self.dt = check_positive(dt, "dt")
        self.encoder = SymplecticEncoder(n_dof, n_layers, hidden)
        low, high = initial_frequencies
        self.base_frequency = nn.Parameter(torch.linspace(low, high, n_dof) if n_dof > 1 else torch.tensor([low]))
        self.frequency_net = nn.Sequential(nn.Linear(n_dof, check_count(frequency_hidden, "frequency_hidden")),
                                           nn.Tanh(), nn.Linear(frequency_hidden, n_dof))
        nn.init.zeros_(self.frequency_net[-1].weight)
        nn.init.zeros_(self.frequency_net[-1].bias)

    def frequencies(self, actions: torch.Tensor) -> torch.Tensor:
        """Angle frequencies ``omega(J) [..., n]`` (radians per unit time) at actions ``[..., n]``."""
        return self.base_frequency + self.frequency_net(actions)

    @torch.no_grad()
    def refit_frequencies(self, actions: torch.Tensor, targets: torch.Tensor, ridge: float = 1e-6) -> None:
        """Refit the linear part of ``omega(J)`` in closed form: ``omega_0`` and the last layer of ``g`` (both linear
        in the frequency features ``[1, tanh(W_1 J + b_1)]``) minimise, per degree of freedom ``k``,
        ``mean_m (omega_k(J_m) - targets_mk)^2 + ridge * |theta_k - theta_k_now|^2`` (a ridge pull toward the
        current weights; ``ridge`` relative to the features' unit scale). ``actions`` and ``targets`` are ``[M, n]``
        (float, finite, ``M >= 1``); :func:`workbench.dynamics.calibration.calibrate_frequencies` calls this with
        frequencies measured from encoded angles. The encoder is untouched, so actions and the symplectic map are
        unchanged."""
        actions = check_state(actions, self.n_dof, "actions")
        targets = check_state(targets, self.n_dof, "targets")
        if actions.dim() != 2 or actions.shape != targets.shape or len(actions) == 0:
            raise ValueError(f"actions and targets must both have shape [M, {self.n_dof}] with M >= 1, got "
                             f"{tuple(actions.shape)} and {tuple(targets.shape)}")
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not 0 <= ridge < float("inf"):
            raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
        hidden, head = self.frequency_net[0], self.frequency_net[-1]
        feats = torch.cat([torch.ones_like(actions[:, :1]), torch.tanh(hidden(actions))], dim=-1)   # [M, H + 1]
        gram = feats.T @ feats / len(feats) + ridge * torch.eye(feats.shape[1], dtype=feats.dtype)
        now = torch.cat([(self.base_frequency + head.bias)[:, None], head.weight], dim=-1)     # [n, H + 1]
        theta = torch.linalg.solve(gram, (feats.T @ targets / len(feats) + ridge * now.T)).T   # [n, H + 1]
        head.weight.copy_(theta[:, 1:])
        self.base_frequency.copy_(theta[:, 0] - head.bias)

    def to_action_angle(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(actions, angles)``, each ``[..., n]`` (angles in ``(-pi, pi]``), of ``state [..., 2n]``."""
        z = self.encoder(check_state(state, 2 * self.n_dof))
        x, y = z[..., : self.n_dof], z[..., self.n_dof :]
        return 0.5 * (x * x + y * y), torch.atan2(x, y)

    def from_action_angle(self, actions: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        """The state ``[..., 2n]`` with these actions and angles (the exact inverse of :meth:`to_action_angle`
        for actions ``>= 0``)."""
        radius = torch.sqrt(2 * actions.clamp_min(0.0))
        return self.encoder.inverse(torch.cat([radius * torch.sin(angles), radius * torch.cos(angles)], dim=-1))

    def forward(self, state: torch.Tensor, jump: torch.Tensor | float) -> torch.Tensor:
        """The state ``[B, 2n]`` a time ``jump * dt`` after ``state [B, 2n]`` (``jump [B]`` or a number, real
        ``>= 0``)."""
        state, jump = check_prediction_inputs(state, jump, 2 * self.n_dof, integer=False)
        z = self.encoder(state)
        x, y = z[..., : self.n_dof], z[..., self.n_dof :]
        phase = self.frequencies(0.5 * (x * x + y * y)) * (jump * self.dt)[:, None]
        c, s = torch.cos(phase), torch.sin(phase)
        return self.encoder.inverse(torch.cat([x * c + y * s, y * c - x * s], dim=-1))

"""Frequency calibration of the Action-Angle Network: a closed-form final step of its training.

Gradient training on jumps of 1-10 steps pins the learned frequencies ``omega(J)`` only as well as a phase over 10
time units can: a frequency error ``d omega`` costs a phase ``d omega * jump * dt``, invisible at jump 1 and the
dominant error at jump 50 (measured on the coupled oscillators: ``omega(J)`` scattered by 1e-3 rad per unit time
across training trajectories, the jump-50 MSE 9x the jump-1 MSE). The encoded angles along a whole training
trajectory measure the frequency over the full training window (100 time units in the paper's protocol) instead:

1. encode every state of each training trajectory ``[B, T, 2n]`` into actions and angles;
2. unwrap the angles relative to the model's own prediction: each step's increment is
   ``omega(J_t) dt + wrap(theta_{t+1} - theta_t - omega(J_t) dt)`` (``wrap`` to ``[-pi, pi)``), which is the true
   advance whenever the model's frequency is off by less than ``pi / dt`` (always, after any training);
3. fit a straight line to each trajectory's unwrapped angles by least squares: its slope is that trajectory's
   measured frequency, one per degree of freedom;
4. refit the linear part of ``omega(J)`` (:meth:`ActionAngleNetwork.refit_frequencies`: ``omega_0`` and the last
   layer of ``g``) so that ``omega`` at every training state equals its trajectory's measured frequency (ridge
   least squares). ``omega`` stays a function of the actions only; the encoder, the actions and the symplectic map
   are unchanged, and only training states are used;
5. with ``validation`` pairs (held-out states, e.g. the dataset's validation section at the training jumps), keep the
   refit only if it does not raise their state MSE, and otherwise restore the trained frequencies. A straight line
   through the angles is the right model only where the angles do advance uniformly: on the double pendulum (no
   action-angle coordinates) the refit fits noise and extrapolates badly (measured: jump-1 MSE 0.27 to 1.2), and
   this check refuses it.

Examples:
    >>> import torch
    >>> from workbench.dynamics import ActionAngleNetwork, coupled_oscillators
    >>> from workbench.dynamics.calibration import calibrate_frequencies
    >>> chain = coupled_oscillators(2)
    >>> model = ActionAngleNetwork(2, n_layers=0).double()     # identity encoder: angles of (q, p) pairs
    >>> traj = chain.reference_trajectory(chain.sample_initial_states(3, torch.Generator().manual_seed(0)), 50, 1.0)
    >>> report = calibrate_frequencies(model, traj)
    >>> report.measured.shape, report.after.shape
    (torch.Size([3, 2]), torch.Size([3, 2]))
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workbench.dynamics.action_angle import ActionAngleNetwork
from workbench.dynamics.systems import check_state

__all__ = ["FrequencyCalibration", "calibrate_frequencies", "measured_frequencies", "unwrapped_angles"]


@dataclass
class FrequencyCalibration:
    """What :func:`calibrate_frequencies` did, all ``[B, n]`` float64 (``B`` trajectories, ``n`` degrees of
    freedom): ``measured`` the fitted angle slopes (radians per unit time), ``before`` and ``after`` the model's
    ``omega(J)`` averaged along each trajectory before and after the refit; ``fit_rms`` ``[n]`` the root-mean-square
    residual of the straight-line fits (radians). ``accepted``: whether the refit was kept; ``validation_before`` and
    ``validation_after``: the validation state MSE without and with the refit (None without validation pairs).
    ``after`` is the refit's result even when it was not kept."""

    measured: torch.Tensor
    before: torch.Tensor
    after: torch.Tensor
    fit_rms: torch.Tensor
    accepted: bool = True
    validation_before: float | None = None
    validation_after: float | None = None

    def summary(self) -> dict[str, float | bool | None]:
        """Largest ``|before - measured|`` and ``|after - measured|``, the largest fit residual, ``accepted`` and
        the validation MSEs."""
        return {"max_abs_error_before": float((self.before - self.measured).abs().max()),
                "max_abs_error_after": float((self.after - self.measured).abs().max()),
                "max_fit_rms": float(self.fit_rms.max()), "accepted": self.accepted,
                "validation_mse_before": self.validation_before, "validation_mse_after": self.validation_after}


def _check_trajectories(model: ActionAngleNetwork, trajectories: torch.Tensor) -> torch.Tensor:
    if not isinstance(model, ActionAngleNetwork):
        raise ValueError(f"model must be an ActionAngleNetwork, got {type(model).__name__}")
    trajectories = check_state(trajectories, 2 * model.n_dof, "trajectories")
    if trajectories.dim() != 3 or trajectories.shape[0] < 1 or trajectories.shape[1] < 3:
        raise ValueError(f"trajectories must have shape [B, T, {2 * model.n_dof}] with B >= 1 and T >= 3 samples "
                         f"spaced by the model's dt, got {tuple(trajectories.shape)}")
    return trajectories


@torch.no_grad()
def unwrapped_angles(model: ActionAngleNetwork, trajectories: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(actions, angles)``, each ``[B, T, n]``, of ``trajectories [B, T, 2n]`` sampled every ``model.dt``; the
    angles unwrapped relative to the model's predicted advance (module docstring, step 2), starting in
    ``(-pi, pi]``."""
    trajectories = _check_trajectories(model, trajectories)
    actions, angles = model.to_action_angle(trajectories)
    advance = model.frequencies(actions[:, :-1]) * model.dt                      # [B, T-1, n]
    surprise = torch.remainder(angles[:, 1:] - angles[:, :-1] - advance + math.pi, 2 * math.pi) - math.pi
    steps = torch.cumsum(advance + surprise, dim=1)
    return actions, torch.cat([angles[:, :1], angles[:, :1] + steps], dim=1)


@torch.no_grad()
def measured_frequencies(model: ActionAngleNetwork, trajectories: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(actions [B, T, n], slopes [B, n], fit_rms [n])``: least-squares slopes (radians per unit time) of the
    unwrapped encoded angles of ``trajectories [B, T, 2n]`` against time, and the fits' residual RMS."""
    actions, angles = unwrapped_angles(model, trajectories)
    t = torch.arange(angles.shape[1], dtype=angles.dtype) * model.dt
    tc = (t - t.mean())[None, :, None]
    centred = angles - angles.mean(dim=1, keepdim=True)
    slopes = (centred * tc).sum(1) / (tc * tc).sum()
    residual = centred - slopes[:, None, :] * tc
    return actions, slopes, residual.pow(2).mean(dim=(0, 1)).sqrt()


def _validation_mse(model: ActionAngleNetwork, pairs: Sequence[torch.Tensor]) -> float:
    x0, jump, x1 = pairs
    return float(((model(x0, jump) - x1) ** 2).mean())


def calibrate_frequencies(model: ActionAngleNetwork, trajectories: torch.Tensor, ridge: float = 1e-6,
                          validation: Sequence[torch.Tensor] | None = None) -> FrequencyCalibration:
    """Refit ``model``'s frequencies in place to the angle slopes measured along ``trajectories [B, T, 2n]``
    (training states sampled every ``model.dt``; module docstring); ``ridge`` as in
    :meth:`ActionAngleNetwork.refit_frequencies`; ``validation = (x0 [P, 2n], jump [P], x1 [P, 2n])`` held-out pairs:
    the refit is kept only if their state MSE does not rise (step 5).

    Raises:
        ValueError: ``model`` not an Action-Angle Network, ``trajectories`` of the wrong shape, non-finite, or
            shorter than 3 samples, a bad ``ridge``, or ``validation`` not three tensors with matching first sizes.
    """
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 3:
            raise ValueError("validation must be a triple (x0 [P, 2n], jump [P], x1 [P, 2n]) of tensors, got "
                             f"{type(validation).__name__}")
        check_state(validation[2], 2 * model.n_dof, "validation x1")
        if validation[2].shape[:1] != validation[0].shape[:1]:
            raise ValueError("validation x0 and x1 must have the same number of pairs, got "
                             f"{tuple(validation[0].shape)} and {tuple(validation[2].shape)}")
    actions, slopes, rms = measured_frequencies(model, trajectories)
    with torch.no_grad():
        saved = copy.deepcopy(model.state_dict())
        score_before = None if validation is None else _validation_mse(model, validation)
        before = model.frequencies(actions).mean(dim=1)
        targets = slopes[:, None, :].expand_as(actions)
        model.refit_frequencies(actions.reshape(-1, model.n_dof), targets.reshape(-1, model.n_dof), ridge)
        after = model.frequencies(actions).mean(dim=1)
        score_after = None if validation is None else _validation_mse(model, validation)
        accepted = score_before is None or score_after <= score_before
        if not accepted:
            model.load_state_dict(saved)
    return FrequencyCalibration(slopes, before, after, rms, accepted, score_before, score_after)

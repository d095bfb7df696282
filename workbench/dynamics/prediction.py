"""The input contract of every learned simulator of :mod:`workbench.dynamics`: ``model(state, jump)``.

``state [B, 2n]`` is a finite floating-point tensor; ``jump [B]`` (or a number, broadcast) counts time in sampling
steps ``dt``, so the prediction is the state at time ``jump * dt`` later. Steppers (Euler update, Hamiltonian
network) need whole steps: a jump that is not a non-negative integer raises ValueError. The Action-Angle Network and
the Neural ODE are continuous in time and take any finite ``jump >= 0``.
"""

from __future__ import annotations

import torch

from workbench.dynamics.systems import check_state

__all__ = ["check_prediction_inputs"]


def check_prediction_inputs(state: torch.Tensor, jump: torch.Tensor | float, dim: int,
                            integer: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(state [B, dim], jump [B])`` checked (module docstring); ``integer`` demands whole steps."""
    state = check_state(state, dim)
    if state.dim() != 2:
        raise ValueError(f"state must have shape [B, {dim}], got {tuple(state.shape)}")
    jump = torch.as_tensor(jump, dtype=state.dtype)
    if jump.dim() == 0:
        jump = jump.expand(state.shape[0])
    if jump.shape != state.shape[:1]:
        raise ValueError(f"jump must be a number or have shape [{state.shape[0]}], got {tuple(jump.shape)}")
    if not bool(torch.isfinite(jump).all()) or bool((jump < 0).any()):
        raise ValueError(f"jump must be finite and >= 0 (time in steps of dt), got {jump.tolist()[:8]}")
    if integer and not bool((jump == jump.round()).all()):
        raise ValueError("jump must be a whole number of steps of dt for a stepping model (Euler update, "
                         f"Hamiltonian network), got {jump.tolist()[:8]}")
    return state, jump

"""Exponential moving average of model parameters (evaluated in place of the raw weights when enabled)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["ExponentialMovingAverage"]


class ExponentialMovingAverage:
    """Shadow copy ``s <- decay * s + (1 - decay) * p`` of every floating-point parameter of ``model``.

    Use :meth:`update` after each optimizer step and :meth:`applied` as a context manager to evaluate with the
    averaged weights (the raw weights are restored on exit).
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.model = model
        self.decay = float(decay)
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters() if p.is_floating_point()}

    @torch.no_grad()
    def update(self) -> None:
        for name, param in self.model.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(param.detach(), 1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        params = dict(self.model.named_parameters())
        backup = {n: params[n].detach().clone() for n in self.shadow}
        with torch.no_grad():
            for n, s in self.shadow.items():
                params[n].copy_(s)
        try:
            yield
        finally:
            with torch.no_grad():
                for n, b in backup.items():
                    params[n].copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: s.clone() for n, s in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) ^ set(state)
        if missing:
            raise ValueError(f"EMA state does not match the model's parameters: {sorted(missing)}")
        for n, s in state.items():
            self.shadow[n].copy_(s)

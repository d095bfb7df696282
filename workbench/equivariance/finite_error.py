"""Finite-transform equivariance error: ``|| f(rho_in(g) x) - rho_out(g) f(x) ||`` over random group elements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from workbench.checks import check_tensor
from workbench.equivariance.actions import Action
from workbench.equivariance.lie_derivative import check_representations

__all__ = ["EquivarianceError", "equivariance_error", "transform_pair"]


@dataclass(frozen=True)
class EquivarianceError:
    """Per-element errors of a model under finite group elements, and their statistics.

    Attributes:
        parameters: ``(n, k)`` float64 Lie-algebra coordinates of the group elements used.
        absolute: ``(n,)`` ``||f(g x) - g f(x)||`` (Frobenius norm over the whole output).
        relative: ``(n,)`` ``absolute / ||g f(x)||``.
    """

    parameters: torch.Tensor
    absolute: torch.Tensor
    relative: torch.Tensor

    @property
    def mean_relative(self) -> float:
        return float(self.relative.mean())

    @property
    def max_relative(self) -> float:
        return float(self.relative.max())

    @property
    def mean_absolute(self) -> float:
        return float(self.absolute.mean())

    @property
    def max_absolute(self) -> float:
        return float(self.absolute.max())

    def summary(self) -> dict[str, float]:
        """``{mean,max,median}_relative``, ``{mean,max}_absolute`` and ``n_elements``."""
        return {
            "mean_relative": self.mean_relative,
            "max_relative": self.max_relative,
            "median_relative": float(self.relative.median()),
            "mean_absolute": self.mean_absolute,
            "max_absolute": self.max_absolute,
            "n_elements": int(self.relative.numel()),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per group element: algebra coordinates ``theta_i`` and the two errors."""
        frame = pd.DataFrame(self.parameters.numpy(), columns=[f"theta_{i}" for i in range(self.parameters.shape[1])])
        frame["absolute"] = self.absolute.numpy()
        frame["relative"] = self.relative.numpy()
        return frame


def transform_pair(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, rho_in: Action,
                   rho_out: Action | None, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(rho_in(g) x), rho_out(g) f(x))`` for the element ``g = exp(sum theta_i A_i)`` (no gradients)."""
    rho_in, rho_out = check_representations(rho_in, rho_out)
    with torch.no_grad():
        transformed_then_f = f(rho_in.act(x, theta))
        f_then_transformed = rho_out.act(f(x), theta)
    return transformed_then_f, f_then_transformed


def equivariance_error(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, rho_in: Action,
                       rho_out: Action | None = None, group_samples: int | torch.Tensor = 16,
                       *, seed: int = 0) -> EquivarianceError:
    """Equivariance error of ``model`` at input ``x`` under finite group elements.

    Args:
        model: function of one tensor returning one tensor.
        x: input tensor (floating point, finite).
        rho_in, rho_out: actions on inputs and outputs (``rho_out=None``: invariant outputs).
        group_samples: number of random elements (drawn by ``rho_in.sample_parameters``) or an ``(n, k)`` tensor
            of Lie-algebra coordinates.
        seed: seed of the random elements.

    Returns:
        :class:`EquivarianceError` with per-element absolute and relative errors.
    """
    rho_in, rho_out = check_representations(rho_in, rho_out)
    check_tensor(x, "x", dtype="float", finite=True)
    if isinstance(group_samples, bool) or not isinstance(group_samples, int | torch.Tensor):
        raise TypeError("group_samples must be a positive int or an (n, k) tensor of algebra coordinates")
    if isinstance(group_samples, int):
        if group_samples < 1:
            raise ValueError(f"group_samples must be >= 1, got {group_samples}")
        params = rho_in.sample_parameters(group_samples, torch.Generator().manual_seed(seed))
    else:
        params = group_samples.to(torch.float64)
        check_tensor(params, "group_samples", shape=("n", rho_in.num_generators), hint="algebra coordinates")
        if params.shape[0] == 0:
            raise ValueError("group_samples must hold at least one group element (n >= 1), got n = 0")
    absolute, relative = [], []
    with torch.no_grad():
        fx = model(x)
        for theta in params:
            lhs = model(rho_in.act(x, theta))
            rhs = rho_out.act(fx, theta)
            err = (lhs - rhs).norm().to(torch.float64)
            absolute.append(err)
            relative.append(err / rhs.norm().to(torch.float64).clamp(min=torch.finfo(torch.float64).tiny))
    return EquivarianceError(parameters=params, absolute=torch.stack(absolute), relative=torch.stack(relative))

"""Invertible symplectic maps of phase space, built from layers whose inverses are exact.

A state ``[..., 2n]`` is ``(q, p)``. Every layer here is a canonical (symplectic) transformation, so its Jacobian
``J`` satisfies ``J^T Omega J = Omega`` with ``Omega = [[0, I], [-I, 0]]``, and has a closed-form inverse:

- :class:`PointTransform`: ``q -> A q``, ``p -> A^{-T} p`` with ``A = exp(X)`` (any invertible matrix with positive
  determinant reachable; the inverse uses ``exp(-X)``), the linear change of coordinates that can find normal modes;
- :class:`GradientShear`: ``q -> q + grad V(p)`` (``kind="q"``) or ``p -> p + grad V(q)`` (``kind="p"``) with a
  learned scalar potential :class:`ScalarPotential` (a symmetric linear part plus a one-hidden-layer ``log cosh``
  network); the inverse subtracts the same gradient;
- :class:`SymplecticEncoder`: a point transform followed by ``n_layers`` pairs of gradient shears.

:class:`AdditiveCoupling` (``q -> q + f(p)`` with a general MLP ``f``) is the non-vacuous control: exactly
invertible and volume-preserving, but not symplectic for ``n >= 2`` because ``f`` is not a gradient.
:func:`symplecticity_error` measures ``max |J^T Omega J - Omega|`` with autograd Jacobians.

Examples:
    >>> import torch
    >>> from workbench.dynamics.symplectic import SymplecticEncoder, symplecticity_error
    >>> _ = torch.manual_seed(0)
    >>> enc = SymplecticEncoder(2, n_layers=2, hidden=8, init_scale=0.5).double()
    >>> x = torch.randn(3, 4, dtype=torch.float64)
    >>> bool(symplecticity_error(enc, x) < 1e-12), bool((enc.inverse(enc(x)) - x).abs().max() < 1e-12)
    (True, True)
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.dynamics.systems import check_count, check_state

__all__ = ["AdditiveCoupling", "GradientShear", "PointTransform", "ScalarPotential", "SymplecticEncoder",
           "omega_matrix", "symplecticity_error"]


def omega_matrix(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The symplectic form ``Omega = [[0, I_n], [-I_n, 0]]`` ``[2n, 2n]``."""
    eye, zero = torch.eye(n, dtype=dtype), torch.zeros(n, n, dtype=dtype)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)


class ScalarPotential(nn.Module):
    """``V(x) = x^T S x / 2 + sum_i a_i log cosh(w_i . x + b_i)`` on ``x [..., n]`` with ``S`` symmetric;
    :meth:`gradient` is closed-form: ``S x + W^T (a * tanh(W x + b))``. ``init_scale`` sets the initial ``a`` and
    ``S`` (0: the zero potential)."""

    def __init__(self, n: int, hidden: int = 32, init_scale: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, n) / n**0.5)
        self.bias = nn.Parameter(torch.randn(hidden))
        self.amplitude = nn.Parameter(init_scale * torch.randn(hidden) / hidden**0.5)
        self.quadratic = nn.Parameter(init_scale * torch.randn(n, n) / n)

    def _sym(self) -> torch.Tensor:
        return 0.5 * (self.quadratic + self.quadratic.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``V(x)`` ``[...]``."""
        pre = x @ self.weight.T + self.bias
        logcosh = pre.abs() + torch.log1p(torch.exp(-2 * pre.abs())) - torch.log(torch.tensor(2.0, dtype=x.dtype))
        return 0.5 * ((x @ self._sym()) * x).sum(-1) + (self.amplitude * logcosh).sum(-1)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """``dV/dx`` ``[..., n]``."""
        return x @ self._sym() + (self.amplitude * torch.tanh(x @ self.weight.T + self.bias)) @ self.weight


class PointTransform(nn.Module):
    """``(q, p) -> (A q, A^{-T} p)``, ``A = matrix_exp(X)``; starts near the identity (``X ~ init_scale``)."""

    def __init__(self, n: int, init_scale: float = 0.0) -> None:
        super().__init__()
        self.n = n
        self.generator = nn.Parameter(init_scale * torch.randn(n, n) / n**0.5)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        a = torch.linalg.matrix_exp(self.generator)
        a_inv = torch.linalg.matrix_exp(-self.generator)
        q, p = state[..., : self.n], state[..., self.n :]
        return torch.cat([q @ a.T, p @ a_inv], dim=-1)

    def inverse(self, state: torch.Tensor) -> torch.Tensor:
        a = torch.linalg.matrix_exp(self.generator)
        a_inv = torch.linalg.matrix_exp(-self.generator)
        q, p = state[..., : self.n], state[..., self.n :]
        return torch.cat([q @ a_inv.T, p @ a], dim=-1)


class GradientShear(nn.Module):
    """``q += grad V(p)`` (``kind="q"``) or ``p += grad V(q)`` (``kind="p"``): a symplectic shear."""

    def __init__(self, n: int, kind: str, hidden: int = 32, init_scale: float = 0.0) -> None:
        super().__init__()
        if kind not in ("q", "p"):
            raise ValueError(f"kind must be 'q' or 'p', got {kind!r}")
        self.n, self.kind = n, kind
        self.potential = ScalarPotential(n, hidden, init_scale)

    def _shift(self, state: torch.Tensor, sign: float) -> torch.Tensor:
        q, p = state[..., : self.n], state[..., self.n :]
        if self.kind == "q":
            return torch.cat([q + sign * self.potential.gradient(p), p], dim=-1)
        return torch.cat([q, p + sign * self.potential.gradient(q)], dim=-1)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self._shift(state, 1.0)

    def inverse(self, state: torch.Tensor) -> torch.Tensor:
        return self._shift(state, -1.0)


class AdditiveCoupling(nn.Module):
    """``q += f(p)`` (``kind="q"``) or ``p += f(q)`` with a general two-layer tanh MLP ``f``: invertible, volume
    preserving, NOT symplectic (the control for :func:`symplecticity_error`)."""

    def __init__(self, n: int, kind: str, hidden: int = 32) -> None:
        super().__init__()
        if kind not in ("q", "p"):
            raise ValueError(f"kind must be 'q' or 'p', got {kind!r}")
        self.n, self.kind = n, kind
        self.net = nn.Sequential(nn.Linear(n, hidden), nn.Tanh(), nn.Linear(hidden, n))

    def _shift(self, state: torch.Tensor, sign: float) -> torch.Tensor:
        q, p = state[..., : self.n], state[..., self.n :]
        if self.kind == "q":
            return torch.cat([q + sign * self.net(p), p], dim=-1)
        return torch.cat([q, p + sign * self.net(q)], dim=-1)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self._shift(state, 1.0)

    def inverse(self, state: torch.Tensor) -> torch.Tensor:
        return self._shift(state, -1.0)


class SymplecticEncoder(nn.Module):
    """A learned canonical transformation of ``[..., 2n]``: :class:`PointTransform`, then ``n_layers`` times a
    ``q``-shear and a ``p``-shear (:class:`GradientShear`, ``hidden`` units each); :meth:`inverse` undoes it
    exactly. ``init_scale`` 0 starts at the identity map."""

    def __init__(self, n_dof: int, n_layers: int = 2, hidden: int = 32, init_scale: float = 0.0) -> None:
        super().__init__()
        self.n_dof = check_count(n_dof, "n_dof")
        check_count(n_layers, "n_layers", 0)
        check_count(hidden, "hidden")
        layers: list[nn.Module] = [PointTransform(n_dof, init_scale)]
        for _ in range(n_layers):
            layers += [GradientShear(n_dof, "q", hidden, init_scale), GradientShear(n_dof, "p", hidden, init_scale)]
        self.layers = nn.ModuleList(layers)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """Latent canonical coordinates ``[..., 2n]`` of ``state [..., 2n]``."""
        for layer in self.layers:
            state = layer(state)
        return state

    def inverse(self, latent: torch.Tensor) -> torch.Tensor:
        """The state ``[..., 2n]`` whose encoding is ``latent`` (exact inverse of :meth:`forward`)."""
        for layer in reversed(self.layers):
            latent = layer.inverse(latent)
        return latent


def symplecticity_error(fn: nn.Module, states: torch.Tensor) -> torch.Tensor:
    """``max |J^T Omega J - Omega|`` over ``states [B, 2n]`` (``J = d fn / d state``, autograd, one Jacobian per
    state). Zero to rounding for a canonical transformation; use float64."""
    states = check_state(states, states.shape[-1], "states")
    if states.dim() != 2 or states.shape[-1] % 2:
        raise ValueError(f"states must have shape [B, 2n], got {tuple(states.shape)}")
    omega = omega_matrix(states.shape[-1] // 2, states.dtype)
    worst = torch.zeros((), dtype=states.dtype)
    for x in states:
        jac = torch.autograd.functional.jacobian(fn, x)
        worst = torch.maximum(worst, (jac.T @ omega @ jac - omega).abs().max())
    return worst

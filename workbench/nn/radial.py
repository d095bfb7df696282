"""Radial bases of edge lengths and the radial MLP that turns them into per-edge tensor-product weights.

- :class:`BesselBasis`: NequIP's ``(2 / r_max) * sin(n pi r / r_max) / r``, ``n = 1..num_basis``;
- :class:`PolynomialCutoff`: NequIP's smooth envelope ``1 - (p+1)(p+2)/2 u^p + p(p+2) u^(p+1) - p(p+1)/2 u^(p+2)``
  with ``u = r / r_max`` (0 beyond ``r_max``);
- :class:`GaussianBasis`: ``exp(-(r - mu_k)^2 / (2 sigma^2))`` on an even grid ``mu_k`` with ``sigma`` = spacing;
- :class:`RadialMLP`: a small MLP (SiLU, no biases, variance-preserving initialisation).

All take lengths ``r [...]`` and return ``[..., num_basis]`` (the cutoff returns ``[...]``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from workbench.checks import check_tensor

__all__ = ["BesselBasis", "PolynomialCutoff", "GaussianBasis", "RadialMLP"]


class BesselBasis(torch.nn.Module):
    """NequIP's Bessel basis ``[..., num_basis]`` of lengths ``r [...]``: ``(2 / r_max) sin(n pi r / r_max) / r``
    (finite at r=0 only in the limit; zero-length edges are not expected in a radius graph). ``trainable`` makes
    the frequencies learnable. ``normalize=True`` multiplies by ``r_max^2 / sqrt(6)`` so that every function has
    unit mean square for neighbours uniformly distributed in the ball of radius ``r_max`` (without it the basis
    is ~0.1 in size for ``r_max = 5`` and the radial MLP starts with tiny weights)."""

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = False, normalize: bool = False) -> None:
        super().__init__()
        if not r_max > 0:
            raise ValueError(f"r_max must be > 0, got {r_max}")
        if int(num_basis) < 1:
            raise ValueError(f"num_basis must be >= 1, got {num_basis}")
        self.r_max, self.num_basis = float(r_max), int(num_basis)
        self.trainable = bool(trainable)
        self.prefactor = (2.0 / self.r_max) * (self.r_max**2 / math.sqrt(6.0) if normalize else 1.0)
        n = torch.arange(1, self.num_basis + 1, dtype=torch.get_default_dtype())
        if trainable:
            self.freqs = torch.nn.Parameter(n * math.pi / self.r_max)
        else:
            # integer multiples kept exact under dtype changes; frequencies formed in forward
            self.register_buffer("n", n, persistent=False)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor(r, "r", dtype="float")
        r = r[..., None]
        freqs = self.freqs.to(r.dtype) if self.trainable else self.n.to(r.dtype) * (math.pi / self.r_max)
        return self.prefactor * torch.sin(freqs * r) / r


class PolynomialCutoff(torch.nn.Module):
    """NequIP's polynomial envelope ``[...]``: 1 at r=0, 0 with ``p`` vanishing derivatives at ``r_max``."""

    def __init__(self, r_max: float, p: int = 6) -> None:
        super().__init__()
        if not r_max > 0:
            raise ValueError(f"r_max must be > 0, got {r_max}")
        if int(p) < 1:
            raise ValueError(f"p must be >= 1, got {p}")
        self.r_max, self.p = float(r_max), float(p)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor(r, "r", dtype="float")
        p, u = self.p, r / self.r_max
        out = 1.0 - (p + 1.0) * (p + 2.0) / 2.0 * u.pow(p) + p * (p + 2.0) * u.pow(p + 1.0)
        out = out - p * (p + 1.0) / 2.0 * u.pow(p + 2.0)
        return out * (u < 1.0).to(r.dtype)


class GaussianBasis(torch.nn.Module):
    """Gaussians ``[..., num_basis]`` centred on ``linspace(start, stop, num_basis)``, width = spacing."""

    def __init__(self, start: float = 0.0, stop: float = 5.0, num_basis: int = 16) -> None:
        super().__init__()
        if not stop > start:
            raise ValueError(f"need stop > start, got start={start}, stop={stop}")
        if int(num_basis) < 2:
            raise ValueError(f"num_basis must be >= 2, got {num_basis}")
        self.register_buffer("centers", torch.linspace(start, stop, int(num_basis)))
        self.width = (stop - start) / (int(num_basis) - 1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        check_tensor(r, "r", dtype="float")
        d = (r[..., None] - self.centers.to(r.dtype)) / self.width
        return torch.exp(-0.5 * d * d)


def normalized_silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU scaled to unit second moment on standard normal inputs (e3nn's ``normalize2mom``)."""
    return torch.nn.functional.silu(x) * _SILU_2MOM


def _second_moment_scale(f) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)  # E over N(0, 1)
    values = f(torch.tensor(nodes, dtype=torch.float64)).numpy()
    return float(1.0 / math.sqrt(np.sum(weights * values**2) / math.sqrt(2 * math.pi)))


_SILU_2MOM = _second_moment_scale(torch.nn.functional.silu)


class RadialMLP(torch.nn.Module):
    """MLP ``[..., sizes[0]] -> [..., sizes[-1]]`` with :func:`normalized_silu` between layers (as e3nn's
    FullyConnectedNet), no biases (so that a zero radial embedding, e.g. beyond the cutoff, gives zero weights),
    weights ~ N(0, 1) / sqrt(fan_in)."""

    def __init__(self, sizes: Sequence[int], activation: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list >= 2 positive layer widths, got {sizes}")
        self.sizes = sizes
        self.activation = activation if activation is not None else normalized_silu
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.sizes[0]))
        for i, w in enumerate(self.weights):
            x = x @ (w.to(x.dtype) / math.sqrt(w.shape[0]))
            if i < len(self.weights) - 1:
                x = self.activation(x)
        return x

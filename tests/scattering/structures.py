"""Shared structures of the scattering tests: fcc clusters and crystals."""

from __future__ import annotations

import itertools

import numpy as np
import torch

FCC_BASIS = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def fcc_cluster(a: float, n: int, dtype=torch.float64) -> torch.Tensor:
    """The ``n`` atoms of an fcc lattice (cubic constant ``a``) closest to a lattice site, ``[n, 3]``."""
    m = int(np.ceil((n / 4) ** (1 / 3))) + 2
    grid = np.array(list(itertools.product(range(-m, m + 1), repeat=3)))
    xyz = ((grid[:, None] + FCC_BASIS[None]).reshape(-1, 3)) * a
    xyz = xyz[np.argsort((xyz**2).sum(1), kind="stable")[:n]]
    return torch.tensor(xyz, dtype=dtype)


def random_orthogonal(seed: int, reflect: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=g))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if reflect:
        q = q @ torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    return q

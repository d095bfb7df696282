"""Helper functions shared by the workbench.nn tests (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import torch


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max(1, max |b|)."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / max(1.0, float(b.abs().max())))


def random_o3(generator: torch.Generator) -> torch.Tensor:
    """Random O(3) matrix, improper (with parity) half of the time."""
    from workbench.groups import o3

    r = o3.rand_matrix(generator=generator).to(torch.float64)
    return r if bool(torch.randint(0, 2, (1,), generator=generator)) else -r

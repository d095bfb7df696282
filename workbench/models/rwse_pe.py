"""RWSE (Dwivedi et al. 2022): an MLP of the random-walk return probabilities
(:func:`workbench.spectral.random_walk_se`). No eigenvectors, so no ambiguity; but it cannot tell apart nodes with
equal return probabilities.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import mlp
from workbench.spectral import GraphBatch

__all__ = ["RWSE"]


class RWSE(torch.nn.Module):
    """Random-walk PE: ``forward(batch) -> [N, pe_dim]``, an MLP of ``batch.rwse [N, steps]``."""

    def __init__(self, steps: int, pe_dim: int = 16) -> None:
        super().__init__()
        if min(steps, pe_dim) < 1:
            raise ValueError(f"steps and pe_dim must be >= 1, got {steps}, {pe_dim}")
        self.steps = steps
        self.net = mlp([steps, 2 * pe_dim, pe_dim])

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        dtype = self.net[0].weight.dtype
        r = check_tensor(batch.rwse, "batch.rwse", shape=("N", self.steps), dtype="float", finite=True)
        return self.net(r.to(dtype))

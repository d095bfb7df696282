"""LapPE (Dwivedi et al. 2020; Kreuzer et al. 2021), the eigenvector encoding SignNet and BasisNet are compared with:
an MLP of the raw eigenvectors (with their eigenvalues) to ``[N, pe_dim]``. It depends on the arbitrary signs and
bases, so it is trained with every eigenvector's sign flipped at random per graph and step (``random_flips=True``,
training mode only) and hopes to become insensitive; it is not invariant, and the tests check that it is not.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import mlp
from workbench.spectral import GraphBatch

__all__ = ["LapPE"]


class LapPE(torch.nn.Module):
    """Laplacian-eigenvector PE: ``forward(batch) -> [N, pe_dim]``, an MLP of ``[v_1..v_k, lambda_1..lambda_k]``
    per node (padding zeroed), with random sign flips in training."""

    def __init__(self, k: int, pe_dim: int = 16, random_flips: bool = True) -> None:
        super().__init__()
        if min(k, pe_dim) < 1:
            raise ValueError(f"k and pe_dim must be >= 1, got {k}, {pe_dim}")
        self.k, self.random_flips = k, random_flips
        self.net = mlp([2 * k, 2 * pe_dim, pe_dim])

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        dtype = self.net[0].weight.dtype
        v = check_tensor(batch.eigvecs, "batch.eigvecs", shape=("N", self.k), dtype="float", finite=True,
                         hint=f"k = {self.k} eigenvectors per node").to(dtype)
        lam = check_tensor(batch.eigvals, "batch.eigvals", shape=("N", self.k), dtype="float", finite=True).to(dtype)
        mask = batch.eig_mask.to(dtype)
        if self.training and self.random_flips:
            signs = torch.randint(0, 2, (batch.num_graphs, self.k), device=v.device).to(dtype) * 2 - 1
            v = v * signs[batch.batch]
        return self.net(torch.cat([v * mask, lam * mask], dim=1))

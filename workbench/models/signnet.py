"""SignNet (Lim et al., "Sign and Basis Invariant Networks for Spectral Graph Representation Learning", arXiv
2202.13013): node positional encodings from Laplacian eigenvectors, invariant to the sign of every eigenvector.

    PE = rho( [phi(v_1, lambda_1) + phi(-v_1, lambda_1), ..., phi(v_k, lambda_k) + phi(-v_k, lambda_k)] )

``phi`` maps one eigenvector (one scalar per node, with its eigenvalue) to ``[N, C]``; it is a GIN over the graph
(``phi="gin"``, as the paper's ZINC model: it sees the relative signs of neighbouring entries) or a per-node MLP
(``phi="mlp"``). All ``k`` eigenvectors go through the same ``phi`` at once (an eigenvector axis). Padding
eigenvectors (``eig_mask`` False, graphs with fewer than k nodes) are zeroed after ``phi``. ``rho`` is an MLP on
the concatenation (eigenvectors in eigenvalue order) -> ``[N, pe_dim]``. Flipping ``v_j`` swaps the two terms of
``phi(v_j) + phi(-v_j)``, so the output is unchanged exactly (up to the commutativity of floating-point addition:
bitwise in practice).
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import GINLayer, mlp
from workbench.spectral import GraphBatch

__all__ = ["SignNet"]


class SignNet(torch.nn.Module):
    """Sign-invariant eigenvector encoder: ``forward(batch: GraphBatch) -> [N, pe_dim]`` (module docstring).

    Args:
        k: eigenvectors used (the batch must hold exactly ``k`` columns).
        pe_dim: output channels.
        hidden: channels of ``phi``.
        phi: ``"gin"`` (``layers`` GIN layers over the graph) or ``"mlp"`` (per node).
        use_eigvals: feed each eigenvalue to ``phi`` beside its eigenvector.
    """

    def __init__(self, k: int, pe_dim: int = 16, hidden: int = 16, phi: str = "gin", layers: int = 2,
                 use_eigvals: bool = True) -> None:
        super().__init__()
        if phi not in ("gin", "mlp"):
            raise ValueError(f"phi must be 'gin' or 'mlp', got {phi!r}")
        if min(k, pe_dim, hidden, layers) < 1:
            raise ValueError(f"k, pe_dim, hidden and layers must be >= 1, got {k}, {pe_dim}, {hidden}, {layers}")
        self.k, self.phi_kind, self.use_eigvals = k, phi, use_eigvals
        self.phi_in = torch.nn.Linear(2 if use_eigvals else 1, hidden)
        self.phi_layers = torch.nn.ModuleList(GINLayer(hidden) for _ in range(layers)) if phi == "gin" else None
        self.phi_mlp = mlp([hidden, hidden, hidden]) if phi == "mlp" else None
        self.rho = mlp([k * hidden, hidden * 2, pe_dim])

    def phi(self, v: torch.Tensor, eigvals: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """``phi`` of eigenvectors ``v [N, k]`` with eigenvalues ``[N, k]``: ``[N, k, hidden]``."""
        inp = torch.stack([v, eigvals], dim=-1) if self.use_eigvals else v[..., None]
        h = self.phi_in(inp)
        if self.phi_layers is not None:
            for layer in self.phi_layers:
                h = layer(h, edge_index)
            return h
        return self.phi_mlp(torch.nn.functional.silu(h))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        dtype = self.phi_in.weight.dtype
        v = check_tensor(batch.eigvecs, "batch.eigvecs", shape=("N", self.k), dtype="float", finite=True,
                         hint=f"k = {self.k} eigenvectors per node").to(dtype)
        lam = check_tensor(batch.eigvals, "batch.eigvals", shape=("N", self.k), dtype="float", finite=True).to(dtype)
        mask = batch.eig_mask.to(dtype)[..., None]
        h = (self.phi(v, lam, batch.edge_index) + self.phi(-v, lam, batch.edge_index)) * mask
        return self.rho(h.reshape(h.shape[0], -1))

"""Small building blocks of the graph models (SignNet, BasisNet, the GIN and Transformer backbones): an MLP, a
sum over neighbours with ``index_add`` (no torch_scatter), an edge-typed GIN layer, and node/graph reshaping.

Graphs come as :class:`~workbench.spectral.GraphBatch` (PyG layout: ``edge_index [2, E]`` both directions,
``batch [N]``, ``ptr [B+1]``).
"""

from __future__ import annotations

import torch

__all__ = ["GINLayer", "mlp", "neighbour_sum", "sum_pool", "to_dense_nodes"]


def mlp(sizes: list[int], final_activation: bool = False) -> torch.nn.Sequential:
    """Linear layers of the given sizes with SiLU between them (and after the last with ``final_activation``)."""
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


def neighbour_sum(h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """``out[i] = sum_{(j, i) in edges} h[j]`` for ``h [N, ...]`` (messages flow source -> target)."""
    return torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]])


def sum_pool(h: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
    """Per-graph sums ``[B, ...]`` of node features ``h [N, ...]``."""
    return torch.zeros((num_graphs, *h.shape[1:]), dtype=h.dtype, device=h.device).index_add_(0, batch, h)


def to_dense_nodes(h: torch.Tensor, batch: torch.Tensor, ptr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Node features ``h [N, ...]`` as ``[B, n_max, ...]`` (zero padded) and the node mask ``[B, n_max]``."""
    sizes = ptr[1:] - ptr[:-1]
    n_max = int(sizes.max())
    local = torch.arange(h.shape[0], device=h.device) - ptr[batch]
    dense = torch.zeros((len(sizes), n_max, *h.shape[1:]), dtype=h.dtype, device=h.device)
    dense[batch, local] = h
    mask = torch.zeros(len(sizes), n_max, dtype=torch.bool, device=h.device)
    mask[batch, local] = True
    return dense, mask


class GINLayer(torch.nn.Module):
    """Edge-typed GIN (GINE, Hu et al. 2020) with a residual: ``h_i + MLP((1 + eps) h_i + sum_j relu(h_j + e_ij))``
    on ``h [N, ..., C]``; ``edge_emb [E, C]`` (or None) is broadcast over the middle axes (e.g. SignNet's
    eigenvector axis)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.eps = torch.nn.Parameter(torch.zeros(()))
        self.mlp = mlp([channels, channels, channels])
        self.norm = torch.nn.LayerNorm(channels)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_emb: torch.Tensor | None = None
                ) -> torch.Tensor:
        msg = h[edge_index[0]]
        if edge_emb is not None:
            msg = msg + edge_emb.reshape(edge_emb.shape[0], *([1] * (h.dim() - 2)), edge_emb.shape[-1])
        agg = torch.zeros_like(h).index_add_(0, edge_index[1], torch.relu(msg))
        return h + self.mlp(self.norm((1 + self.eps) * h + agg))


class PEBackbone(torch.nn.Module):
    """What the molecular-graph backbones share: ``Embed(x_i) + Linear(pe_i)`` as the first node features
    (:meth:`embed_nodes`) and sum pooling with an MLP head as the readout (:meth:`readout`: one scalar per graph).
    Subclasses set up their layers after ``super().__init__``, then ``self.head`` (created last, so parameters are
    drawn in the order embedding, encoding, layers, head), and implement ``node_features(batch, pe)``."""

    def __init__(self, num_node_types: int, hidden: int, pe_dim: int) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(num_node_types, hidden)
        self.pe_in = torch.nn.Linear(pe_dim, hidden) if pe_dim else None
        self.head: torch.nn.Module

    def embed_nodes(self, x: torch.Tensor, pe: torch.Tensor | None) -> torch.Tensor:
        """``[N, hidden]`` node embeddings of types ``x [N]`` plus the projected encoding ``pe [N, pe_dim]``."""
        h = self.embed(x)
        if self.pe_in is not None:
            if pe is None:
                raise ValueError("this backbone was built with pe_dim > 0 and needs a positional encoding")
            h = h + self.pe_in(pe)
        return h

    def readout(self, h: torch.Tensor, batch) -> torch.Tensor:
        """``[B]``: the MLP head on the sum of each graph's node features ``h [N, hidden]``."""
        return self.head(sum_pool(h, batch.batch, batch.num_graphs)).squeeze(-1)

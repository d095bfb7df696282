"""A GIN-style message-passing backbone for molecular graphs with an optional node positional encoding added.

``h_i = Embed(x_i) + Linear(pe_i)``, then ``layers`` edge-typed GIN layers (:class:`~workbench.models.graph_blocks.
GINLayer`: ``index_add`` sums over neighbours), sum pooling and an MLP head: one scalar per graph. It stands in for
the paper's GatedGCN/PNA message passing (same role: local message passing that cannot see beyond its receptive
field, so positional encodings add information).
"""

from __future__ import annotations

import torch

from workbench.models.graph_blocks import GINLayer, mlp, sum_pool
from workbench.spectral import GraphBatch

__all__ = ["GINBackbone"]


class GINBackbone(torch.nn.Module):
    """``node_features(batch, pe [N, pe_dim] | None) -> [N, hidden]``; ``readout(h, batch) -> [B]``."""

    def __init__(self, num_node_types: int, num_edge_types: int, hidden: int = 64, layers: int = 4,
                 pe_dim: int = 0) -> None:
        super().__init__()
        if min(num_node_types, num_edge_types, hidden, layers) < 1 or pe_dim < 0:
            raise ValueError("num_node_types, num_edge_types, hidden, layers must be >= 1 and pe_dim >= 0, got "
                             f"{num_node_types}, {num_edge_types}, {hidden}, {layers}, {pe_dim}")
        self.num_node_types, self.num_edge_types = num_node_types, num_edge_types
        self.embed = torch.nn.Embedding(num_node_types, hidden)
        self.pe_in = torch.nn.Linear(pe_dim, hidden) if pe_dim else None
        self.edge_embed = torch.nn.ModuleList(torch.nn.Embedding(num_edge_types, hidden) for _ in range(layers))
        self.layers = torch.nn.ModuleList(GINLayer(hidden) for _ in range(layers))
        self.head = mlp([hidden, hidden, 1])

    def node_features(self, batch: GraphBatch, pe: torch.Tensor | None) -> torch.Tensor:
        h = self.embed(batch.x)
        if self.pe_in is not None:
            if pe is None:
                raise ValueError("this backbone was built with pe_dim > 0 and needs a positional encoding")
            h = h + self.pe_in(pe)
        for layer, edge_embed in zip(self.layers, self.edge_embed):
            h = layer(h, batch.edge_index, edge_embed(batch.edge_attr))
        return h

    def readout(self, h: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        return self.head(sum_pool(h, batch.batch, batch.num_graphs)).squeeze(-1)

"""A GIN-style message-passing backbone for molecular graphs with an optional node positional encoding added.

``h_i = Embed(x_i) + Linear(pe_i)``, then ``layers`` edge-typed GIN layers (:class:`~workbench.models.graph_blocks.
GINLayer`: ``index_add`` sums over neighbours), sum pooling and an MLP head: one scalar per graph. It stands in for
the paper's GatedGCN/PNA message passing (same role: local message passing that cannot see beyond its receptive
field, so positional encodings add information).
"""

from __future__ import annotations

import torch

from workbench.models.graph_blocks import GINLayer, PEBackbone, mlp
from workbench.spectral import GraphBatch

__all__ = ["GINBackbone"]


class GINBackbone(PEBackbone):
    """``node_features(batch, pe [N, pe_dim] | None) -> [N, hidden]``; ``readout(h, batch) -> [B]``."""

    def __init__(self, num_node_types: int, num_edge_types: int, hidden: int = 64, layers: int = 4,
                 pe_dim: int = 0) -> None:
        if min(num_node_types, num_edge_types, hidden, layers) < 1 or pe_dim < 0:
            raise ValueError("num_node_types, num_edge_types, hidden, layers must be >= 1 and pe_dim >= 0, got "
                             f"{num_node_types}, {num_edge_types}, {hidden}, {layers}, {pe_dim}")
        super().__init__(num_node_types, hidden, pe_dim)
        self.num_node_types, self.num_edge_types = num_node_types, num_edge_types
        self.edge_embed = torch.nn.ModuleList(torch.nn.Embedding(num_edge_types, hidden) for _ in range(layers))
        self.layers = torch.nn.ModuleList(GINLayer(hidden) for _ in range(layers))
        self.head = mlp([hidden, hidden, 1])

    def node_features(self, batch: GraphBatch, pe: torch.Tensor | None) -> torch.Tensor:
        h = self.embed_nodes(batch.x, pe)
        for layer, edge_embed in zip(self.layers, self.edge_embed):
            h = layer(h, batch.edge_index, edge_embed(batch.edge_attr))
        return h

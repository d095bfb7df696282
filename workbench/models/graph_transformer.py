"""A small Transformer encoder over the nodes of each graph, with the positional encoding added to the node
embeddings: full self-attention, no edges (``edge_attr`` is not used), so everything it knows about the graph's
structure comes from the positional encoding (the paper's "Transformer" baseline on ZINC).

``h_i = Embed(x_i) + Linear(pe_i)``, nodes padded per graph to ``[B, n_max, hidden]`` with a key-padding mask,
``layers`` pre-norm encoder layers (dropout 0), sum pooling over the real nodes, an MLP head: one scalar per graph.
"""

from __future__ import annotations

import torch

from workbench.models.graph_blocks import PEBackbone, mlp, to_dense_nodes
from workbench.spectral import GraphBatch

__all__ = ["GraphTransformer"]


class GraphTransformer(PEBackbone):
    """``node_features(batch, pe [N, pe_dim] | None) -> [N, hidden]``; ``readout(h, batch) -> [B]``."""

    def __init__(self, num_node_types: int, hidden: int = 64, layers: int = 3, heads: int = 4,
                 pe_dim: int = 0) -> None:
        if min(num_node_types, hidden, layers, heads) < 1 or pe_dim < 0 or hidden % heads:
            raise ValueError("num_node_types, hidden, layers, heads must be >= 1 with hidden divisible by heads, and "
                             f"pe_dim >= 0; got {num_node_types}, {hidden}, {layers}, {heads}, {pe_dim}")
        super().__init__(num_node_types, hidden, pe_dim)
        layer = torch.nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0,
                                                 batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = mlp([hidden, hidden, 1])

    def node_features(self, batch: GraphBatch, pe: torch.Tensor | None) -> torch.Tensor:
        h = self.embed_nodes(batch.x, pe)
        dense, mask = to_dense_nodes(h, batch.batch, batch.ptr)
        out = self.encoder(dense, src_key_padding_mask=~mask)
        return out[mask]

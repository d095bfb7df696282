"""A graph regressor = a backbone (GIN or Transformer) + a positional encoding (none, LapPE, RWSE, SignNet or
BasisNet), built by name: the grid of the SignNet pipeline's table.

``model(batch: GraphBatch) -> [B]``; ``model.node_features(batch) -> [N, hidden]`` (permutation equivariant for
every encoding; sign invariant for SignNet, basis invariant for BasisNet, neither for LapPE).

Examples:
    >>> import torch
    >>> from workbench.models.pe_regressor import build_pe_regressor
    >>> from workbench.spectral import collate_graphs, cycle_graph, encode_graph
    >>> batch = collate_graphs([encode_graph(torch.zeros(6, dtype=torch.int64), cycle_graph(6), k=4)])
    >>> model = build_pe_regressor("gin", "signnet", num_node_types=2, num_edge_types=1, k=4, rwse_steps=8,
    ...                            hidden=8, pe_dim=4)
    >>> model(batch).shape
    torch.Size([1])
"""

from __future__ import annotations

import torch

from workbench.models.basisnet import BasisNet
from workbench.models.gin import GINBackbone
from workbench.models.graph_transformer import GraphTransformer
from workbench.models.lap_pe import LapPE
from workbench.models.rwse_pe import RWSE
from workbench.models.signnet import SignNet
from workbench.spectral import GraphBatch

__all__ = ["BACKBONES", "ENCODINGS", "PEGraphRegressor", "build_pe_regressor"]

#: Backbones and positional encodings :func:`build_pe_regressor` knows.
BACKBONES: tuple[str, ...] = ("gin", "transformer")
ENCODINGS: tuple[str, ...] = ("none", "lappe", "rwse", "signnet", "basisnet")


class PEGraphRegressor(torch.nn.Module):
    """``backbone`` with node encoding ``encoder`` (None: no encoding); ``forward(batch) -> [B]``."""

    def __init__(self, backbone: torch.nn.Module, encoder: torch.nn.Module | None) -> None:
        super().__init__()
        self.backbone, self.encoder = backbone, encoder

    def node_features(self, batch: GraphBatch) -> torch.Tensor:
        pe = self.encoder(batch) if self.encoder is not None else None
        return self.backbone.node_features(batch, pe)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return self.backbone.readout(self.node_features(batch), batch)


def build_pe_regressor(backbone: str, encoding: str, *, num_node_types: int, num_edge_types: int, k: int,
                       rwse_steps: int, hidden: int = 64, layers: int = 4, pe_dim: int = 16,
                       pe_hidden: int = 16, heads: int = 4, max_multiplicity: int = 3) -> PEGraphRegressor:
    """Backbone ``backbone`` (:data:`BACKBONES`) with encoding ``encoding`` (:data:`ENCODINGS`); ``k`` and
    ``rwse_steps`` must match the batches' encodings."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; valid: {', '.join(BACKBONES)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; valid: {', '.join(ENCODINGS)}")
    encoder: torch.nn.Module | None = {
        "none": lambda: None,
        "lappe": lambda: LapPE(k, pe_dim),
        "rwse": lambda: RWSE(rwse_steps, pe_dim),
        "signnet": lambda: SignNet(k, pe_dim, pe_hidden),
        "basisnet": lambda: BasisNet(k, pe_dim, pe_hidden, max_multiplicity),
    }[encoding]()
    dim = 0 if encoder is None else pe_dim
    net = (GINBackbone(num_node_types, num_edge_types, hidden, layers, dim) if backbone == "gin"
           else GraphTransformer(num_node_types, hidden, max(1, layers - 1), heads, dim))
    return PEGraphRegressor(net, encoder)

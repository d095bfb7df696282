"""workbench.spectral: Laplacian eigenvectors of batches of graphs, their sign and basis ambiguities, and
random-walk encodings. Depends only on :mod:`workbench.checks` (and torch).

- :func:`laplacian` (combinatorial ``D - A`` or symmetric normalized ``I - D^-1/2 A D^-1/2``), :func:`adjacency`;
- :func:`laplacian_eigenbasis`: batched float64 eigendecomposition per graph, padded to ``k`` with masks,
  eigenspaces grouped by a tolerance (:func:`eigenspace_ids`), incomplete eigenspaces marked (:class:`EigenBasis`);
- :func:`random_walk_se`: RWSE;
- :func:`cycle_graph`, :func:`grid_graph`, :func:`hypercube_graph`, :func:`complete_graph`: graphs with real
  eigenvalue multiplicities;
- :func:`random_sign_flips`, :func:`random_basis_change`: the ambiguities, for invariance tests;
- :func:`spectral_filter` (``h(L) x``, named responses :data:`FILTERS`), :class:`SignalGraph` /
  :func:`collate_signal_graphs` (graphs with a node signal and its filtered target); :func:`erdos_renyi_graph`,
  :func:`random_geometric_graph`, :func:`synthetic_images` (signals on one pixel grid): the filter-learning task;
- :func:`encode_graph`, :func:`collate_graphs`: graphs with precomputed encodings and their batches
  (:class:`GraphBatch`, the input of the models in :mod:`workbench.models.signnet` and friends).

Graphs follow PyTorch Geometric's convention (:mod:`workbench.spectral.graphs`).
"""

from workbench.spectral.batch import EncodedGraph, GraphBatch, collate_graphs, encode_graph
from workbench.spectral.eigen import EigenBasis, laplacian_eigenbasis
from workbench.spectral.eigenspaces import DEFAULT_TOL, eigenspace_ids, multiplicities
from workbench.spectral.filters import (
    FILTERS,
    SignalBatch,
    SignalGraph,
    collate_signal_graphs,
    filter_response,
    spectral_filter,
)
from workbench.spectral.graphs import check_graph_batch, graph_sizes, node_graph_index, split_edges
from workbench.spectral.images import synthetic_images
from workbench.spectral.laplacian import NORMALIZATIONS, adjacency, laplacian
from workbench.spectral.named_graphs import complete_graph, cycle_graph, grid_graph, hypercube_graph, undirected
from workbench.spectral.random_graphs import erdos_renyi_graph, random_geometric_graph
from workbench.spectral.rwse import random_walk_se
from workbench.spectral.symmetries import haar_orthogonal, random_basis_change, random_sign_flips

__all__ = ["DEFAULT_TOL", "FILTERS", "NORMALIZATIONS", "SignalBatch", "SignalGraph", "collate_signal_graphs",
           "erdos_renyi_graph", "filter_response", "random_geometric_graph", "spectral_filter",
           "EigenBasis", "EncodedGraph", "GraphBatch", "adjacency",
           "check_graph_batch", "collate_graphs", "complete_graph", "cycle_graph", "grid_graph",
           "hypercube_graph", "undirected", "eigenspace_ids", "encode_graph", "graph_sizes", "haar_orthogonal",
           "laplacian", "laplacian_eigenbasis", "multiplicities", "node_graph_index", "random_basis_change",
           "random_sign_flips", "random_walk_se", "split_edges", "synthetic_images"]

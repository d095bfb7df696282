"""Checks and bookkeeping for batches of graphs in PyTorch Geometric's convention.

A batch of ``B`` graphs with ``N`` nodes in all is ``edge_index [2, E]`` (int64, global node indices, every
undirected edge listed in both directions, no self-loops) plus ``ptr [B+1]`` (int64, graph ``b`` owns the nodes
``ptr[b]:ptr[b+1]``; ``ptr[0] == 0``, non-decreasing). A graph may have zero edges (isolated nodes) or several
connected components; a graph with zero nodes is refused.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["check_graph_batch", "graph_sizes", "node_graph_index", "split_edges"]


def check_graph_batch(edge_index: torch.Tensor, ptr: torch.Tensor,
                      edge_weight: torch.Tensor | None = None) -> None:
    """Raise a clear error unless ``edge_index [2, E]`` / ``ptr [B+1]`` (/ ``edge_weight [E]``) describe undirected
    graphs in PyG's convention (module docstring): indices in range, no edge between two graphs, no self-loop, each
    edge present in both directions (with the same weight), weights finite and > 0."""
    check_tensor(edge_index, "edge_index", shape=(2, "E"), dtype=torch.int64,
                 hint="PyG convention: source row, target row")
    check_tensor(ptr, "ptr", shape=("B+1",), dtype=torch.int64, hint="graph b owns nodes ptr[b]:ptr[b+1]")
    if ptr.numel() < 2 or int(ptr[0]) != 0:
        raise ValueError(f"ptr must start at 0 and hold at least 2 entries (one graph), got {ptr.tolist()[:10]}")
    sizes = ptr[1:] - ptr[:-1]
    if bool((sizes <= 0).any()):
        bad = torch.nonzero(sizes <= 0).flatten()[:10].tolist()
        raise ValueError(f"ptr must be strictly increasing (every graph needs >= 1 node); empty graph(s) {bad}")
    n = int(ptr[-1])
    if edge_index.numel():
        if int(edge_index.min()) < 0 or int(edge_index.max()) >= n:
            raise ValueError(f"edge_index entries must be in [0, {n}) (the batch has {n} nodes), got "
                             f"[{int(edge_index.min())}, {int(edge_index.max())}]")
        src, dst = edge_index
        if bool((src == dst).any()):
            raise ValueError("edge_index must not hold self-loops (i, i); the Laplacian convention here has none")
        g = node_graph_index(ptr)
        if bool((g[src] != g[dst]).any()):
            raise ValueError("edge_index holds an edge between two different graphs of the batch (check ptr)")
    if edge_weight is not None:
        check_tensor(edge_weight, "edge_weight", shape=(edge_index.shape[1],), dtype="float", finite=True,
                     hint="one weight per edge_index column")
        if bool((edge_weight <= 0).any()):
            raise ValueError("edge_weight must be > 0 (a zero-weight edge should be left out)")
    weight = torch.ones(edge_index.shape[1], dtype=torch.float64) if edge_weight is None else edge_weight.double()
    key_fwd, order_fwd = torch.sort(edge_index[0] * n + edge_index[1])
    key_bwd, order_bwd = torch.sort(edge_index[1] * n + edge_index[0])
    if not (torch.equal(key_fwd, key_bwd) and torch.equal(weight[order_fwd], weight[order_bwd])):
        raise ValueError("edge_index must be undirected: every edge (i, j) listed in both directions (PyG's "
                         "to_undirected), with equal weights")


def graph_sizes(ptr: torch.Tensor) -> torch.Tensor:
    """Nodes per graph, ``[B]`` int64."""
    return ptr[1:] - ptr[:-1]


def node_graph_index(ptr: torch.Tensor) -> torch.Tensor:
    """PyG's ``batch`` vector ``[N]``: the graph of every node."""
    return torch.repeat_interleave(torch.arange(len(ptr) - 1), graph_sizes(ptr))


def split_edges(edge_index: torch.Tensor, ptr: torch.Tensor) -> list[torch.Tensor]:
    """Per graph, its edges as local indices ``[2, E_b]`` (node ``ptr[b]`` becomes 0)."""
    g = node_graph_index(ptr)[edge_index[0]] if edge_index.numel() else torch.zeros(0, dtype=torch.int64)
    out = []
    for b in range(len(ptr) - 1):
        sel = edge_index[:, g == b]
        out.append(sel - ptr[b])
    return out

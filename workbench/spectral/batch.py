"""Graphs with their spectral encodings precomputed, and batches of them for the models.

:func:`encode_graph` decomposes one graph once (:func:`~workbench.spectral.laplacian_eigenbasis`, float64) and
stores per node everything a positional encoding needs; :func:`collate_graphs` concatenates graphs into a
:class:`GraphBatch` in PyG's layout (nodes stacked, ``edge_index`` shifted, ``batch [N]``, ``ptr [B+1]``). All
eigen-fields are per node (``[N, k]``: a graph's ``[k]`` values repeated on its nodes), so batching is
concatenation. ``eigenspace`` ids are graph-local.

Examples:
    >>> import torch
    >>> from workbench.spectral import collate_graphs, encode_graph
    >>> tri = encode_graph(torch.tensor([0, 0, 1]), torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]]), k=4)
    >>> batch = collate_graphs([tri, tri])
    >>> batch.num_graphs, tuple(batch.eigvecs.shape), batch.eig_mask[0].tolist()
    (2, (6, 4), [True, True, True, False])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch

from workbench.checks import check_tensor
from workbench.spectral.eigen import laplacian_eigenbasis
from workbench.spectral.eigenspaces import DEFAULT_TOL
from workbench.spectral.rwse import random_walk_se

__all__ = ["EncodedGraph", "GraphBatch", "collate_graphs", "encode_graph"]


@dataclass
class EncodedGraph:
    """One graph of ``n`` nodes with its encodings. ``x [n]`` int64 node types, ``edge_index [2, E]`` int64 local,
    both directions, ``edge_attr [E]`` int64 edge types, ``y [T]`` float targets (``T`` may be 0); per node
    ``[n, k]``: ``eigvecs`` (float64), ``eigvals``, ``eig_mask``, ``eigenspace``, ``eig_complete``,
    ``eig_multiplicity``; ``rwse [n, steps]``."""

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    y: torch.Tensor
    eigvecs: torch.Tensor
    eigvals: torch.Tensor
    eig_mask: torch.Tensor
    eigenspace: torch.Tensor
    eig_complete: torch.Tensor
    eig_multiplicity: torch.Tensor
    rwse: torch.Tensor


@dataclass
class GraphBatch(EncodedGraph):
    """A batch of :class:`EncodedGraph` s: the same fields with ``N`` (all nodes) for ``n``, ``edge_index``
    shifted to global indices, ``y [B, T]``, plus ``batch [N]`` (graph of each node), ``ptr [B+1]`` and
    ``num_graphs``."""

    batch: torch.Tensor
    ptr: torch.Tensor
    num_graphs: int

    def with_eigvecs(self, eigvecs: torch.Tensor) -> GraphBatch:
        """The same batch with other eigenvectors ``[N, k]`` (after a sign flip or an eigenspace rotation)."""
        check_tensor(eigvecs, "eigvecs", shape=self.eigvecs.shape, dtype="float", finite=True)
        return replace(self, eigvecs=eigvecs)

    def permuted(self, perm: torch.Tensor) -> GraphBatch:
        """The batch with its nodes renumbered: new node ``i`` is old node ``perm[i]``; ``perm [N]`` must map
        every graph's nodes onto themselves (a permutation within each graph)."""
        check_tensor(perm, "perm", shape=(self.x.shape[0],), dtype=torch.int64)
        if not torch.equal(torch.sort(perm).values, torch.arange(len(perm))) or \
                not torch.equal(self.batch[perm], self.batch):
            raise ValueError("perm must be a permutation of the nodes within each graph")
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(len(perm))
        node_fields = {f.name: getattr(self, f.name)[perm] for f in fields(self)
                       if f.name in ("x", "eigvecs", "eigvals", "eig_mask", "eigenspace", "eig_complete",
                                     "eig_multiplicity", "rwse")}
        return replace(self, edge_index=inverse[self.edge_index], **node_fields)

    def to(self, device: torch.device | str) -> GraphBatch:
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)
                                if isinstance(getattr(self, f.name), torch.Tensor)})


def encode_graph(x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                 y: torch.Tensor | None = None, k: int = 8, rwse_steps: int = 8, normalization: str = "sym",
                 tol: float = DEFAULT_TOL) -> EncodedGraph:
    """One graph (``x [n]`` int64 node types, ``edge_index [2, E]`` int64 local indices in both directions,
    optional ``edge_attr [E]`` int64 edge types (default 0), optional finite float targets ``y [T]``) with its
    ``k`` lowest Laplacian eigenpairs (float64, padded and masked when ``n < k``) and ``rwse_steps`` RWSE
    columns. Raises ValueError naming the argument for bad shapes, non-finite targets or bad graphs."""
    check_tensor(x, "x", shape=("n",), dtype="int", hint="node types")
    n = x.shape[0]
    if n < 1:
        raise ValueError("x must hold at least one node (an empty graph has no Laplacian)")
    check_tensor(edge_index, "edge_index", shape=(2, "E"), dtype=torch.int64)
    if edge_attr is None:
        edge_attr = torch.zeros(edge_index.shape[1], dtype=torch.int64)
    check_tensor(edge_attr, "edge_attr", shape=(edge_index.shape[1],), dtype="int", hint="one type per edge")
    y = torch.zeros(0) if y is None else y
    check_tensor(y, "y", shape=("T",), dtype="float", finite=True)
    ptr = torch.tensor([0, n])
    basis = laplacian_eigenbasis(edge_index, ptr, k, normalization, tol=tol)
    rep = basis.per_node
    return EncodedGraph(x.long(), edge_index, edge_attr.long(), y, basis.eigvecs, rep(basis.eigvals),
                        rep(basis.mask), rep(basis.eigenspace), rep(basis.complete), rep(basis.multiplicity),
                        random_walk_se(edge_index, ptr, rwse_steps))


def collate_graphs(items: Sequence[EncodedGraph]) -> GraphBatch:
    """Stack :class:`EncodedGraph` s (equal ``k``, ``rwse_steps`` and target count) into a :class:`GraphBatch`."""
    if len(items) == 0:
        raise ValueError("collate_graphs needs at least one graph")
    sizes = torch.tensor([g.x.shape[0] for g in items])
    ptr = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(sizes, 0)])
    shapes = {(g.eigvecs.shape[1], g.rwse.shape[1], g.y.shape[0]) for g in items}
    if len(shapes) != 1:
        raise ValueError(f"graphs in one batch need equal k, rwse steps and target count, got {sorted(shapes)}")
    cat = {name: torch.cat([getattr(g, name) for g in items])
           for name in ("x", "edge_attr", "eigvecs", "eigvals", "eig_mask", "eigenspace", "eig_complete",
                        "eig_multiplicity", "rwse")}
    edge_index = torch.cat([g.edge_index + ptr[i] for i, g in enumerate(items)], dim=1)
    y = torch.stack([g.y for g in items])
    batch = torch.repeat_interleave(torch.arange(len(items)), sizes)
    return GraphBatch(edge_index=edge_index, y=y, batch=batch, ptr=ptr, num_graphs=len(items), **cat)

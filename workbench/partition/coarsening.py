"""Multilevel coarsening by heavy-edge matching (HEM).

:func:`heavy_edge_matching` pairs every node with its heaviest still-unmatched neighbour (edge weight over the
geometric mean of the two node weights, when node weights are given) by rounds of mutual
proposals (a "handshake" matching: each unmatched node proposes to its heaviest unmatched neighbour, mutual proposals
are matched; ties broken by a seeded random, edge-symmetric key), vectorized in numpy. :func:`contract` merges the
matched pairs: coarse adjacency ``P^T A P`` without its diagonal, coarse node weights ``P^T w`` (fine nodes
represented), where ``P`` is the ``[n, n_coarse]`` 0/1 aggregation matrix of ``cluster``. :func:`coarsen_hierarchy`
repeats until a graph has at most ``min_nodes`` nodes or a round shrinks it by less than 10%.

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> levels = coarsen_hierarchy(random_delaunay(500, seed=0).adjacency, min_nodes=50)
    >>> levels[0].num_nodes, levels[-1].num_nodes <= 50, float(levels[-1].node_weights.sum())
    (500, True, 500.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Level", "coarsen_hierarchy", "contract", "heavy_edge_matching"]


@dataclass
class Level:
    """One level of a hierarchy: ``adjacency`` (CSR float64 ``[n, n]``), ``node_weights`` (float64 ``[n]``, fine
    nodes represented) and ``cluster`` (int64 ``[n]``: this node's index on the next coarser level; ``None`` on the
    coarsest level)."""

    adjacency: sp.csr_matrix
    node_weights: np.ndarray
    cluster: np.ndarray | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.adjacency.shape[0])


def heavy_edge_matching(adjacency: sp.csr_matrix, seed: int = 0, rounds: int = 16,
                        node_weights: np.ndarray | None = None, max_weight: float = np.inf) -> np.ndarray:
    """int64 ``cluster`` ``[n]``: matched pairs share a label, labels ``0 .. n_coarse-1`` in order of first node.

    A pair is only formed when its node weights sum to at most ``max_weight`` (keeps coarse nodes light enough
    for a balanced partition).
    """
    a = sp.csr_matrix(adjacency)
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    key = rng.random(n)
    row = np.repeat(np.arange(n), np.diff(a.indptr))
    col = a.indices
    w = a.data.astype(np.float64)
    scale = w.max() if len(w) else 1.0
    if node_weights is not None:  # heavy edge relative to the merged weight: keeps coarse nodes even
        w = w / np.sqrt(node_weights[row] * node_weights[col])
        scale = w.max() if len(w) else 1.0
    score = w + 1e-3 * scale * np.mod(key[row] + key[col], 1.0)  # symmetric tie-break
    if node_weights is not None and np.isfinite(max_weight):
        allowed = node_weights[row] + node_weights[col] <= max_weight
        row, col, score = row[allowed], col[allowed], score[allowed]
    mate = -np.ones(n, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]) if len(row) else np.zeros(0, dtype=np.int64)
    for _ in range(rounds):
        free = (mate[row] < 0) & (mate[col] < 0)
        if not free.any():
            break
        s = np.where(free, score, -np.inf)
        row_max = np.maximum.reduceat(s, starts)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(row)]))
        pick = free & (s == row_max[seg])
        best = -np.ones(n, dtype=np.int64)
        best[row[pick]] = col[pick]
        i = np.flatnonzero(best >= 0)
        mutual = i[best[best[i]] == i]
        if len(mutual) == 0:
            break
        mate[mutual] = best[mutual]
    leader = np.where((mate < 0) | (np.arange(n) < mate), np.arange(n), mate)
    _, cluster = np.unique(leader, return_inverse=True)
    return cluster.astype(np.int64)


def contract(adjacency: sp.csr_matrix, node_weights: np.ndarray, cluster: np.ndarray
             ) -> tuple[sp.csr_matrix, np.ndarray]:
    """The coarse graph of ``cluster``: ``(P^T A P - diag, P^T w)``."""
    n, nc = adjacency.shape[0], int(cluster.max()) + 1
    p = sp.csr_matrix((np.ones(n), (np.arange(n), cluster)), shape=(n, nc))
    coarse = sp.csr_matrix(p.T @ adjacency @ p)
    coarse.setdiag(0)
    coarse.eliminate_zeros()
    coarse.sort_indices()
    return coarse, np.bincount(cluster, weights=node_weights, minlength=nc).astype(np.float64)


def coarsen_hierarchy(adjacency: sp.csr_matrix, min_nodes: int = 64, seed: int = 0,
                      node_weights: np.ndarray | None = None, max_levels: int = 40) -> list[Level]:
    """Levels from the given graph (level 0) to a graph of at most ``min_nodes`` nodes (or until matching stalls).

    Coarse nodes are kept at most ``1.5 * W / min_nodes`` heavy (``W`` the total node weight) so that the coarsest
    graph can still be bisected in balance.
    """
    if isinstance(min_nodes, bool) or not isinstance(min_nodes, (int, np.integer)) or min_nodes < 2:
        raise ValueError(f"min_nodes must be an integer >= 2, got {min_nodes!r}")
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    w = np.ones(a.shape[0]) if node_weights is None else np.asarray(node_weights, dtype=np.float64)
    max_weight = 1.5 * w.sum() / min_nodes
    levels = [Level(a, w)]
    for depth in range(max_levels):
        if levels[-1].num_nodes <= min_nodes:
            break
        cluster = heavy_edge_matching(levels[-1].adjacency, seed + depth, node_weights=levels[-1].node_weights,
                                      max_weight=max_weight)
        if cluster.max() + 1 > 0.9 * levels[-1].num_nodes:
            break
        levels[-1].cluster = cluster
        levels.append(Level(*contract(levels[-1].adjacency, levels[-1].node_weights, cluster)))
    return levels

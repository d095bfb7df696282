"""Balanced Fiduccia-Mattheyses (FM) refinement of a bisection, and multilevel uncoarsening with it.

:func:`fm_refine` runs passes of boundary FM on the edge cut: in each pass nodes move one at a time (the best gain
among the boundary nodes whose move keeps both sides at most ``(1 + imbalance) * W / 2``; gains
``external - internal`` edge weight, kept in two lazy heaps), each node at most once; after ``patience`` moves
without a new best cut the pass rolls back to its best prefix. Passes stop when one finds nothing better.
:func:`uncoarsen` projects a coarse bisection level by level (``parts_fine = parts_coarse[cluster]``) and refines it
on every level (the multilevel scheme of METIS; the coarse partition may come from any method).

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> from workbench.partition.baselines import random_bisection
    >>> from workbench.partition.metrics import edge_cut, balance
    >>> g = random_delaunay(400, seed=0)
    >>> start = random_bisection(400, seed=0)
    >>> better = fm_refine(g.adjacency, start)
    >>> edge_cut(g.adjacency, better) < edge_cut(g.adjacency, start), balance(better, 2) <= 1.02
    (True, True)
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp

from workbench.partition.coarsening import Level

__all__ = ["fm_refine", "uncoarsen"]


def fm_refine(adjacency: sp.csr_matrix, parts: np.ndarray, node_weights: np.ndarray | None = None,
              imbalance: float = 0.01, max_passes: int = 8, patience: int = 64) -> np.ndarray:
    """A refined copy of the bisection ``parts`` (int64 ``[n]`` of 0/1): lower or equal edge cut, both sides within
    ``(1 + imbalance) * W / 2`` (or no heavier than the start, if the start was outside that bound)."""
    a = sp.csr_matrix(adjacency)
    indptr, indices, data = a.indptr, a.indices, a.data
    n = a.shape[0]
    w = np.ones(n) if node_weights is None else np.asarray(node_weights, dtype=np.float64)
    p = np.asarray(parts, dtype=np.int64).copy()
    total = w.sum()
    side = np.array([w[p == 0].sum(), w[p == 1].sum()])
    limit = max((1.0 + imbalance) * total / 2.0, total / 2.0 + w.max(), side.max())
    row = np.repeat(np.arange(n), np.diff(indptr))
    for _ in range(max_passes):
        same = p[row] == p[indices]
        ext = np.bincount(row, weights=np.where(same, 0.0, data), minlength=n)
        inn = np.bincount(row, weights=np.where(same, data, 0.0), minlength=n)
        gain = ext - inn
        heaps: list[list] = [[], []]
        for v in np.flatnonzero(ext > 0):
            heaps[p[v]].append((-gain[v], int(v)))
        for h in heaps:
            heapq.heapify(h)
        locked = np.zeros(n, dtype=bool)
        moves: list[int] = []
        cut_change, best_change, best_len = 0.0, 0.0, 0
        best_dev = abs(side[0] - side[1])
        since_best = 0
        while since_best < patience:
            cand = []
            for s in (0, 1):
                h = heaps[s]
                while h and (locked[h[0][1]] or p[h[0][1]] != s or -h[0][0] != gain[h[0][1]]):
                    heapq.heappop(h)
                if h and side[1 - s] + w[h[0][1]] <= limit:
                    cand.append((-h[0][0], side[s], s))
            if not cand:
                break
            _, _, s = max(cand)
            _, v = heapq.heappop(heaps[s])
            cut_change -= gain[v]
            p[v] = 1 - s
            side[s] -= w[v]
            side[1 - s] += w[v]
            locked[v] = True
            moves.append(v)
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                if locked[u]:
                    continue
                gain[u] += 2 * data[j] if p[u] == s else -2 * data[j]
                heapq.heappush(heaps[p[u]], (-gain[u], int(u)))
            dev = abs(side[0] - side[1])
            if cut_change < best_change - 1e-12 or (abs(cut_change - best_change) <= 1e-12 and dev < best_dev):
                best_change, best_len, best_dev, since_best = cut_change, len(moves), dev, 0
            else:
                since_best += 1
        for v in moves[best_len:]:
            side[p[v]] -= w[v]
            p[v] = 1 - p[v]
            side[p[v]] += w[v]
        if best_len == 0 or best_change > -1e-12:
            break
    return p


def uncoarsen(levels: list[Level], coarse_parts: np.ndarray, coarse_level: int, imbalance: float = 0.01,
              refine: bool = True) -> np.ndarray:
    """Project the bisection of ``levels[coarse_level]`` to level 0, refining with :func:`fm_refine` on every
    level (``refine=False``: projection only)."""
    parts = np.asarray(coarse_parts, dtype=np.int64)
    if refine:
        lv = levels[coarse_level]
        parts = fm_refine(lv.adjacency, parts, lv.node_weights, imbalance)
    for depth in range(coarse_level - 1, -1, -1):
        lv = levels[depth]
        parts = parts[lv.cluster]
        if refine:
            parts = fm_refine(lv.adjacency, parts, lv.node_weights, imbalance)
    return parts

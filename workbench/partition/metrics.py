"""Quality of a partition: edge cut, normalized cut, balance; vertex separators.

``parts`` is an int64 array ``[n]`` of part labels in ``0 .. k-1``. For an adjacency ``A`` (symmetric, zero
diagonal, :func:`workbench.partition.graphs.check_adjacency`):

- ``edge_cut = sum of A[i, j] over edges {i, j} with parts[i] != parts[j]`` (each undirected edge once);
- ``normalized_cut = sum_k cut(V_k, V \\ V_k) / vol(V_k)`` with ``vol(V_k) = sum_{i in V_k} deg(i)`` (Shi-Malik;
  the objective of Gatti et al. 2022); an empty or zero-volume part makes it ``inf``;
- ``balance = k * max_k |V_k| / n`` (node weights optional): 1 is perfect, 1.01 is 1% over the ideal size.

All metrics are invariant to relabelling the nodes together with ``parts`` (node permutation) and to permuting
the part labels.

Examples:
    >>> import numpy as np, scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=float))
    >>> parts = np.array([0, 0, 1, 1])
    >>> edge_cut(a, parts), normalized_cut(a, parts), balance(parts, 2)
    (1.0, 0.6666666666666666, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from workbench.partition.graphs import check_adjacency

__all__ = ["balance", "check_parts", "edge_cut", "normalized_cut", "part_sizes", "partition_report",
           "separator_report", "vertex_separator_from_parts"]


def check_parts(parts: Any, num_nodes: int, num_parts: int | None = None, name: str = "parts") -> np.ndarray:
    """``parts`` as int64 ``[num_nodes]`` with labels in ``0 .. num_parts-1`` (``num_parts`` default: max + 1)."""
    arr = np.asarray(parts)
    if arr.shape != (num_nodes,):
        raise ValueError(f"{name} must have shape [{num_nodes}] (one label per node), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array of part labels, got {arr.dtype}")
    k = int(arr.max()) + 1 if num_parts is None else int(num_parts)
    if arr.min() < 0 or arr.max() >= k:
        raise ValueError(f"{name} must hold labels in 0 .. {k - 1}, got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def part_sizes(parts: np.ndarray, num_parts: int, node_weights: np.ndarray | None = None) -> np.ndarray:
    """float64 ``[num_parts]``: the (weighted) size of every part."""
    return np.bincount(parts, weights=node_weights, minlength=num_parts).astype(np.float64)


def edge_cut(adjacency: Any, parts: Any) -> float:
    """Total weight of the edges between different parts (each undirected edge counted once)."""
    a = check_adjacency(adjacency)
    p = check_parts(parts, a.shape[0])
    coo = a.tocoo()
    return float(coo.data[p[coo.row] != p[coo.col]].sum() / 2.0)


def normalized_cut(adjacency: Any, parts: Any, num_parts: int | None = None) -> float:
    """``sum_k cut(V_k) / vol(V_k)`` (see module doc); ``inf`` when a part has zero volume."""
    a = check_adjacency(adjacency)
    p = check_parts(parts, a.shape[0], num_parts)
    k = int(p.max()) + 1 if num_parts is None else int(num_parts)
    coo = a.tocoo()
    crossing = p[coo.row] != p[coo.col]
    cut = np.bincount(p[coo.row][crossing], weights=coo.data[crossing], minlength=k)
    vol = np.bincount(p, weights=np.asarray(a.sum(axis=1)).ravel(), minlength=k)
    if np.any(vol <= 0):
        return float("inf")
    return float(np.sum(cut / vol))


def balance(parts: Any, num_parts: int, node_weights: np.ndarray | None = None) -> float:
    """``num_parts * max_k w(V_k) / w(V)`` (1 = perfectly balanced)."""
    p = np.asarray(parts)
    if not np.issubdtype(p.dtype, np.integer) or p.ndim != 1:
        raise ValueError(f"parts must be a 1-D integer array, got {p.dtype} {p.shape}")
    sizes = part_sizes(p.astype(np.int64), num_parts, node_weights)
    return float(num_parts * sizes.max() / sizes.sum())


def partition_report(adjacency: Any, parts: Any, num_parts: int) -> dict[str, float]:
    """``{"edge_cut", "normalized_cut", "balance", "imbalance_percent"}`` of one partition."""
    b = balance(parts, num_parts)
    return {"edge_cut": edge_cut(adjacency, parts), "normalized_cut": normalized_cut(adjacency, parts, num_parts),
            "balance": b, "imbalance_percent": 100.0 * (b - 1.0)}


def vertex_separator_from_parts(adjacency: Any, parts: Any) -> np.ndarray:
    """A vertex separator from an edge bisection: the boundary nodes of the side with fewer boundary nodes.

    Removing them disconnects part 0 from part 1. Returns ``[n]`` int64 labels: 0, 1 or 2 (separator).
    """
    a = check_adjacency(adjacency)
    p = check_parts(parts, a.shape[0], 2)
    coo = a.tocoo()
    crossing = p[coo.row] != p[coo.col]
    boundary = np.zeros(a.shape[0], dtype=bool)
    boundary[coo.row[crossing]] = True
    side = 0 if boundary[p == 0].sum() <= boundary[p == 1].sum() else 1
    out = p.copy()
    out[boundary & (p == side)] = 2
    return out


def separator_report(adjacency: Any, labels: Any) -> dict[str, float]:
    """Size of the separator (label 2) and the balance of parts 0 and 1; raises if an edge joins 0 and 1."""
    a = check_adjacency(adjacency)
    lab = check_parts(labels, a.shape[0], 3, "labels")
    coo = sp.triu(a, k=1).tocoo()
    joined = ((lab[coo.row] == 0) & (lab[coo.col] == 1)) | ((lab[coo.row] == 1) & (lab[coo.col] == 0))
    if joined.any():
        raise ValueError(f"labels is not a vertex separator: {int(joined.sum())} edge(s) join part 0 and part 1")
    sizes = np.bincount(lab, minlength=3)
    return {"separator_size": int(sizes[2]), "separator_fraction": float(sizes[2] / len(lab)),
            "balance": float(2 * max(sizes[0], sizes[1]) / max(sizes[0] + sizes[1], 1))}

"""Nested-dissection orderings from any bisection method, and the fill-in of the LU factor they give.

:func:`nested_dissection_order` splits the graph with ``bisect`` (any function ``adjacency -> 0/1 labels``, e.g.
METIS, spectral, the GNN partitioner), turns the edge cut into a vertex separator (a minimum vertex cover of the
cut edges, :func:`minimum_vertex_separator`), orders both halves recursively and the separator last. Subgraphs of
at most ``leaf_size`` nodes are ordered by minimum degree (or kept in order);
disconnected subgraphs are split into their components first (no separator needed).

:func:`lu_fill` measures a permutation: the matrix ``A[perm][:, perm]`` factored by SuperLU
(``scipy.sparse.linalg.splu``) with ``permc_spec="NATURAL"``, no pivoting (``diag_pivot_thresh=0``; the
matrices here are SPD) so the ordering is exactly the one given; ``fill = nnz(L) + nnz(U) - n`` against
``nnz(A)``. :func:`fill_in_table` compares natural order, COLAMD and MMD on ``A^T + A`` (SuperLU's own orderings,
the AMD-family baseline), METIS nested dissection and ND from the given bisection methods.

Examples:
    >>> from workbench.partition.graphs import grid_graph_2d
    >>> from workbench.partition.baselines import spectral_bisection
    >>> g = grid_graph_2d(12, 12)
    >>> perm = nested_dissection_order(g.adjacency, spectral_bisection, leaf_size=8)
    >>> sorted(perm.tolist()) == list(range(144))
    True
    >>> lu_fill(g.matrix, perm)["factor_nnz"] < lu_fill(g.matrix, None)["factor_nnz"]
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching
from scipy.sparse.linalg import splu

from workbench.partition.baselines import metis_nested_dissection
from workbench.partition.graphs import check_adjacency

__all__ = ["fill_in_table", "lu_factor_pattern", "lu_fill", "minimum_vertex_separator", "nested_dissection_order"]

Bisect = Callable[[sp.csr_matrix], np.ndarray]
Separate = Callable[[sp.csr_matrix, np.ndarray], np.ndarray]


def minimum_vertex_separator(adjacency: sp.csr_matrix, parts: np.ndarray) -> np.ndarray:
    """The smallest vertex separator inside the boundary of a bisection: a minimum vertex cover of the bipartite
    graph of cut edges (Konig's theorem, from a maximum matching). Returns labels 0, 1, 2 (separator) ``[n]``."""
    coo = sp.triu(adjacency, k=1).tocoo()
    cross = parts[coo.row] != parts[coo.col]
    if not cross.any():
        return parts.copy()
    u = np.where(parts[coo.row[cross]] == 0, coo.row[cross], coo.col[cross])
    v = np.where(parts[coo.row[cross]] == 0, coo.col[cross], coo.row[cross])
    left, li = np.unique(u, return_inverse=True)
    right, ri = np.unique(v, return_inverse=True)
    bip = sp.csr_matrix((np.ones(len(li)), (li, ri)), shape=(len(left), len(right)))
    match_l = maximum_bipartite_matching(bip, perm_type="column")  # left i -> right match_l[i] or -1
    match_r = -np.ones(len(right), dtype=np.int64)
    match_r[match_l[match_l >= 0]] = np.flatnonzero(match_l >= 0)
    seen_l = np.zeros(len(left), dtype=bool)
    seen_r = np.zeros(len(right), dtype=bool)
    queue = list(np.flatnonzero(match_l < 0))
    seen_l[queue] = True
    while queue:  # alternating paths from unmatched left nodes
        i = queue.pop()
        for j in bip.indices[bip.indptr[i]:bip.indptr[i + 1]]:
            if not seen_r[j]:
                seen_r[j] = True
                k = match_r[j]
                if k >= 0 and not seen_l[k]:
                    seen_l[k] = True
                    queue.append(k)
    out = parts.copy()
    out[left[~seen_l]] = 2
    out[right[seen_r]] = 2
    return out


def _leaf_order(a: sp.csr_matrix, nodes: np.ndarray, leaf_order: str) -> np.ndarray:
    if leaf_order == "natural" or len(nodes) < 3:
        return nodes
    sub = sp.csc_matrix(a[nodes][:, nodes])
    spd = sp.csc_matrix(sp.diags(np.asarray(sub.sum(axis=1)).ravel() + 1.0) - sub)
    lu = splu(spd, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    return nodes[np.argsort(lu.perm_c)]


def nested_dissection_order(adjacency: Any, bisect: Bisect, leaf_size: int = 64,
                            leaf_order: str = "mmd", separate: Separate | None = None) -> np.ndarray:
    """int64 ``perm`` ``[n]`` (``A[perm][:, perm]`` is the reordered matrix) by recursive vertex separators.

    The separator of every bisection is ``separate(sub_adjacency, parts)`` (labels 0/1/2 of a vertex separator),
    by default the minimum vertex cover of its cut edges (:func:`minimum_vertex_separator`; e.g.
    :meth:`~workbench.partition.separator_rl.SeparatorRefiner.separator` refines it with the RL agent); leaves are
    ordered by minimum degree (``leaf_order="mmd"``, SuperLU's MMD on the leaf, as METIS does at its leaves) or kept
    in their order (``"natural"``)."""
    a = check_adjacency(adjacency)
    if leaf_order not in ("mmd", "natural"):
        raise ValueError(f"leaf_order must be 'mmd' or 'natural', got {leaf_order!r}")
    if isinstance(leaf_size, bool) or not isinstance(leaf_size, (int, np.integer)) or leaf_size < 2:
        raise ValueError(f"leaf_size must be an integer >= 2, got {leaf_size!r}")
    separate = separate or minimum_vertex_separator
    order: list[np.ndarray] = []
    stack: list[np.ndarray] = [np.arange(a.shape[0])]
    # iterative post-order: a task is (nodes) to dissect, or ("emit", nodes) to append
    tasks: list[tuple[str, np.ndarray]] = [("split", stack[0])]
    while tasks:
        kind, nodes = tasks.pop()
        if kind == "emit":
            order.append(nodes)
            continue
        if len(nodes) <= leaf_size:
            order.append(_leaf_order(a, nodes, leaf_order))
            continue
        sub = a[nodes][:, nodes]
        count, labels = connected_components(sub, directed=False)
        if count > 1:
            for c in range(count - 1, -1, -1):
                tasks.append(("split", nodes[labels == c]))
            continue
        parts = np.asarray(bisect(sub), dtype=np.int64)
        lab = np.asarray(separate(sub, parts), dtype=np.int64)
        halves = [nodes[lab == 0], nodes[lab == 1]]
        sep = nodes[lab == 2]
        if min(len(halves[0]), len(halves[1])) == 0:
            order.append(_leaf_order(a, nodes, leaf_order))  # the bisection could not split it: a leaf
            continue
        tasks.append(("emit", sep))
        tasks.append(("split", halves[1]))
        tasks.append(("split", halves[0]))
    perm = np.concatenate(order).astype(np.int64)
    assert len(perm) == a.shape[0]
    return perm


def _factor(matrix: sp.spmatrix, perm: np.ndarray | None, permc_spec: str) -> Any:
    m = sp.csc_matrix(matrix, dtype=np.float64)
    if perm is not None:
        perm = np.asarray(perm, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(m.shape[0])):
            raise ValueError(f"perm must be a permutation of 0 .. {m.shape[0] - 1}")
        m = sp.csc_matrix(m[perm][:, perm])
    return splu(m, permc_spec=permc_spec, diag_pivot_thresh=0.0, options={"SymmetricMode": True})


def lu_fill(matrix: Any, perm: np.ndarray | None, permc_spec: str = "NATURAL") -> dict[str, float]:
    """Factor ``matrix[perm][:, perm]`` (``perm`` None: as it is) with SuperLU (``permc_spec``; ``"NATURAL"`` keeps
    the given order); returns ``factor_nnz`` (``nnz(L) + nnz(U) - n``), ``fill_ratio`` (that over ``nnz(A)``) and
    ``seconds`` (factorization)."""
    if not sp.issparse(matrix) or matrix.shape[0] != matrix.shape[1]:
        raise ValueError("matrix must be a square scipy.sparse matrix")
    start = time.perf_counter()
    lu = _factor(matrix, perm, permc_spec)
    seconds = time.perf_counter() - start
    nnz = lu.L.nnz + lu.U.nnz - matrix.shape[0]
    return {"factor_nnz": int(nnz), "fill_ratio": float(nnz / sp.csc_matrix(matrix).nnz), "seconds": seconds}


def lu_factor_pattern(matrix: Any, perm: np.ndarray | None) -> sp.csr_matrix:
    """The sparsity pattern of ``L + U`` (natural SuperLU order after ``perm``), CSR of ones, for plots."""
    lu = _factor(matrix, perm, "NATURAL")
    pattern = sp.csr_matrix(abs(lu.L) + abs(lu.U))
    pattern.data[:] = 1.0
    return pattern


def fill_in_table(matrix: Any, adjacency: Any, bisections: Mapping[str, Bisect], leaf_size: int = 64,
                  metis: bool = True, separated: Mapping[str, tuple[Bisect, Separate]] | None = None
                  ) -> pd.DataFrame:
    """One row per ordering: ``ordering``, ``factor_nnz``, ``fill_ratio``, ``ratio_to_metis_nd`` (when METIS ran),
    ``ratio_to_amd`` (MMD on ``A^T + A``), ``order_seconds``, ``factor_seconds``.

    Orderings: ``natural``, ``colamd``, ``amd`` (SuperLU's ``MMD_AT_PLUS_A``), ``metis_nd`` (if ``metis``) and
    ``nd_<name>`` for every bisection method given, and for every ``(bisect, separate)`` pair of ``separated``
    (:func:`nested_dissection_order` with that ``separate``, e.g. an RL-refined separator)."""
    rows = []
    for name, spec in (("natural", "NATURAL"), ("colamd", "COLAMD"), ("amd", "MMD_AT_PLUS_A")):
        r = lu_fill(matrix, None, spec)
        rows.append({"ordering": name, **r, "order_seconds": 0.0})
    orderings: dict[str, Callable[[], np.ndarray]] = {}
    if metis:
        orderings["metis_nd"] = lambda: metis_nested_dissection(adjacency)
    for name, bisect in bisections.items():
        orderings[f"nd_{name}"] = lambda b=bisect: nested_dissection_order(adjacency, b, leaf_size)
    for name, (bisect, separate) in (separated or {}).items():
        orderings[f"nd_{name}"] = lambda b=bisect, s=separate: nested_dissection_order(adjacency, b, leaf_size,
                                                                                       separate=s)
    for name, make in orderings.items():
        start = time.perf_counter()
        perm = make()
        order_seconds = time.perf_counter() - start
        rows.append({"ordering": name, **lu_fill(matrix, perm), "order_seconds": order_seconds})
    table = pd.DataFrame(rows).rename(columns={"seconds": "factor_seconds"})
    if metis:
        table["ratio_to_metis_nd"] = table.factor_nnz / float(table.set_index("ordering").factor_nnz["metis_nd"])
    table["ratio_to_amd"] = table.factor_nnz / float(table.set_index("ordering").factor_nnz["amd"])
    return table

"""Classical partitioners: METIS (pymetis, the ``partition`` extra), spectral bisection (Fiedler vector), BFS and
random bisection, and the balanced split of a node score.

Every function takes a symmetric adjacency (:func:`workbench.partition.graphs.check_adjacency`) and returns int64
part labels ``[n]``. Bisections are balanced by construction (:func:`split_by_score`: the ``floor(n/2)`` nodes with
the lowest score form part 0), METIS within its own tolerance. Disconnected graphs: METIS, BFS and random accept
them (BFS restarts in every component); spectral bisection raises (its Fiedler vector would only find the
components).

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> from workbench.partition.metrics import balance
    >>> g = random_delaunay(300, seed=1)
    >>> parts = spectral_bisection(g.adjacency)
    >>> balance(parts, 2)
    1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order
from scipy.sparse.linalg import eigsh, lobpcg

from workbench.partition.graphs import check_adjacency, check_num_parts, num_components, require_connected

__all__ = ["bfs_bisection", "fiedler_vector", "metis_nested_dissection", "metis_partition", "random_bisection",
           "recursive_bisection", "require_pymetis", "spectral_bisection", "split_by_score"]


def require_pymetis() -> Any:
    """The ``pymetis`` module; ImportError naming the ``partition`` extra when missing."""
    try:
        import pymetis  # optional heavy dependency (the 'partition' extra): the METIS baselines only
    except ImportError as err:
        raise ImportError("METIS baselines need pymetis (the 'partition' extra): pip install "
                          "'equivariant-workbench[partition]' or pip install pymetis") from err
    return pymetis


def split_by_score(score: np.ndarray, node_weights: np.ndarray | None = None) -> np.ndarray:
    """Balanced bisection of a score: nodes sorted by score, part 0 = the prefix holding half the total weight
    (ties by node index, so the result is a function of the score alone)."""
    score = np.asarray(score, dtype=np.float64)
    w = np.ones(len(score)) if node_weights is None else np.asarray(node_weights, dtype=np.float64)
    order = np.lexsort((np.arange(len(score)), score))
    cum = np.cumsum(w[order])
    half = cum[-1] / 2.0
    # the prefix whose weight is closest to half
    cut = int(np.argmin(np.abs(cum - half))) + 1
    parts = np.ones(len(score), dtype=np.int64)
    parts[order[:cut]] = 0
    return parts


def _csr_arrays(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weights = np.maximum(np.rint(adjacency.data), 1).astype(np.int64)
    return adjacency.indptr.astype(np.int64), adjacency.indices.astype(np.int64), weights


def metis_partition(adjacency: Any, num_parts: int = 2, seed: int = 0,
                    node_weights: np.ndarray | None = None) -> np.ndarray:
    """METIS k-way partition (``METIS_PartGraphRecursive`` for 2 parts, ``METIS_PartGraphKway`` above), edge
    weights rounded to integers >= 1."""
    pymetis = require_pymetis()
    a = check_adjacency(adjacency)
    k = check_num_parts(num_parts, a.shape[0])
    xadj, adjncy, ew = _csr_arrays(a)
    options = pymetis.Options(seed=int(seed))
    vw = None if node_weights is None else np.maximum(np.rint(node_weights), 1).astype(np.int64).tolist()
    graph = pymetis.CSRAdjacency(xadj, adjncy)
    _, parts = pymetis.part_graph(k, graph, eweights=ew.tolist(), vweights=vw, recursive=k == 2, options=options)
    return np.asarray(parts, dtype=np.int64)


def metis_nested_dissection(adjacency: Any) -> np.ndarray:
    """METIS's nested-dissection ordering (``METIS_NodeND``): int64 ``perm`` with ``A[perm][:, perm]`` the
    reordered matrix."""
    pymetis = require_pymetis()
    a = check_adjacency(adjacency)
    xadj, adjncy, _ = _csr_arrays(a)
    perm, _ = pymetis.nested_dissection(pymetis.CSRAdjacency(xadj, adjncy))
    return np.asarray(perm, dtype=np.int64)


def fiedler_vector(adjacency: Any, method: str = "eigsh", seed: int = 0) -> np.ndarray:
    """The generalized Fiedler vector ``y`` of ``L y = lambda D y`` (the relaxation of the normalized cut), float64
    ``[n]``, from the second-smallest eigenvector of ``I - D^-1/2 A D^-1/2``.

    ``method="eigsh"``: ARPACK in shift-invert mode around ``-1e-3``; ``"lobpcg"``: LOBPCG with the trivial
    eigenvector ``D^1/2 1`` as constraint. The sign is fixed so that ``y[0] <= 0``. Needs a connected graph.
    """
    a = check_adjacency(adjacency)
    require_connected(a, "spectral bisection")
    if method not in ("eigsh", "lobpcg"):
        raise ValueError(f"method must be 'eigsh' or 'lobpcg', got {method!r}")
    n = a.shape[0]
    d = np.asarray(a.sum(axis=1)).ravel()
    s = 1.0 / np.sqrt(d)
    lap = sp.csc_matrix(sp.identity(n) - sp.diags(s) @ a @ sp.diags(s))
    rng = np.random.default_rng(seed)
    if n <= 3:
        _, vecs = np.linalg.eigh(lap.toarray())
        u = vecs[:, 1]
    elif method == "eigsh":
        _, vecs = eigsh(lap, k=2, sigma=-1e-3, which="LM", v0=rng.random(n))
        u = vecs[:, 1]
    else:
        trivial = np.sqrt(d)[:, None] / np.linalg.norm(np.sqrt(d))
        x0 = rng.standard_normal((n, 1))
        _, vecs = lobpcg(lap, x0, Y=trivial, largest=False, tol=1e-6, maxiter=500)
        u = vecs[:, 0]
    y = s * u
    return -y if y[0] > 0 else y


def spectral_bisection(adjacency: Any, method: str = "eigsh", seed: int = 0) -> np.ndarray:
    """Balanced split of the generalized Fiedler vector (:func:`fiedler_vector`)."""
    return split_by_score(fiedler_vector(adjacency, method, seed))


def random_bisection(num_nodes: int, seed: int = 0) -> np.ndarray:
    """A uniformly random balanced bisection of ``num_nodes`` nodes."""
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 2:
        raise ValueError(f"num_nodes must be an integer >= 2, got {num_nodes!r}")
    return split_by_score(np.random.default_rng(seed).random(int(num_nodes)))


def bfs_bisection(adjacency: Any, seed: int = 0) -> np.ndarray:
    """Grow part 0 by breadth-first search from a pseudo-peripheral node (the last node reached by a BFS from a
    seeded random start) until it holds half the nodes; disconnected graphs: the search restarts in the next
    component."""
    a = check_adjacency(adjacency)
    n = a.shape[0]
    start = int(np.random.default_rng(seed).integers(n))
    start = int(breadth_first_order(a, start, directed=False, return_predecessors=False)[-1])
    order, seen = [], np.zeros(n, dtype=bool)
    for root in [start, *range(n)]:
        if seen[root]:
            continue
        comp = breadth_first_order(a, root, directed=False, return_predecessors=False)
        seen[comp] = True
        order.append(comp)
    rank = np.empty(n)
    rank[np.concatenate(order)] = np.arange(n)
    return split_by_score(rank)


def recursive_bisection(adjacency: Any, bisect: Callable[[sp.csr_matrix], np.ndarray], num_parts: int
                        ) -> np.ndarray:
    """A ``num_parts``-way partition (a power of two, ``<= n``) by recursive bisection with ``bisect`` (any function
    ``adjacency -> 0/1 labels``: spectral, the GNN partitioner, ...): int64 labels ``[n]`` in ``0 .. num_parts-1``.
    A subgraph that is disconnected (a bisection can leave one) is split by :func:`bfs_bisection` instead, which
    handles components; ``num_parts = 2`` is one call of ``bisect``."""
    a = check_adjacency(adjacency)
    k = check_num_parts(num_parts, a.shape[0])
    if k & (k - 1):
        raise ValueError(f"num_parts must be a power of two for recursive bisection, got {num_parts!r} (METIS "
                         "k-way takes any k)")
    labels = np.zeros(a.shape[0], dtype=np.int64)
    tasks = [(np.arange(a.shape[0]), 0, k)]
    while tasks:
        nodes, first, parts = tasks.pop()
        if parts == 1:
            labels[nodes] = first
            continue
        sub = a[nodes][:, nodes]
        half = bfs_bisection(sub) if num_components(sub) > 1 else np.asarray(bisect(sub), dtype=np.int64)
        tasks.append((nodes[half == 0], first, parts // 2))
        tasks.append((nodes[half == 1], first + parts // 2, parts // 2))
    return labels

"""Batched Laplacian eigendecomposition with padding to ``k`` eigenvectors, masks and eigenspaces.

Every graph of a batch (PyG convention, :mod:`workbench.spectral.graphs`) is decomposed on its own, in float64 by
default (graphs of equal size share one batched ``torch.linalg.eigh`` call), and its ``k`` eigenvectors of lowest
eigenvalue are kept. Conventions, also for the awkward cases:

- **graphs with fewer than k nodes** have only ``n < k`` eigenvectors: columns ``n..k-1`` of ``eigvecs`` are zero,
  ``mask`` is False there, ``eigvals`` 0, ``eigenspace`` -1, ``multiplicity`` 0;
- **disconnected graphs** (several components, isolated nodes included) are decomposed as they are: eigenvalue 0
  has multiplicity = number of components (``num_components``), its eigenspace is spanned by the components'
  indicator vectors and any orthonormal basis of it is as good as another, which is exactly the basis ambiguity
  BasisNet removes. An isolated node under ``"sym"`` normalization has eigenvalue 1 instead (see
  :mod:`~workbench.spectral.laplacian`), so there eigenvalue 0 counts the components with edges;
  ``num_components`` counts all of them;
- **an eigenspace cut by k** (its multiplicity reaches past the k-th eigenvalue) is marked ``complete = False``:
  which part of it ``eigh`` returns is arbitrary, so no function of the kept vectors is basis invariant; BasisNet
  leaves such eigenvectors out, SignNet (sign invariant only) uses them;
- the eigenvectors' signs and bases within eigenspaces are whatever LAPACK returns: nothing canonical.

Examples:
    >>> import torch
    >>> from workbench.spectral import laplacian_eigenbasis
    >>> ring = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 0], [1, 0, 2, 1, 3, 2, 0, 3]])  # the 4-cycle
    >>> basis = laplacian_eigenbasis(ring, torch.tensor([0, 4]), k=6, normalization="combinatorial")
    >>> basis.eigvals.round(decimals=6).abs()
    tensor([[0., 2., 2., 4., 0., 0.]], dtype=torch.float64)
    >>> basis.eigenspace, basis.mask.sum().item()
    (tensor([[ 0,  1,  1,  2, -1, -1]]), 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.spectral.eigenspaces import DEFAULT_TOL, eigenspace_ids
from workbench.spectral.graphs import check_graph_batch, graph_sizes, node_graph_index, split_edges
from workbench.spectral.laplacian import NORMALIZATIONS, laplacian

__all__ = ["EigenBasis", "laplacian_eigenbasis"]


@dataclass
class EigenBasis:
    """The first ``k`` Laplacian eigenpairs of each graph of a batch of ``B`` graphs with ``N`` nodes.

    ``eigvecs [N, k]``: row i holds node i's entries of its graph's eigenvectors (column j: the j-th lowest
    eigenvalue; zero where ``mask`` is False). ``eigvals [B, k]``, ``mask [B, k]`` bool (the eigenvector exists),
    ``eigenspace [B, k]`` int64 (graph-local eigenspace index, ascending; -1 for padding), ``multiplicity [B, k]``
    int64 (dimension of the whole eigenspace, also beyond k), ``complete [B, k]`` bool (the whole eigenspace is among
    the k kept), ``num_components [B]`` int64, ``ptr [B+1]`` (as given), ``normalization`` (``"combinatorial"`` or
    ``"sym"``). :meth:`per_node` broadcasts a ``[B, k]`` field to the nodes (``[N, k]``).
    """

    eigvecs: torch.Tensor
    eigvals: torch.Tensor
    mask: torch.Tensor
    eigenspace: torch.Tensor
    multiplicity: torch.Tensor
    complete: torch.Tensor
    num_components: torch.Tensor
    ptr: torch.Tensor
    normalization: str

    @property
    def k(self) -> int:
        return self.eigvecs.shape[1]

    def per_node(self, field: torch.Tensor) -> torch.Tensor:
        """``field [B, ...]`` repeated for every node of each graph: ``[N, ...]``."""
        return field[node_graph_index(self.ptr)]

    def with_eigvecs(self, eigvecs: torch.Tensor) -> EigenBasis:
        """The same basis record with other eigenvectors (e.g. after a sign flip or a rotation of an eigenspace)."""
        return EigenBasis(eigvecs, self.eigvals, self.mask, self.eigenspace, self.multiplicity, self.complete,
                          self.num_components, self.ptr, self.normalization)


def laplacian_eigenbasis(edge_index: torch.Tensor, ptr: torch.Tensor, k: int, normalization: str = "sym",
                         edge_weight: torch.Tensor | None = None, tol: float = DEFAULT_TOL,
                         dtype: torch.dtype = torch.float64) -> EigenBasis:
    """The ``k`` lowest Laplacian eigenpairs of every graph in a batch, padded and masked (module docstring).

    Args:
        edge_index: ``[2, E]`` int64, global node indices, both directions, no self-loops.
        ptr: ``[B+1]`` int64 graph boundaries.
        k: eigenvectors kept per graph (``>= 1``).
        normalization: ``"sym"`` (default) or ``"combinatorial"`` (:func:`~workbench.spectral.laplacian`).
        edge_weight: optional ``[E]`` positive finite weights.
        tol: relative tolerance of equal eigenvalues (:func:`~workbench.spectral.eigenspace_ids`).
        dtype: float dtype of the decomposition and of the result (float64 by default).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    check_graph_batch(edge_index, ptr, edge_weight)
    sizes = graph_sizes(ptr).tolist()
    n_graphs, n_nodes = len(sizes), int(ptr[-1])
    edges = split_edges(edge_index, ptr)
    if edge_weight is not None:
        g = node_graph_index(ptr)[edge_index[0]]
        weights = [edge_weight[g == b] for b in range(n_graphs)]
    else:
        weights = [None] * n_graphs
    eigvecs = torch.zeros(n_nodes, k, dtype=dtype)
    eigvals = torch.zeros(n_graphs, k, dtype=dtype)
    mask = torch.zeros(n_graphs, k, dtype=torch.bool)
    space = torch.full((n_graphs, k), -1, dtype=torch.int64)
    mult = torch.zeros(n_graphs, k, dtype=torch.int64)
    complete = torch.zeros(n_graphs, k, dtype=torch.bool)
    components = torch.zeros(n_graphs, dtype=torch.int64)
    by_size: dict[int, list[int]] = {}
    for b, n in enumerate(sizes):
        by_size.setdefault(n, []).append(b)
    for n, members in by_size.items():
        lap = torch.stack([laplacian(edges[b], n, normalization, weights[b], dtype) for b in members])
        vals, vecs = torch.linalg.eigh(lap)  # ascending, per graph
        m = min(n, k)
        for row, b in enumerate(members):
            ids = eigenspace_ids(vals[row], tol)
            counts = torch.bincount(ids)
            start = int(ptr[b])
            eigvecs[start : start + n, :m] = vecs[row, :, :m]
            eigvals[b, :m] = vals[row, :m]
            mask[b, :m] = True
            space[b, :m] = ids[:m]
            mult[b, :m] = counts[ids[:m]]
            # an eigenspace is complete when all its members are among the first m
            kept = torch.bincount(ids[:m], minlength=len(counts))
            complete[b, :m] = (kept == counts)[ids[:m]]
            # eigenvalue 0 once per component, except that "sym" gives an isolated node eigenvalue 1
            zero = int(counts[0]) if float(vals[row, 0].abs()) <= 1e-8 * max(1.0, float(vals[row, -1])) else 0
            isolated = int(((lap[row] != 0).sum(dim=1) == 1).sum()) if normalization == "sym" else 0
            components[b] = zero + isolated
    return EigenBasis(eigvecs, eigvals, mask, space, mult, complete, components, ptr.clone(), normalization)

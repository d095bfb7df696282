"""The ambiguities of an eigenbasis, as random transformations: sign flips and orthogonal maps of eigenspaces.

Any ``v -> -v`` of an eigenvector, and any orthogonal ``Q`` acting on the basis of an eigenspace of dimension
``d`` (``V_s -> V_s Q``, ``Q`` in O(d)), gives another valid output of an eigensolver. A positional encoding that is
a function of the graph must not change under them; these functions draw them so tests and the pipeline can check.

Examples:
    >>> import torch
    >>> from workbench.spectral import laplacian_eigenbasis, random_sign_flips
    >>> path = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> basis = laplacian_eigenbasis(path, torch.tensor([0, 3]), k=3)
    >>> flipped = random_sign_flips(basis, torch.Generator().manual_seed(0))
    >>> bool(torch.equal(flipped.eigvecs.abs(), basis.eigvecs.abs()))
    True
"""

from __future__ import annotations

import torch

from workbench.spectral.batch import GraphBatch
from workbench.spectral.eigen import EigenBasis
from workbench.spectral.graphs import graph_sizes, node_graph_index

__all__ = ["haar_orthogonal", "random_basis_change", "random_sign_flips"]


def haar_orthogonal(d: int, generator: torch.Generator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A Haar-random element of O(d) (reflections included), ``[d, d]``."""
    q, r = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=dtype))
    return q * torch.sign(torch.diagonal(r))[None, :]


def random_sign_flips(basis: EigenBasis | GraphBatch, generator: torch.Generator) -> EigenBasis | GraphBatch:
    """``basis`` (an :class:`EigenBasis` or a :class:`~workbench.spectral.GraphBatch`, returned as the same type)
    with every eigenvector of every graph multiplied by an independent random sign (+1 or -1)."""
    ptr, k = basis.ptr, basis.eigvecs.shape[1]
    signs = torch.randint(0, 2, (len(ptr) - 1, k), generator=generator).to(basis.eigvecs.dtype) * 2 - 1
    return basis.with_eigvecs(basis.eigvecs * signs[node_graph_index(ptr)])


def random_basis_change(basis: EigenBasis | GraphBatch, generator: torch.Generator) -> EigenBasis | GraphBatch:
    """``basis`` (an :class:`EigenBasis` or a :class:`~workbench.spectral.GraphBatch`, returned as the same type)
    with the kept basis of every *complete* eigenspace of every graph replaced by ``V_s Q`` for a Haar-random ``Q``
    in O(d) (d = multiplicity; d = 1 is a random sign). Eigenvectors of an eigenspace cut by k get a random sign
    only (their true ambiguity reaches outside the kept vectors)."""
    if isinstance(basis, EigenBasis):
        space, complete, mask = basis.eigenspace, basis.complete, basis.mask
    else:  # a GraphBatch holds the per-graph fields on every node; read them at each graph's first node
        first = basis.ptr[:-1]
        space, complete, mask = basis.eigenspace[first], basis.eig_complete[first], basis.eig_mask[first]
    vecs = basis.eigvecs.clone()
    for b, n in enumerate(graph_sizes(basis.ptr).tolist()):
        rows = slice(int(basis.ptr[b]), int(basis.ptr[b]) + n)
        for s in torch.unique(space[b][mask[b]]).tolist():
            cols = torch.nonzero(space[b] == s).flatten()
            if bool(complete[b, cols[0]]):
                q = haar_orthogonal(len(cols), generator, vecs.dtype)
            else:
                signs = torch.randint(0, 2, (len(cols),), generator=generator).to(vecs.dtype) * 2 - 1
                q = torch.diag(signs)
            vecs[rows, cols] = vecs[rows][:, cols] @ q
    return basis.with_eigvecs(vecs)

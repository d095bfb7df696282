"""workbench.spectral: Laplacians against networkx, eigenpairs and multiplicities on graphs with exact degeneracy,
padding/masks for small graphs, disconnected graphs and isolated nodes, RWSE, the ambiguity transforms, bad input."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch

from workbench.spectral import (
    collate_graphs,
    cycle_graph,
    eigenspace_ids,
    encode_graph,
    grid_graph,
    hypercube_graph,
    laplacian,
    laplacian_eigenbasis,
    random_basis_change,
    random_sign_flips,
    random_walk_se,
    undirected,
)

pytestmark = pytest.mark.unit


def _nx_graph(edge_index: torch.Tensor, n: int) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edge_index.T.tolist())
    return g


@pytest.mark.parametrize("normalization", ["combinatorial", "sym"])
def test_laplacian_matches_networkx(normalization):
    edges = undirected([(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)])  # triangle + pendant, an edge, an isolated node
    g = _nx_graph(edges, 7)
    ours = laplacian(edges, 7, normalization).numpy()
    ref = (nx.laplacian_matrix(g, nodelist=range(7)) if normalization == "combinatorial"
           else nx.normalized_laplacian_matrix(g, nodelist=range(7))).toarray()
    if normalization == "sym":
        ref[6, 6] = 1.0  # isolated node: our (and PyG's) convention I - D^-1/2 A D^-1/2 with D^-1/2 = 0 there
    np.testing.assert_allclose(ours, ref, atol=1e-14)


def _ptr(*sizes):
    return torch.tensor([0, *np.cumsum(sizes).tolist()])


def test_eigenbasis_reconstructs_the_laplacian_and_groups_exact_multiplicities():
    graphs = [(cycle_graph(6), 6), (grid_graph(3, 3), 9), (hypercube_graph(3), 8)]
    ptr = _ptr(6, 9, 8)
    edges = torch.cat([e + ptr[i] for i, (e, _) in enumerate(graphs)], dim=1)
    basis = laplacian_eigenbasis(edges, ptr, k=9, normalization="combinatorial")
    assert basis.eigvecs.dtype == torch.float64
    for b, (e, n) in enumerate(graphs):
        v = basis.eigvecs[ptr[b] : ptr[b] + n, :n]
        lam = basis.eigvals[b, :n]
        np.testing.assert_allclose((v.T @ v).numpy(), np.eye(n), atol=1e-12)
        np.testing.assert_allclose((v @ torch.diag(lam) @ v.T).numpy(), laplacian(e, n).numpy(), atol=1e-12)
    # C_6: 0, 1, 1, 3, 3, 4 (2 - 2 cos(2 pi j / 6)); Q_3: 0, 2 (x3), 4 (x3), 6
    assert basis.multiplicity[0, :6].tolist() == [1, 2, 2, 2, 2, 1]
    np.testing.assert_allclose(basis.eigvals[0, :6].numpy(), [0, 1, 1, 3, 3, 4], atol=1e-12)
    assert basis.multiplicity[2, :8].tolist() == [1, 3, 3, 3, 3, 3, 3, 1]
    assert basis.multiplicity[1].tolist()[:4] == [1, 2, 2, 1]  # 3x3 grid: a degenerate pair after the 0
    # padding: C_6 and Q_3 have fewer than 9 eigenvectors
    assert basis.mask.sum(dim=1).tolist() == [6, 9, 8]
    assert basis.eigenspace[0, 6:].tolist() == [-1] * 3 and bool((basis.eigvecs[:6, 6:] == 0).all())
    assert basis.num_components.tolist() == [1, 1, 1]


def test_eigenspace_cut_by_k_is_marked_incomplete():
    basis = laplacian_eigenbasis(hypercube_graph(3), _ptr(8), k=3, normalization="combinatorial")
    assert basis.complete[0].tolist() == [True, False, False]  # the 3-dim eigenspace of 2 is cut at k=3
    assert basis.multiplicity[0].tolist() == [1, 3, 3]


def test_disconnected_graph_and_isolated_nodes():
    edges = undirected([(0, 1), (1, 2), (3, 4)])  # path of 3, an edge, isolated node 5
    basis = laplacian_eigenbasis(edges, _ptr(6), k=6, normalization="sym")
    assert basis.num_components.tolist() == [3]
    assert basis.multiplicity[0, 0] == 2 and basis.complete[0].all()  # "sym": the isolated node has eigenvalue 1
    np.testing.assert_allclose(basis.eigvals[0, :2].numpy(), 0, atol=1e-12)
    combinatorial = laplacian_eigenbasis(edges, _ptr(6), k=6, normalization="combinatorial")
    assert combinatorial.num_components.tolist() == [3] and combinatorial.multiplicity[0, 0] == 3
    # the isolated node is an eigenvector of eigenvalue 1 of the normalized Laplacian
    lap = laplacian(edges, 6, "sym")
    e5 = torch.zeros(6, dtype=torch.float64)
    e5[5] = 1
    np.testing.assert_allclose((lap @ e5).numpy(), e5.numpy(), atol=1e-15)
    assert random_walk_se(edges, _ptr(6), 4)[5].abs().sum() == 0


def test_rwse_matches_matrix_powers():
    edges = grid_graph(2, 3)
    a = nx.to_numpy_array(_nx_graph(edges, 6), nodelist=range(6))
    p = a / a.sum(axis=1, keepdims=True)
    expected = np.stack([np.diag(np.linalg.matrix_power(p, t)) for t in range(1, 6)], axis=1)
    np.testing.assert_allclose(random_walk_se(edges, _ptr(6), 5).numpy(), expected, atol=1e-14)


def test_ambiguity_transforms_keep_a_valid_eigenbasis_and_change_the_vectors():
    n = 8
    basis = laplacian_eigenbasis(hypercube_graph(3), _ptr(n), k=n, normalization="combinatorial")
    gen = torch.Generator().manual_seed(0)
    lap = laplacian(hypercube_graph(3), n)
    for transformed in (random_sign_flips(basis, gen), random_basis_change(basis, gen)):
        v = transformed.eigvecs
        np.testing.assert_allclose((v.T @ v).numpy(), np.eye(n), atol=1e-12)
        np.testing.assert_allclose((lap @ v).numpy(), (v * basis.eigvals[0]).numpy(), atol=1e-12)
        assert float((v - basis.eigvecs).abs().max()) > 0.1
    # projectors onto eigenspaces are unchanged by a basis change
    rotated = random_basis_change(basis, gen).eigvecs
    for s in range(4):
        cols = basis.eigenspace[0] == s
        p0 = basis.eigvecs[:, cols] @ basis.eigvecs[:, cols].T
        p1 = rotated[:, cols] @ rotated[:, cols].T
        np.testing.assert_allclose(p1.numpy(), p0.numpy(), atol=1e-13)


def test_encode_and_collate():
    g1 = encode_graph(torch.tensor([0, 1, 2]), undirected([(0, 1), (1, 2)]), y=torch.tensor([1.5]), k=4)
    g2 = encode_graph(torch.tensor([3] * 6), cycle_graph(6), y=torch.tensor([-1.0]), k=4)
    batch = collate_graphs([g1, g2])
    assert batch.ptr.tolist() == [0, 3, 9] and batch.batch.tolist() == [0] * 3 + [1] * 6
    assert batch.edge_index.shape == (2, 16) and int(batch.edge_index[:, 4:].min()) == 3
    assert batch.eig_mask[:3].tolist() == [[True, True, True, False]] * 3 and batch.eig_mask[3:].all()
    assert batch.y.tolist() == [[1.5], [-1.0]]
    perm = torch.tensor([2, 0, 1, 8, 7, 6, 5, 4, 3])
    moved = batch.permuted(perm)
    assert torch.equal(moved.eigvecs, batch.eigvecs[perm])
    # the permuted graph is the same graph: its Laplacian is the permuted Laplacian
    a0 = torch.zeros(9, 9)
    a0[batch.edge_index[0], batch.edge_index[1]] = 1
    a1 = torch.zeros(9, 9)
    a1[moved.edge_index[0], moved.edge_index[1]] = 1
    assert torch.equal(a1, a0[perm][:, perm])


def test_eigenspace_ids_tolerance():
    vals = torch.tensor([0.0, 1.0, 1.0 + 1e-9, 1.5, 2.0, 2.0], dtype=torch.float64)
    assert eigenspace_ids(vals).tolist() == [0, 1, 1, 2, 3, 3]
    assert eigenspace_ids(vals, tol=0.0).tolist() == [0, 1, 2, 3, 4, 4]
    with pytest.raises(ValueError, match="ascending"):
        eigenspace_ids(vals.flip(0))
    with pytest.raises(ValueError, match="finite"):
        eigenspace_ids(torch.tensor([0.0, math.nan], dtype=torch.float64))


@pytest.mark.parametrize("edges, ptr, match", [
    (torch.tensor([[0, 1]]), _ptr(2), r"edge_index must have shape \[2, E\]"),
    (torch.tensor([[0], [1]]), _ptr(2), "undirected"),
    (torch.tensor([[0, 0], [0, 0]]), _ptr(2), "self-loops"),
    (torch.tensor([[0, 5], [5, 0]]), _ptr(2), r"in \[0, 2\)"),
    (torch.tensor([[1, 2], [2, 1]]), _ptr(2, 2), "between two different graphs"),
    (torch.zeros(2, 0, dtype=torch.int64), torch.tensor([0, 2, 2]), "empty graph"),
    (torch.zeros(2, 0, dtype=torch.int64), torch.tensor([1, 2]), "start at 0"),
])
def test_bad_graphs_raise(edges, ptr, match):
    with pytest.raises(ValueError, match=match):
        laplacian_eigenbasis(edges, ptr, k=2)


def test_bad_arguments_raise():
    edges = cycle_graph(4)
    with pytest.raises(TypeError, match="edge_index must have dtype torch.int64"):
        laplacian_eigenbasis(edges.int(), _ptr(4), k=2)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        laplacian_eigenbasis(edges, _ptr(4), k=0)
    with pytest.raises(ValueError, match="normalization must be one of"):
        laplacian(edges, 4, "rw")
    with pytest.raises(ValueError, match="edge_weight must be finite"):
        laplacian(edges, 4, edge_weight=torch.tensor([1.0, math.inf, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="equal weights"):
        laplacian(edges, 4, edge_weight=torch.arange(1.0, 9.0))
    with pytest.raises(ValueError, match="y must be finite"):
        encode_graph(torch.tensor([0, 1]), undirected([(0, 1)]), y=torch.tensor([math.nan]))
    with pytest.raises(ValueError, match="at least one node"):
        encode_graph(torch.zeros(0, dtype=torch.int64), torch.zeros(2, 0, dtype=torch.int64))

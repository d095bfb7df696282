"""workbench.partition: metrics against hand-computed small graphs, bad input (disconnected, self-loops, asymmetric,
k > n), generators, baselines, coarsening, FM refinement, nested dissection and fill-in."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy
import scipy.io
import scipy.sparse as sp

from workbench.partition import (
    balance,
    bfs_bisection,
    check_adjacency,
    coarsen_hierarchy,
    edge_cut,
    fe_mesh,
    fiedler_vector,
    fill_in_table,
    fm_refine,
    graph_from_matrix,
    grid_graph_2d,
    laplacian_2d,
    laplacian_3d,
    largest_component,
    load_matrix_market,
    lu_fill,
    metis_nested_dissection,
    metis_partition,
    nested_dissection_order,
    normalized_cut,
    random_bisection,
    random_delaunay,
    scipy_test_matrix,
    spectral_bisection,
)
from workbench.partition.graphs import num_components
from workbench.partition.metrics import separator_report, vertex_separator_from_parts
from workbench.partition.nested_dissection import minimum_vertex_separator

#: the METIS baselines need the 'partition' extra (make test installs it)
needs_pymetis = pytest.mark.skipif(importlib.util.find_spec("pymetis") is None,
                                   reason="pymetis (the 'partition' extra) is not installed")

pytestmark = pytest.mark.unit


def _adj(edges, n, weights=None):
    i, j = np.array(edges).T
    w = np.ones(len(i)) if weights is None else np.asarray(weights, dtype=float)
    a = sp.coo_matrix((w, (i, j)), shape=(n, n))
    return sp.csr_matrix(a + a.T)


# a triangle 0-1-2 joined by edge 2-3 (weight 2) to a triangle 3-4-5
BOWTIE = _adj([(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (4, 5), (3, 5)], 6, [1, 1, 1, 2, 1, 1, 1])


def test_metrics_on_hand_computed_graphs():
    parts = np.array([0, 0, 0, 1, 1, 1])
    # cut = w(2,3) = 2; vol(V0) = deg0 + deg1 + deg2 = 2 + 2 + 4 = 8 = vol(V1); ncut = 2/8 + 2/8
    assert edge_cut(BOWTIE, parts) == 2.0
    assert normalized_cut(BOWTIE, parts) == pytest.approx(0.5, abs=1e-15)
    assert balance(parts, 2) == 1.0
    worse = np.array([0, 0, 1, 1, 1, 1])
    # cut edges 0-2, 1-2 = 2; vol(V0) = 4, vol(V1) = 12; ncut = 2/4 + 2/12
    assert edge_cut(BOWTIE, worse) == 2.0
    assert normalized_cut(BOWTIE, worse) == pytest.approx(0.5 + 1 / 6, abs=1e-15)
    assert balance(worse, 2) == pytest.approx(2 * 4 / 6)
    # three parts on a path 0-1-2-3-4-5: {0,1}, {2,3}, {4,5}: cut 2; vols 3, 4, 3 -> 1/3 + 2/4 + 1/3
    path = _adj([(k, k + 1) for k in range(5)], 6)
    three = np.array([0, 0, 1, 1, 2, 2])
    assert edge_cut(path, three) == 2.0
    assert normalized_cut(path, three) == pytest.approx(1 / 3 + 0.5 + 1 / 3, abs=1e-15)
    assert balance(np.array([0, 0, 0, 0, 1, 2]), 3) == 2.0
    assert normalized_cut(path, np.zeros(6, dtype=int), 2) == float("inf")  # an empty part


def test_metrics_are_invariant_to_node_permutation():
    g = random_delaunay(120, seed=3)
    parts = spectral_bisection(g.adjacency)
    perm = np.random.default_rng(0).permutation(120)
    a2, p2 = g.adjacency[perm][:, perm], parts[perm]
    assert edge_cut(a2, p2) == edge_cut(g.adjacency, parts)
    assert normalized_cut(a2, p2) == pytest.approx(normalized_cut(g.adjacency, parts), rel=1e-12)
    assert normalized_cut(g.adjacency, 1 - parts) == pytest.approx(normalized_cut(g.adjacency, parts), rel=1e-12)


@needs_pymetis
def test_bad_input_is_rejected_with_clear_errors():
    with pytest.raises(ValueError, match="symmetric"):
        check_adjacency(sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]])))
    loops = BOWTIE.tolil()
    loops[1, 1] = 3.0
    with pytest.raises(ValueError, match="self-loops"):
        check_adjacency(loops.tocsr())
    assert check_adjacency(loops.tocsr(), drop_self_loops=True).diagonal().sum() == 0
    with pytest.raises(ValueError, match="non-negative"):
        check_adjacency(sp.csr_matrix(np.array([[0.0, -1.0], [-1.0, 0.0]])))
    with pytest.raises(ValueError, match="square"):
        check_adjacency(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="larger than the number of nodes"):
        metis_partition(BOWTIE, 7)
    with pytest.raises(ValueError, match="num_parts must be an integer >= 2"):
        metis_partition(BOWTIE, 1)
    with pytest.raises(ValueError, match="parts must have shape"):
        edge_cut(BOWTIE, np.zeros(5, dtype=int))
    # disconnected: spectral refuses (names largest_component), METIS/BFS/random handle it
    two = sp.block_diag([BOWTIE, BOWTIE]).tocsr()
    with pytest.raises(ValueError, match="connected graph.*largest_component"):
        spectral_bisection(two)
    for parts in (metis_partition(two, 2), bfs_bisection(two), random_bisection(12)):
        assert balance(parts, 2) <= 1.2
    assert edge_cut(two, bfs_bisection(two)) == 0.0  # BFS finishes one component first: a perfect cut


def test_graph_from_matrix_symmetrizes_and_drops_the_diagonal():
    m = sp.csr_matrix(np.array([[4.0, 1.0, 0.0], [0.0, 4.0, 2.0], [0.0, 0.0, 4.0]]))
    g = graph_from_matrix(m)
    assert g.adjacency.diagonal().sum() == 0 and g.num_edges == 2
    assert (g.adjacency != g.adjacency.T).nnz == 0


def test_generators(tmp_path):
    g = random_delaunay(500, seed=1)
    assert g.num_nodes == 500 and 3 * 500 - 6 >= g.num_edges >= 2 * 500  # planar triangulation
    for graded in (False, True):
        mesh = fe_mesh(800, holes=2, graded=graded, seed=2)
        assert mesh.num_nodes > 300 and mesh.triangles.shape[1] == 3 and mesh.matrix.shape[0] == mesh.num_nodes
        sub, keep = largest_component(mesh)
        assert sub.num_nodes == mesh.num_nodes  # already connected
    assert laplacian_2d(5, 4).nnz == 20 + 2 * (4 * 4 + 5 * 3)
    l3 = laplacian_3d(3, 3, 3)
    assert l3.shape == (27, 27) and np.allclose(l3.toarray(), l3.toarray().T) and l3.diagonal().max() == 6
    path = tmp_path / "lap.mtx"
    scipy.io.mmwrite(str(path), laplacian_2d(6, 6))
    loaded = load_matrix_market(path)
    assert loaded.num_nodes == 36 and loaded.num_edges == 60 and loaded.matrix.nnz == laplacian_2d(6, 6).nnz
    with pytest.raises(FileNotFoundError, match="Matrix Market"):
        load_matrix_market(tmp_path / "missing.mtx")


@needs_pymetis
def test_baselines_on_a_grid():
    g = grid_graph_2d(10, 6)  # best balanced bisection cuts the 6 edges of one column line
    for parts in (metis_partition(g.adjacency, 2), spectral_bisection(g.adjacency),
                  spectral_bisection(g.adjacency, "lobpcg")):
        assert balance(parts, 2) == 1.0 and edge_cut(g.adjacency, parts) == 6.0
    y_e, y_l = fiedler_vector(g.adjacency), fiedler_vector(g.adjacency, "lobpcg")
    assert abs(np.dot(y_e, y_l)) / np.linalg.norm(y_e) / np.linalg.norm(y_l) > 0.999
    assert balance(bfs_bisection(g.adjacency), 2) == 1.0
    assert len(np.unique(metis_partition(g.adjacency, 4))) == 4


def test_coarsening_and_fm_refinement():
    g = random_delaunay(600, seed=2)
    levels = coarsen_hierarchy(g.adjacency, min_nodes=40)
    assert levels[-1].num_nodes <= 40
    for fine, coarse in zip(levels[:-1], levels[1:]):
        assert coarse.node_weights.sum() == 600.0
        # the coarse edge weight between clusters is the fine weight crossing them: cuts are preserved
        parts = np.arange(coarse.num_nodes) % 2
        assert edge_cut(coarse.adjacency, parts) == pytest.approx(edge_cut(fine.adjacency, parts[fine.cluster]))
    start = random_bisection(600, seed=0)
    refined = fm_refine(g.adjacency, start, imbalance=0.02)
    assert edge_cut(g.adjacency, refined) < 0.5 * edge_cut(g.adjacency, start)
    assert balance(refined, 2) <= 1.02


@needs_pymetis
def test_vertex_separators():
    g = grid_graph_2d(8, 8)
    parts = metis_partition(g.adjacency, 2)
    for labels in (vertex_separator_from_parts(g.adjacency, parts), minimum_vertex_separator(g.adjacency, parts)):
        rep = separator_report(g.adjacency, labels)  # raises if part 0 touches part 1
        assert rep["separator_size"] >= 8
    assert separator_report(g.adjacency, minimum_vertex_separator(g.adjacency, parts))["separator_size"] == 8
    with pytest.raises(ValueError, match="not a vertex separator"):
        separator_report(g.adjacency, parts)


@needs_pymetis
def test_nested_dissection_reduces_fill():
    g = grid_graph_2d(20, 20)
    perm = nested_dissection_order(g.adjacency, spectral_bisection, leaf_size=16)
    assert np.array_equal(np.sort(perm), np.arange(400))
    natural, nd = lu_fill(g.matrix, None), lu_fill(g.matrix, perm)
    assert nd["factor_nnz"] < 0.6 * natural["factor_nnz"]
    mperm = metis_nested_dissection(g.adjacency)
    assert np.array_equal(np.sort(mperm), np.arange(400))
    # a tridiagonal matrix has no fill in natural order: L + U - n = 2 * (n - 1) + n... exactly nnz(A)
    tri = laplacian_2d(30, 1)
    assert lu_fill(tri, None)["factor_nnz"] == tri.nnz
    table = fill_in_table(g.matrix, g.adjacency, {"spectral": spectral_bisection}, leaf_size=16)
    assert list(table.ordering) == ["natural", "colamd", "amd", "metis_nd", "nd_spectral"]
    assert table.set_index("ordering").ratio_to_metis_nd["metis_nd"] == 1.0
    with pytest.raises(ValueError, match="perm must be a permutation"):
        lu_fill(g.matrix, np.zeros(400, dtype=int))


def test_real_matrices_from_scipys_test_data():
    """mhd1280b and illc1850 (Harwell-Boeing, in scipy's installed test data): complex entries keep their pattern."""
    path = Path(scipy.__file__).parent / "sparse" / "linalg" / "tests" / "propack_test_data.npz"
    if not path.is_file():
        pytest.skip("this scipy was installed without its test data")
    with np.load(path, allow_pickle=True) as data:
        complex_matrix = data["A_complex"].item()
    pattern = sp.csr_matrix(abs(complex_matrix) > 0).astype(float)
    pattern.setdiag(0)
    pattern.eliminate_zeros()
    g = scipy_test_matrix("mhd1280b")
    assert g.num_nodes == 1280 and g.num_edges == pattern.nnz // 2  # purely imaginary entries are edges too
    assert (abs(g.adjacency - ((pattern + pattern.T) > 0)) > 0).nnz == 0
    assert g.matrix.shape == (1280, 1280) and lu_fill(g.matrix, None)["factor_nnz"] >= g.matrix.nnz
    normal = scipy_test_matrix("illc1850")
    assert normal.num_nodes == 712 and num_components(normal.adjacency) == 1
    with pytest.raises(ValueError, match="name must be one of"):
        scipy_test_matrix("bcsstk01")

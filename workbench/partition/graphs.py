"""Graphs to partition: validation, generators (random Delaunay, FE meshes with holes, 2D/3D Laplacians) and a
Matrix Market loader.

A graph is a :class:`PartitionGraph`: a symmetric ``scipy.sparse.csr_matrix`` ``adjacency`` of shape ``[n, n]``,
float64, non-negative weights, zero diagonal (no self-loops), plus optional node ``coords`` (float64 ``[n, 2]`` or
``[n, 3]``, for plots), optional ``triangles`` (int64 ``[t, 3]``, mesh faces) and an optional ``matrix`` (the sparse
matrix the graph came from, e.g. a discretized operator, used for fill-in).

Bad input, handled by :func:`check_adjacency`: a non-square or non-finite matrix, negative weights and an asymmetric
pattern or weights raise ``ValueError`` naming the argument; self-loops (a non-zero diagonal) raise too, unless
``drop_self_loops=True`` (what :func:`graph_from_matrix` does: a matrix's diagonal is not an edge). A disconnected
graph is accepted here; the methods that need a connected graph (spectral bisection, the GNN partitioner) raise and
point to :func:`largest_component`.

Examples:
    >>> g = random_delaunay(200, seed=0)
    >>> g.num_nodes, bool((g.adjacency != g.adjacency.T).nnz == 0)
    (200, True)
    >>> laplacian_2d(4, 3).shape
    (12, 12)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scipy.io
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

__all__ = ["PartitionGraph", "check_adjacency", "check_num_parts", "fe_mesh", "graph_from_matrix",
           "grid_graph_2d", "grid_graph_3d", "laplacian_2d", "laplacian_3d", "largest_component", "load_matrix_market",
           "mesh_laplacian", "num_components", "random_delaunay", "require_connected", "scipy_test_matrix"]


@dataclass
class PartitionGraph:
    """A graph to partition (see the module doc for the conventions)."""

    adjacency: sp.csr_matrix
    coords: np.ndarray | None = None
    triangles: np.ndarray | None = None
    matrix: sp.spmatrix | None = None
    name: str = "graph"

    def __post_init__(self) -> None:
        self.adjacency = check_adjacency(self.adjacency)
        if self.coords is not None:
            coords = np.asarray(self.coords, dtype=np.float64)
            if coords.ndim != 2 or coords.shape[0] != self.num_nodes or coords.shape[1] not in (2, 3):
                raise ValueError(f"coords must have shape [n, 2] or [n, 3] with n = {self.num_nodes}, "
                                 f"got {coords.shape}")
            self.coords = coords

    @property
    def num_nodes(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def num_edges(self) -> int:
        """Undirected edges (each stored twice in ``adjacency``)."""
        return int(self.adjacency.nnz // 2)

    def edges(self) -> np.ndarray:
        """int64 ``[m, 2]`` with ``i < j``, one row per undirected edge."""
        coo = sp.triu(self.adjacency, k=1).tocoo()
        return np.stack([coo.row, coo.col], axis=1).astype(np.int64)


def check_adjacency(adjacency: Any, name: str = "adjacency", drop_self_loops: bool = False) -> sp.csr_matrix:
    """Validate a graph's adjacency and return it as a float64 CSR matrix with sorted indices.

    Accepts a scipy sparse matrix or a square numpy array. Raises ``ValueError`` (naming ``name``) for a non-square,
    empty or non-finite matrix, negative weights, an asymmetric matrix, or self-loops (non-zero diagonal) unless
    ``drop_self_loops`` (then the diagonal is removed). Explicit zeros are removed.
    """
    if sp.issparse(adjacency):
        a = sp.csr_matrix(adjacency, dtype=np.float64)
    elif isinstance(adjacency, np.ndarray):
        if adjacency.ndim != 2:
            raise ValueError(f"{name} must be a square [n, n] matrix, got shape {adjacency.shape}")
        a = sp.csr_matrix(adjacency.astype(np.float64))
    else:
        raise TypeError(f"{name} must be a scipy.sparse matrix or a numpy array, got {type(adjacency).__name__}")
    if a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square [n, n] matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a.data)):
        raise ValueError(f"{name} must be finite: NaN or inf among its entries")
    if np.any(a.data < 0):
        raise ValueError(f"{name} must have non-negative edge weights, got minimum {a.data.min()!r}")
    if a.diagonal().any():
        if not drop_self_loops:
            loops = np.flatnonzero(a.diagonal())[:10].tolist()
            raise ValueError(f"{name} has self-loops (non-zero diagonal) at node(s) {loops}; a partition ignores "
                             "them: remove them (e.g. graph_from_matrix drops the diagonal)")
        a = a.tolil()
        a.setdiag(0)
        a = a.tocsr()
    a.eliminate_zeros()
    diff = abs(a - a.T)
    if diff.nnz and diff.max() > 1e-12 * max(1.0, abs(a).max()):
        raise ValueError(f"{name} must be symmetric (an undirected graph); symmetrize it first, e.g. "
                         "(A + A.T) / 2 or graph_from_matrix(A) for a matrix's structure")
    a.sort_indices()
    return a


def check_num_parts(num_parts: Any, num_nodes: int, name: str = "num_parts") -> int:
    """``num_parts`` is an integer with ``2 <= num_parts <= num_nodes``; ValueError otherwise."""
    if isinstance(num_parts, bool) or not isinstance(num_parts, (int, np.integer)) or num_parts < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {num_parts!r}")
    if num_parts > num_nodes:
        raise ValueError(f"{name} = {num_parts} is larger than the number of nodes ({num_nodes}): every part "
                         "must be able to hold a node")
    return int(num_parts)


def num_components(adjacency: sp.spmatrix) -> int:
    """Number of connected components."""
    return int(connected_components(adjacency, directed=False)[0])


def require_connected(adjacency: sp.spmatrix, method: str) -> None:
    """Raise ValueError if the graph is disconnected (``method`` names who needs it)."""
    count = num_components(adjacency)
    if count > 1:
        raise ValueError(f"{method} needs a connected graph, got {count} connected components; partition "
                         "largest_component(graph) (or each component) instead")


def largest_component(graph: PartitionGraph) -> tuple[PartitionGraph, np.ndarray]:
    """The largest connected component as a graph, and the int64 indices of its nodes in ``graph``."""
    _, labels = connected_components(graph.adjacency, directed=False)
    keep = np.flatnonzero(labels == np.bincount(labels).argmax())
    sub = graph.adjacency[keep][:, keep]
    coords = None if graph.coords is None else graph.coords[keep]
    tri = None
    if graph.triangles is not None:
        index = -np.ones(graph.num_nodes, dtype=np.int64)
        index[keep] = np.arange(len(keep))
        t = index[graph.triangles]
        tri = t[(t >= 0).all(axis=1)]
    matrix = None if graph.matrix is None else sp.csr_matrix(graph.matrix)[keep][:, keep]
    return PartitionGraph(sub, coords, tri, matrix, graph.name + ":largest"), keep


def _adjacency_from_triangles(triangles: np.ndarray, n: int) -> sp.csr_matrix:
    t = np.asarray(triangles, dtype=np.int64)
    i = np.concatenate([t[:, 0], t[:, 1], t[:, 2]])
    j = np.concatenate([t[:, 1], t[:, 2], t[:, 0]])
    a = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    a = a + a.T
    a.data[:] = 1.0
    return a


def random_delaunay(num_nodes: int, seed: int = 0) -> PartitionGraph:
    """Delaunay triangulation of ``num_nodes`` uniform random points in the unit square (unit edge weights)."""
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 4:
        raise ValueError(f"num_nodes must be an integer >= 4, got {num_nodes!r}")
    points = np.random.default_rng(seed).random((int(num_nodes), 2))
    tri = Delaunay(points).simplices.astype(np.int64)
    return PartitionGraph(_adjacency_from_triangles(tri, len(points)), points, tri, None,
                          f"delaunay-{num_nodes}")


def fe_mesh(num_nodes: int = 2000, holes: int = 2, graded: bool = False, seed: int = 0) -> PartitionGraph:
    """A triangular finite-element mesh of the unit square with ``holes`` circular holes.

    ``graded=False``: a structured grid (spacing from ``num_nodes``) with each square split in two triangles;
    ``graded=True``: random points whose density grows towards the corner (0, 0) (local mesh refinement). Points
    inside a hole are removed and the rest triangulated (Delaunay); triangles whose centroid lies in a hole are
    dropped. Holes: radius 0.08-0.15, centres drawn with ``seed``, apart from each other and the boundary. The
    graph is the largest connected component (``num_nodes`` is approximate).
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 16:
        raise ValueError(f"num_nodes must be an integer >= 16, got {num_nodes!r}")
    if isinstance(holes, bool) or not isinstance(holes, (int, np.integer)) or not 0 <= holes <= 6:
        raise ValueError(f"holes must be an integer in [0, 6], got {holes!r}")
    rng = np.random.default_rng(seed)
    centres, radii = [], []
    while len(centres) < holes:
        c, r = rng.uniform(0.2, 0.8, size=2), rng.uniform(0.08, 0.15)
        if all(np.linalg.norm(c - c2) > r + r2 + 0.05 for c2, r2 in zip(centres, radii)):
            centres.append(c)
            radii.append(r)
    area = 1.0 - sum(np.pi * r * r for r in radii)
    target = int(num_nodes / max(area, 0.2))
    if graded:
        u = rng.random((target, 2))
        points = u ** 1.8  # density ~ x^(-0.44) y^(-0.44): finer near (0, 0)
    else:
        side = max(int(round(np.sqrt(target))), 4)
        g = np.linspace(0.0, 1.0, side)
        points = np.stack(np.meshgrid(g, g, indexing="xy"), axis=-1).reshape(-1, 2)

    def inside(p: np.ndarray, pad: float) -> np.ndarray:
        mask = np.zeros(len(p), dtype=bool)
        for c, r in zip(centres, radii):
            mask |= np.linalg.norm(p - c, axis=1) < r + pad
        return mask

    points = points[~inside(points, 0.0)]
    # ring points on every hole's boundary so that the mesh follows it
    for c, r in zip(centres, radii):
        m = max(int(2 * np.pi * r * np.sqrt(len(points))), 8)
        angle = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
        points = np.concatenate([points, c + r * np.stack([np.cos(angle), np.sin(angle)], axis=1)])
    tri = Delaunay(points).simplices.astype(np.int64)
    tri = tri[~inside(points[tri].mean(axis=1), -1e-9)]
    used = np.unique(tri)
    index = -np.ones(len(points), dtype=np.int64)
    index[used] = np.arange(len(used))
    points, tri = points[used], index[tri]
    kind = "graded" if graded else "structured"
    graph = PartitionGraph(_adjacency_from_triangles(tri, len(points)), points, tri, None,
                           f"fe-{kind}-{len(points)}")
    if num_components(graph.adjacency) > 1:
        graph, _ = largest_component(graph)
    graph.matrix = mesh_laplacian(graph)
    return graph


def mesh_laplacian(graph: PartitionGraph, shift: float = 1e-2) -> sp.csc_matrix:
    """The SPD matrix ``L + shift * I`` (``L = D - A`` the graph Laplacian) of a graph, float64 CSC: the
    discretized operator whose factorization fill-in nested dissection reduces."""
    a = graph.adjacency
    lap = sp.diags(np.asarray(a.sum(axis=1)).ravel()) - a
    return sp.csc_matrix(lap + shift * sp.identity(a.shape[0]))


def laplacian_2d(nx: int, ny: int) -> sp.csc_matrix:
    """The 5-point finite-difference Laplacian on an ``nx x ny`` grid (Dirichlet), float64 CSC ``[nx*ny, nx*ny]``,
    SPD; node ``i + nx * j`` sits at grid point ``(i, j)``."""
    for name, v in (("nx", nx), ("ny", ny)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    t = lambda m: sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])  # noqa: E731
    m = sp.csc_matrix(sp.kron(sp.identity(ny), t(nx)) + sp.kron(t(ny), sp.identity(nx)))
    m.eliminate_zeros()
    return m


def laplacian_3d(nx: int, ny: int, nz: int) -> sp.csc_matrix:
    """The 7-point Laplacian on an ``nx x ny x nz`` grid (Dirichlet), float64 CSC, SPD; node
    ``i + nx * (j + ny * k)``."""
    for name, v in (("nx", nx), ("ny", ny), ("nz", nz)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    t = lambda m: sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])  # noqa: E731
    i_x, i_y, i_z = sp.identity(nx), sp.identity(ny), sp.identity(nz)
    m = sp.csc_matrix(sp.kron(i_z, sp.kron(i_y, t(nx))) + sp.kron(i_z, sp.kron(t(ny), i_x))
                      + sp.kron(t(nz), sp.kron(i_y, i_x)))
    m.eliminate_zeros()
    return m


def graph_from_matrix(matrix: Any, coords: np.ndarray | None = None, name: str = "matrix") -> PartitionGraph:
    """The graph of a square sparse matrix's structure: an edge ``i - j`` (weight 1) wherever ``A[i, j]`` or
    ``A[j, i]`` is non-zero, ``i != j`` (so an unsymmetric matrix gives the graph of ``|A| + |A^T|`` and the
    diagonal is dropped). ``matrix`` is kept for fill-in measurements."""
    if not sp.issparse(matrix):
        if not isinstance(matrix, np.ndarray):
            raise TypeError(f"matrix must be a scipy.sparse matrix or numpy array, got {type(matrix).__name__}")
        matrix = sp.csr_matrix(matrix)
    if matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"matrix must be a non-empty square matrix, got shape {matrix.shape}")
    pattern = sp.csr_matrix(abs(sp.csr_matrix(matrix))).astype(np.float64)  # abs first: complex matrices too
    pattern = pattern + pattern.T
    pattern.data[:] = 1.0
    return PartitionGraph(check_adjacency(pattern, "matrix", drop_self_loops=True), coords, None,
                          sp.csc_matrix(matrix), name)


def grid_graph_2d(nx: int, ny: int) -> PartitionGraph:
    """The graph of :func:`laplacian_2d` with node coordinates (matrix kept)."""
    coords = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy"), -1).reshape(-1, 2)
    return graph_from_matrix(laplacian_2d(nx, ny), coords.astype(np.float64), f"laplacian2d-{nx}x{ny}")


def grid_graph_3d(nx: int, ny: int, nz: int) -> PartitionGraph:
    """The graph of :func:`laplacian_3d` with node coordinates (matrix kept)."""
    coords = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1)
    coords = coords.transpose(2, 1, 0, 3).reshape(-1, 3).astype(np.float64)
    return graph_from_matrix(laplacian_3d(nx, ny, nz), coords, f"laplacian3d-{nx}x{ny}x{nz}")


#: Real sparse matrices shipped inside scipy's own test data (PROPACK 2.1's test matrices, which come from the
#: Harwell-Boeing / Matrix Market collection, also in SuiteSparse): name -> (key in the npz file, description).
SCIPY_TEST_MATRICES: dict[str, tuple[str, str]] = {
    "mhd1280b": ("A_complex", "Alfven spectra in magnetohydrodynamics, 1280 x 1280 complex Hermitian (Bai group)"),
    "illc1850": ("A_real", "least-squares problem (surveying), 1850 x 712 real; the graph is that of A^T A"),
}


def scipy_test_matrix(name: str) -> PartitionGraph:
    """A real sparse matrix from the data scipy installs with its tests (``scipy/sparse/linalg/tests/
    propack_test_data.npz``; no download): ``"mhd1280b"`` (square, 1280 nodes, 20 connected components) or
    ``"illc1850"`` (rectangular: the graph and matrix of its normal equations ``A^T A``, 712 nodes).

    The graph is the structure of ``|A| + |A^T|`` without the diagonal; ``matrix`` is :func:`mesh_laplacian` of that
    graph (``L + 0.01 I``, float64 SPD with the same off-diagonal pattern), so a symmetric factorization without
    pivoting has the fill of the original pattern. FileNotFoundError if this scipy was installed without its tests.
    """
    if name not in SCIPY_TEST_MATRICES:
        raise ValueError(f"name must be one of {sorted(SCIPY_TEST_MATRICES)}, got {name!r}")
    path = Path(scipy.__file__).parent / "sparse" / "linalg" / "tests" / "propack_test_data.npz"
    if not path.is_file():
        raise FileNotFoundError(f"scipy's test data {path} is missing (this scipy was installed without its tests); "
                                "use load_matrix_market with a file on disk instead")
    key, _ = SCIPY_TEST_MATRICES[name]
    with np.load(path, allow_pickle=True) as data:  # a pickled scipy.sparse matrix, from the scipy install itself
        matrix = sp.csr_matrix(data[key].item())
    if matrix.shape[0] != matrix.shape[1]:
        structure = abs(matrix).astype(np.float64)
        matrix = sp.csr_matrix(structure.T @ structure)
    graph = graph_from_matrix(matrix, None, name)
    graph.matrix = mesh_laplacian(graph)
    return graph


def load_matrix_market(path: str | Path, name: str | None = None) -> PartitionGraph:
    """A graph from a Matrix Market file (``.mtx``, the SuiteSparse collection's format, optionally ``.gz``) the
    user has on disk: the structure of ``|A| + |A^T|`` without the diagonal (:func:`graph_from_matrix`); the
    matrix is kept. Nothing is downloaded."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must be a Matrix Market file on disk, got {str(path)!r} (not found)")
    matrix = scipy.io.mmread(str(path))
    if not sp.issparse(matrix):
        matrix = sp.csr_matrix(matrix)
    return graph_from_matrix(matrix, None, name or path.name.split(".")[0])

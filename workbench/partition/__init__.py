"""workbench.partition: graph partitioning and nested-dissection orderings, classical and learned.

Depends only on :mod:`workbench.checks` (numpy, scipy, torch; pymetis through the ``partition`` extra, lazily).

- graphs (:mod:`~workbench.partition.graphs`): :class:`PartitionGraph`, :func:`check_adjacency` (bad input:
  asymmetric, self-loops, negative or non-finite weights), :func:`random_delaunay`, :func:`fe_mesh` (structured or
  graded, with holes), :func:`laplacian_2d`/:func:`laplacian_3d` and their graphs, :func:`load_matrix_market`,
  :func:`scipy_test_matrix` (two real Harwell-Boeing matrices that scipy ships in its test data);
- metrics: :func:`edge_cut`, :func:`normalized_cut`, :func:`balance`, :func:`partition_report`;
- baselines: :func:`metis_partition`, :func:`metis_nested_dissection`, :func:`spectral_bisection` (Fiedler vector,
  eigsh or LOBPCG), :func:`bfs_bisection`, :func:`random_bisection`;
- coarsening (heavy-edge matching) and refinement (balanced FM, multilevel un-coarsening);
- :class:`GNNPartitioner` / :func:`train_gnn_partitioner`: the learned multilevel bisection (Gatti et al. 2022);
- :func:`train_rl_refiner` / :class:`RLRefiner`: A2C with a GNN policy moving boundary nodes (Gatti et al. 2021);
  :func:`train_separator_refiner` / :class:`SeparatorRefiner`: the same A2C moving vertex-separator nodes
  (:mod:`~workbench.partition.separator_rl`), usable inside nested dissection;
- :func:`recursive_bisection`: k-way partitions (k a power of two) from any bisection method;
- :func:`nested_dissection_order` from any bisection, :func:`lu_fill`, :func:`fill_in_table` (SuperLU fill-in
  against natural, COLAMD, MMD(A^T+A) and METIS ND).

**Invariance.** The symmetry here is node permutation: every metric is invariant to relabelling the nodes (with
the labels), and the GNN modules' node outputs are permutation-equivariant (tested against a non-equivariant
baseline that sees node indices).

Examples:
    >>> import workbench as wb
    >>> g = wb.partition.random_delaunay(300, seed=0)
    >>> parts = wb.partition.spectral_bisection(g.adjacency)
    >>> round(wb.partition.balance(parts, 2), 3)
    1.0
"""

from workbench.partition.baselines import (
    bfs_bisection,
    fiedler_vector,
    metis_nested_dissection,
    metis_partition,
    random_bisection,
    recursive_bisection,
    require_pymetis,
    spectral_bisection,
    split_by_score,
)
from workbench.partition.coarsening import Level, coarsen_hierarchy, contract, heavy_edge_matching
from workbench.partition.gnn_partitioner import (
    GNNPartitioner,
    GNNTrainConfig,
    NodeIndexPartitionModule,
    PartitionModule,
    train_gnn_partitioner,
)
from workbench.partition.graphs import (
    PartitionGraph,
    check_adjacency,
    check_num_parts,
    fe_mesh,
    graph_from_matrix,
    grid_graph_2d,
    grid_graph_3d,
    laplacian_2d,
    laplacian_3d,
    largest_component,
    load_matrix_market,
    random_delaunay,
    scipy_test_matrix,
)
from workbench.partition.metrics import balance, edge_cut, normalized_cut, partition_report
from workbench.partition.nested_dissection import fill_in_table, lu_factor_pattern, lu_fill, nested_dissection_order
from workbench.partition.refinement import fm_refine, uncoarsen
from workbench.partition.rl_refinement import RLRefiner, RLTrainConfig, train_rl_refiner
from workbench.partition.separator_rl import SeparatorRefiner, train_separator_refiner

__all__ = ["GNNPartitioner", "GNNTrainConfig", "Level", "NodeIndexPartitionModule", "PartitionGraph",
           "PartitionModule", "RLRefiner", "RLTrainConfig", "SeparatorRefiner", "train_rl_refiner",
           "train_separator_refiner", "balance", "bfs_bisection", "check_adjacency", "check_num_parts",
           "coarsen_hierarchy",
           "contract", "edge_cut", "fe_mesh", "fiedler_vector", "fill_in_table", "fm_refine", "graph_from_matrix",
           "grid_graph_2d", "grid_graph_3d", "heavy_edge_matching", "laplacian_2d", "laplacian_3d",
           "largest_component", "load_matrix_market", "lu_factor_pattern", "lu_fill", "metis_nested_dissection",
           "metis_partition", "nested_dissection_order", "normalized_cut", "partition_report", "random_bisection",
           "random_delaunay", "recursive_bisection", "require_pymetis", "scipy_test_matrix", "spectral_bisection",
           "split_by_score",
           "train_gnn_partitioner", "uncoarsen"]

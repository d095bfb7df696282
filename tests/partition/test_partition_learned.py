"""The learned partitioners: permutation equivariance of the GNN modules' node outputs (float64, with a
non-equivariant baseline failing the same test), the losses against closed forms, a tiny training that beats its
untrained start, and the RL refiner's measured improvement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.partition import balance, normalized_cut, random_delaunay, spectral_bisection
from workbench.partition.coarsening import Level, coarsen_hierarchy
from workbench.partition.gnn_partitioner import (
    EmbeddingModule,
    GNNTrainConfig,
    NodeIndexPartitionModule,
    PartitionModule,
    expected_normalized_cut,
    spectral_loss,
    torch_levels,
    train_gnn_partitioner,
)
from workbench.partition.rl_refinement import BisectionEnv, RLTrainConfig, random_move_refine, train_rl_refiner

pytestmark = pytest.mark.unit


def _permuted_levels(levels: list[Level], perm: np.ndarray) -> list[Level]:
    """Relabel level 0's nodes: new node i is old node perm[i]; coarser levels unchanged."""
    first = levels[0]
    moved = Level(first.adjacency[perm][:, perm].tocsr(), first.node_weights[perm], first.cluster[perm])
    return [moved, *levels[1:]]


@pytest.fixture(scope="module")
def hierarchy():
    torch.manual_seed(0)
    levels = coarsen_hierarchy(random_delaunay(150, seed=5).adjacency, min_nodes=10)
    perm = np.random.default_rng(1).permutation(150)
    return levels, perm


def test_gnn_node_outputs_are_permutation_equivariant(hierarchy):
    levels, perm = hierarchy
    embed = EmbeddingModule(hidden=16).double()
    part = PartitionModule(hidden=16).double()
    graphs = torch_levels(levels, dtype=torch.float64)
    graphs_p = torch_levels(_permuted_levels(levels, perm), dtype=torch.float64)
    noise = torch.randn(graphs[-1].num_nodes, embed.in_dim, dtype=torch.float64)
    with torch.no_grad():
        y, y_p = embed(noise, graphs), embed(noise, graphs_p)
        p, p_p = part(y, graphs[0]), part(y_p, graphs_p[0])
    assert torch.allclose(y_p, y[perm], atol=1e-12, rtol=0)
    assert torch.allclose(p_p, p[perm], atol=1e-12, rtol=0)
    assert (p.std(0) > 1e-6).all()  # not a trivially constant output


def test_node_index_baseline_fails_the_same_test(hierarchy):
    levels, perm = hierarchy
    embed = EmbeddingModule(hidden=16).double()
    part = NodeIndexPartitionModule(hidden=16).double()
    graphs = torch_levels(levels, dtype=torch.float64)
    graphs_p = torch_levels(_permuted_levels(levels, perm), dtype=torch.float64)
    noise = torch.randn(graphs[-1].num_nodes, embed.in_dim, dtype=torch.float64)
    with torch.no_grad():
        y, y_p = embed(noise, graphs), embed(noise, graphs_p)
        err = (part(y_p, graphs_p[0]) - part(y, graphs[0])[perm]).abs().max()
    assert err > 1e-4


def test_losses_against_closed_forms():
    levels = coarsen_hierarchy(random_delaunay(80, seed=2).adjacency, min_nodes=80)
    g = torch_levels(levels, dtype=torch.float64)[0]
    a = levels[0].adjacency.toarray()
    d = a.sum(1)
    # spectral loss at the exact generalized Fiedler vectors = sum of the two smallest non-trivial eigenvalues
    s = 1 / np.sqrt(d)
    vals, vecs = np.linalg.eigh(np.eye(80) - s[:, None] * a * s[None, :])
    y = torch.as_tensor(s[:, None] * vecs[:, 1:3])
    # (rel 1e-7: the loss adds 1e-9 * mean(diag) to the Gram matrix before its Cholesky factor)
    assert float(spectral_loss(y, g)) == pytest.approx(vals[1] + vals[2], rel=1e-7)
    # expected normalized cut of a hard assignment = the normalized cut
    parts = spectral_bisection(levels[0].adjacency)
    probs = torch.nn.functional.one_hot(torch.as_tensor(parts), 2).double()
    assert float(expected_normalized_cut(probs, g)) == pytest.approx(normalized_cut(levels[0].adjacency, parts),
                                                                     rel=1e-12)


def test_tiny_training_lowers_both_losses_and_partitions_larger_graphs():
    config = GNNTrainConfig(num_graphs=3, train_nodes=(300, 500), gnn_nodes=150, embed_steps=60,
                            partition_steps=60, hidden=16, seed=0)
    model = train_gnn_partitioner(config)
    h = model.history
    assert np.mean(h["spectral_loss"][-10:]) < np.mean(h["spectral_loss"][:10])
    assert np.mean(h["normalized_cut_loss"][-10:]) < np.mean(h["normalized_cut_loss"][:10])
    g = random_delaunay(3000, seed=9)
    parts = model.partition(g.adjacency)
    assert balance(parts, 2) <= 1.01
    assert normalized_cut(g.adjacency, parts) < 1.3 * normalized_cut(g.adjacency, spectral_bisection(g.adjacency))
    with pytest.raises(ValueError, match="connected graph"):
        import scipy.sparse as sp
        model.partition(sp.block_diag([g.adjacency, g.adjacency]).tocsr())


def test_rl_environment_bookkeeping_and_refiner():
    g = random_delaunay(200, seed=3)
    start = spectral_bisection(g.adjacency)
    env = BisectionEnv(g.adjacency, start)
    rng = np.random.default_rng(0)
    for _ in range(6):
        env.step(int(rng.choice(np.flatnonzero(env.movable()))))
        assert env.ncut() == pytest.approx(normalized_cut(g.adjacency, env.p), rel=1e-12)
    assert balance(env.p, 2) == balance(start, 2)  # even number of alternating moves
    agent = train_rl_refiner(RLTrainConfig(episodes=4, steps=8, train_nodes=(100, 150)))
    for refine in (lambda p: agent.refine(g.adjacency, p, steps=12), lambda p: random_move_refine(g.adjacency, p)):
        out = refine(start)
        assert normalized_cut(g.adjacency, out) <= normalized_cut(g.adjacency, start)
        assert balance(out, 2) == balance(start, 2)

"""RL refinement of vertex separators: the environment's bookkeeping against hand-computed moves, the separator
staying valid (no edge between the sides, both sides non-empty) after every step of random and policy moves on
Delaunay graphs and FE meshes, the refiners never returning a worse separator than the start, node-permutation
equivariance of the policy's logits, bad input, and nested dissection with the RL separator."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from workbench.partition import fe_mesh, grid_graph_2d, lu_fill, nested_dissection_order, random_delaunay
from workbench.partition.baselines import spectral_bisection
from workbench.partition.metrics import separator_report, vertex_separator_from_parts
from workbench.partition.nested_dissection import minimum_vertex_separator
from workbench.partition.rl_refinement import RLTrainConfig
from workbench.partition.separator_rl import (
    SeparatorEnv,
    check_separator,
    greedy_separator_refine,
    normalized_separator,
    random_separator_refine,
    train_separator_refiner,
)

pytestmark = pytest.mark.unit


def _path(n: int) -> sp.csr_matrix:
    a = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1])
    return sp.csr_matrix(a)


@pytest.fixture(scope="module")
def agent():
    return train_separator_refiner(RLTrainConfig(episodes=8, steps=8, train_nodes=(100, 200)))


def _recount(env: SeparatorEnv) -> np.ndarray:
    count = np.zeros((env.lab.size, 3))
    np.add.at(count, (env.row, env.lab[env.a.indices]), 1.0)
    return count


def test_hand_computed_moves_on_a_path():
    # 0 - 1 - [2] - 3 - 4: separator {2}, NS = 1 * (1/2 + 1/2) = 1
    env = SeparatorEnv(_path(5), np.array([0, 0, 2, 1, 1]))
    assert env.score() == 1.0 and env.balance() == 1.0
    assert env.target() == 0 and env.movable().tolist() == [False, False, True, False, False]
    reward = env.step(2)  # into side 0: node 3 joins the separator; NS = 1 * (1/3 + 1/1)
    assert env.lab.tolist() == [0, 0, 0, 2, 1]
    assert reward == pytest.approx(1.0 - 4.0 / 3.0)
    assert env.target() == 1  # the smaller side now
    # a redundant separator vertex (no neighbour in the other side) leaves it for free: 0 - [1] - [2] - 3
    env = SeparatorEnv(_path(4), np.array([0, 2, 2, 1]))
    env.step(1)
    assert env.lab.tolist() == [0, 0, 2, 1] and env.score() == pytest.approx(1.5)
    # moving 2 into side 0 would empty side 1: not movable
    env = SeparatorEnv(_path(4), np.array([0, 0, 2, 1]))
    assert env.target() == 1 and env.movable()[2]  # into side 1 takes node 1 from side 0, which keeps node 0
    assert not SeparatorEnv(_path(3), np.array([0, 2, 1])).movable().any()


@pytest.mark.parametrize("graph", [random_delaunay(400, seed=7), fe_mesh(500, holes=2, graded=True, seed=3)],
                         ids=["delaunay", "fe-graded"])
def test_separator_stays_valid_after_every_step(graph, agent):
    a = graph.adjacency
    start = vertex_separator_from_parts(a, spectral_bisection(a))
    rng = np.random.default_rng(0)
    for chooser in ("random", "policy"):
        env = SeparatorEnv(a, start)
        for _ in range(30):
            movable = env.movable()
            if not movable.any():
                break
            if chooser == "random":
                v = int(rng.choice(np.flatnonzero(movable)))
            else:
                with torch.no_grad():
                    logp, _ = agent.policy(env.state(), env.graph, torch.as_tensor(movable))
                v = int(np.flatnonzero(movable)[int(torch.argmax(logp))])
            env.step(v)
            check_separator(a, env.lab)  # raises if an edge joins the sides or a side is empty
            separator_report(a, env.lab)
            assert np.array_equal(env.count, _recount(env))
            assert env.sizes.tolist() == np.bincount(env.lab, minlength=3).tolist()
            assert env.score() == pytest.approx(normalized_separator(env.lab))


def test_refiners_never_return_a_worse_separator(agent):
    g = random_delaunay(600, seed=8)
    a = g.adjacency
    parts = spectral_bisection(a)
    for start in (vertex_separator_from_parts(a, parts), minimum_vertex_separator(a, parts)):
        before = normalized_separator(start)
        limit = max(separator_report(a, start)["balance"], 1.05)
        for out in (agent.refine(a, start, steps=20), random_separator_refine(a, start, steps=20),
                    greedy_separator_refine(a, start, steps=20)):
            check_separator(a, out)
            assert normalized_separator(out) <= before
            assert separator_report(a, out)["balance"] <= limit + 1e-12
    # the boundary of one side is not minimal here: greedy moves find a strictly smaller normalized separator
    boundary = vertex_separator_from_parts(a, parts)
    assert normalized_separator(greedy_separator_refine(a, boundary, 20)) < normalized_separator(boundary)


def test_policy_logits_are_permutation_equivariant(agent):
    g = random_delaunay(300, seed=9)
    a = g.adjacency
    labels = vertex_separator_from_parts(a, spectral_bisection(a))
    perm = np.random.default_rng(2).permutation(300)
    env, env_p = SeparatorEnv(a, labels), SeparatorEnv(a[perm][:, perm], labels[perm])
    with torch.no_grad():
        full = torch.ones(300, dtype=torch.bool)
        logp, value = agent.policy(env.state(), env.graph, full)
        logp_p, value_p = agent.policy(env_p.state(), env_p.graph, full)
    assert torch.allclose(logp[torch.as_tensor(perm)], logp_p, atol=1e-5)
    assert float(value) == pytest.approx(float(value_p), abs=1e-5)
    # a policy that sees node indices is not: its logits do not follow the relabelling
    with torch.no_grad():
        index = lambda e: torch.cat([e.state(), torch.arange(300.0)[:, None] / 300], 1)  # noqa: E731
        leaky = torch.nn.Linear(8, 1).double()
        out, out_p = leaky(index(env).double()).squeeze(-1), leaky(index(env_p).double()).squeeze(-1)
    assert not torch.allclose(out[torch.as_tensor(perm)], out_p, atol=1e-5)


def test_bad_input_is_rejected():
    a = _path(5)
    with pytest.raises(ValueError, match="not a vertex separator"):
        SeparatorEnv(a, np.array([0, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match="both sides"):
        SeparatorEnv(a, np.array([0, 0, 2, 0, 0]))
    with pytest.raises(ValueError, match="labels"):
        SeparatorEnv(a, np.array([0, 0, 3, 1, 1]))
    with pytest.raises(ValueError, match="steps"):
        random_separator_refine(a, np.array([0, 0, 2, 1, 1]), steps=-1)
    env = SeparatorEnv(a, np.array([0, 0, 2, 1, 1]))
    with pytest.raises(ValueError, match="not in the separator"):
        env.step(0)


def test_nested_dissection_with_the_rl_separator(agent):
    g = grid_graph_2d(24, 24)
    seen = []

    def separate(sub, parts):
        labels = agent.separator(steps=10)(sub, parts)
        check_separator(sub, labels)
        seen.append(normalized_separator(labels) <= normalized_separator(minimum_vertex_separator(sub, parts)))
        return labels

    perm = nested_dissection_order(g.adjacency, spectral_bisection, leaf_size=16, separate=separate)
    assert np.array_equal(np.sort(perm), np.arange(576))
    assert seen and all(seen)
    assert lu_fill(g.matrix, perm)["factor_nnz"] < lu_fill(g.matrix, None)["factor_nnz"]

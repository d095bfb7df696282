"""Refining a vertex separator with reinforcement learning (Gatti et al., arXiv 2104.03546, the vertex-separator
case): the A2C agent of :mod:`~workbench.partition.rl_refinement` moves separator vertices into a side.

Labels are int64 ``[n]``: 0 and 1 (the two sides), 2 (the separator); valid when no edge joins side 0 and side 1
(removing the separator disconnects the sides) and both sides are non-empty.

Environment (:class:`SeparatorEnv`, unweighted: every node counts 1). The *target* side of a step is the smaller
side (ties: side ``t mod 2``), which keeps the two sides near balance. A move takes a separator vertex ``v`` into the
target side ``s``; its neighbours in the other side join the separator, so the labels stay a valid separator after
every step by construction (tested at every step). The separator changes by ``(neighbours of v in the other side)
- 1``. ``v`` is movable when that would not empty the other side. Objective: the normalized separator
``NS = |S| (1/|V_0| + 1/|V_1|)`` (small and balanced: the quantity nested dissection wants); reward: its decrease
divided by the starting ``NS``. Node state ``[n, 7]``, relative to the target side (so swapping the sides' names
changes nothing): in the target side, in the other side, in the separator, neighbours in each of the three over the
degree, movable.

Agent: :class:`~workbench.partition.rl_refinement.RLPolicy` with 7 inputs, trained by the same A2C loop
(:func:`~workbench.partition.rl_refinement.a2c_train`) on random Delaunay graphs, starting from the separators of
spectral bisections (both :func:`~workbench.partition.metrics.vertex_separator_from_parts` and the minimum vertex
cover :func:`~workbench.partition.nested_dissection.minimum_vertex_separator`). :meth:`SeparatorRefiner.refine`
runs the greedy policy and keeps the state with the lowest ``NS`` whose balance ``2 max(|V_0|, |V_1|) / (|V_0| +
|V_1|)`` stays within ``max(start balance, 1 + imbalance)``, so the result is never worse than the start. Baselines
under the same protocol: random moves (:func:`random_separator_refine`) and the greedy heuristic that moves the
vertex adding the fewest nodes to the separator (:func:`greedy_separator_refine`).

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> from workbench.partition.baselines import spectral_bisection
    >>> from workbench.partition.metrics import separator_report, vertex_separator_from_parts
    >>> g = random_delaunay(300, seed=2)
    >>> start = vertex_separator_from_parts(g.adjacency, spectral_bisection(g.adjacency))
    >>> agent = train_separator_refiner(RLTrainConfig(episodes=2, steps=6, train_nodes=(100, 150)))
    >>> out = agent.refine(g.adjacency, start, steps=10)
    >>> separator_report(g.adjacency, out)["separator_size"] <= separator_report(g.adjacency, start)["separator_size"]
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from workbench.partition.baselines import spectral_bisection
from workbench.partition.gnn_partitioner import TorchGraph
from workbench.partition.graphs import check_adjacency, random_delaunay
from workbench.partition.metrics import check_parts, vertex_separator_from_parts
from workbench.partition.nested_dissection import minimum_vertex_separator
from workbench.partition.rl_refinement import RLPolicy, RLTrainConfig, a2c_train

__all__ = ["SEPARATOR_FEATURES", "SeparatorEnv", "SeparatorRefiner", "check_separator", "greedy_separator_refine",
           "normalized_separator", "random_separator_refine", "train_separator_refiner"]

#: Node features of :meth:`SeparatorEnv.state`.
SEPARATOR_FEATURES: int = 7


def check_separator(adjacency: sp.csr_matrix, labels: Any, name: str = "labels") -> np.ndarray:
    """``labels`` as int64 ``[n]`` of 0/1/2 forming a valid vertex separator with both sides non-empty; ValueError
    naming ``name`` otherwise."""
    lab = check_parts(labels, adjacency.shape[0], 3, name)
    coo = sp.triu(adjacency, k=1).tocoo()
    a, b = lab[coo.row], lab[coo.col]
    joined = int((((a == 0) & (b == 1)) | ((a == 1) & (b == 0))).sum())
    if joined:
        raise ValueError(f"{name} is not a vertex separator: {joined} edge(s) join side 0 and side 1")
    if not ((lab == 0).any() and (lab == 1).any()):
        raise ValueError(f"{name} must have both sides (labels 0 and 1) non-empty")
    return lab


def normalized_separator(labels: np.ndarray) -> float:
    """``|S| (1/|V_0| + 1/|V_1|)`` of labels 0/1/2 (``inf`` when a side is empty)."""
    sizes = np.bincount(np.asarray(labels), minlength=3)
    return float(sizes[2] * (1.0 / sizes[0] + 1.0 / sizes[1])) if sizes[:2].min() > 0 else float("inf")


class SeparatorEnv:
    """The moving-separator-vertices environment (see the module doc); ``labels`` int64 ``[n]`` of 0/1/2."""

    def __init__(self, adjacency: sp.csr_matrix, labels: np.ndarray) -> None:
        a = check_adjacency(adjacency)
        self.lab = check_separator(a, labels).copy()
        n = a.shape[0]
        self.a = sp.csr_matrix((np.ones(a.nnz), a.indices, a.indptr), shape=a.shape)  # pattern: nodes count 1
        self.row = np.repeat(np.arange(n), np.diff(a.indptr))
        self.deg = np.diff(a.indptr).astype(np.float64)
        self.count = np.zeros((n, 3))  # neighbours per label
        np.add.at(self.count, (self.row, self.lab[self.a.indices]), 1.0)
        self.sizes = np.bincount(self.lab, minlength=3).astype(np.int64)
        self.start_score = self.score()
        self.t = 0
        coo = self.a.tocoo()
        self.graph = TorchGraph(torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col, dtype=torch.long),
                                torch.ones(len(coo.row)), torch.as_tensor(self.deg, dtype=torch.float32),
                                torch.ones(n), None)

    def score(self) -> float:
        """The normalized separator of the current labels."""
        return normalized_separator(self.lab) if self.sizes[:2].min() > 0 else float("inf")

    def balance(self) -> float:
        """``2 max(|V_0|, |V_1|) / (|V_0| + |V_1|)``."""
        return float(2 * self.sizes[:2].max() / max(self.sizes[:2].sum(), 1))

    def target(self) -> int:
        """The side the next move goes into: the smaller one (ties: ``t mod 2``)."""
        if self.sizes[0] == self.sizes[1]:
            return self.t % 2
        return int(self.sizes[1] < self.sizes[0])

    def movable(self) -> np.ndarray:
        """bool ``[n]``: separator vertices whose move keeps the other side non-empty."""
        other = 1 - self.target()
        return (self.lab == 2) & (self.count[:, other] < self.sizes[other])

    def state(self) -> torch.Tensor:
        s = self.target()
        order = [s, 1 - s, 2]
        d = np.maximum(self.deg, 1.0)[:, None]
        onehot = (self.lab[:, None] == np.array(order)[None, :]) * 1.0
        feats = np.concatenate([onehot, self.count[:, order] / d, self.movable()[:, None] * 1.0], axis=1)
        return torch.as_tensor(feats, dtype=torch.float32)

    def _relabel(self, nodes: np.ndarray, old: int, new: int) -> None:
        if not len(nodes):
            return
        self.lab[nodes] = new
        self.sizes[old] -= len(nodes)
        self.sizes[new] += len(nodes)
        nbr = np.concatenate([self.a.indices[self.a.indptr[u]:self.a.indptr[u + 1]] for u in nodes])
        np.add.at(self.count[:, old], nbr, -1.0)
        np.add.at(self.count[:, new], nbr, 1.0)

    def step(self, v: int) -> float:
        """Move separator vertex ``v`` into the target side; returns the reward."""
        if self.lab[v] != 2:
            raise ValueError(f"node {v} is not in the separator")
        before = self.score()
        s = self.target()
        nbr = self.a.indices[self.a.indptr[v]:self.a.indptr[v + 1]]
        joining = nbr[self.lab[nbr] == 1 - s]
        self._relabel(np.array([v]), 2, s)
        self._relabel(joining, 1 - s, 2)
        self.t += 1
        return (before - self.score()) / self.start_score


def _best_valid(env: SeparatorEnv, choose: Callable[[SeparatorEnv, np.ndarray], int], steps: int,
                imbalance: float) -> np.ndarray:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not imbalance >= 0:
        raise ValueError(f"imbalance must be >= 0, got {imbalance!r}")
    limit = max(env.balance(), 1.0 + imbalance)
    best, best_score = env.lab.copy(), env.score()
    for _ in range(steps):
        movable = env.movable()
        if not movable.any():
            break
        env.step(int(choose(env, movable)))
        if env.balance() <= limit + 1e-12 and env.score() < best_score - 1e-15:
            best, best_score = env.lab.copy(), env.score()
    return best


class SeparatorRefiner:
    """A trained :class:`~workbench.partition.rl_refinement.RLPolicy` for separators; ``refine(adjacency, labels,
    steps, imbalance)`` -> refined labels (greedy policy, best valid state kept). ``history``: per-episode returns
    and ``seconds``."""

    def __init__(self, policy: RLPolicy, history: dict[str, list[float]] | None = None) -> None:
        self.policy = policy.eval()
        self.history = history or {}

    @torch.no_grad()
    def refine(self, adjacency: Any, labels: Any, steps: int = 40, imbalance: float = 0.05) -> np.ndarray:
        def choose(e: SeparatorEnv, movable: np.ndarray) -> int:
            logp, _ = self.policy(e.state(), e.graph, torch.as_tensor(movable))
            return int(np.flatnonzero(movable)[int(torch.argmax(logp))])

        return _best_valid(SeparatorEnv(adjacency, labels), choose, steps, imbalance)

    def separator(self, steps: int = 40, imbalance: float = 0.05) -> Callable[[sp.csr_matrix, np.ndarray],
                                                                            np.ndarray]:
        """``separate(adjacency, parts) -> labels`` for :func:`~workbench.partition.nested_dissection_order`: the
        minimum vertex cover of the bisection's cut, refined by the agent."""
        return lambda a, parts: self.refine(a, minimum_vertex_separator(a, parts), steps, imbalance)


def random_separator_refine(adjacency: Any, labels: Any, steps: int = 40, imbalance: float = 0.05,
                            seed: int = 0) -> np.ndarray:
    """The protocol of :meth:`SeparatorRefiner.refine` with uniformly random separator moves."""
    rng = np.random.default_rng(seed)
    return _best_valid(SeparatorEnv(adjacency, labels), lambda e, m: rng.choice(np.flatnonzero(m)), steps, imbalance)


def greedy_separator_refine(adjacency: Any, labels: Any, steps: int = 40, imbalance: float = 0.05) -> np.ndarray:
    """The protocol of :meth:`SeparatorRefiner.refine` moving the vertex that adds the fewest nodes to the separator
    (ties: the one with most neighbours in the target side, then the lowest index)."""
    def choose(e: SeparatorEnv, movable: np.ndarray) -> int:
        s = e.target()
        idx = np.flatnonzero(movable)
        return int(idx[np.lexsort((idx, -e.count[idx, s], e.count[idx, 1 - s]))[0]])

    return _best_valid(SeparatorEnv(adjacency, labels), choose, steps, imbalance)


def train_separator_refiner(config: RLTrainConfig | None = None) -> SeparatorRefiner:
    """A2C training (see the module doc; :class:`~workbench.partition.rl_refinement.RLTrainConfig`); float32,
    CPU. Every graph of the pool is started alternately from :func:`vertex_separator_from_parts` and from the minimum
    vertex cover."""
    config = config or RLTrainConfig()
    config.validate()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    policy = RLPolicy(config.hidden, in_dim=SEPARATOR_FEATURES)
    pool = []
    for i in range(min(config.episodes, 8)):
        g = random_delaunay(int(rng.integers(config.train_nodes[0], config.train_nodes[1] + 1)), seed=900 + i
                            + 7919 * config.seed)
        parts = spectral_bisection(g.adjacency, seed=i)
        pool.append((g.adjacency, vertex_separator_from_parts(g.adjacency, parts),
                     minimum_vertex_separator(g.adjacency, parts)))

    def make_env(episode: int) -> SeparatorEnv:
        adjacency, boundary, cover = pool[episode % len(pool)]
        return SeparatorEnv(adjacency, boundary if (episode + episode // len(pool)) % 2 == 0 else cover)

    return SeparatorRefiner(policy, a2c_train(policy, make_env, config))

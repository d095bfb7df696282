"""Refining a bisection with reinforcement learning: an advantage actor-critic (A2C) agent with a SAGE policy that
moves boundary nodes, after Gatti et al. (arXiv 2104.03546), for the normalized cut of edge bisections.

Environment (:class:`BisectionEnv`): a graph and a bisection. At step ``t`` the agent moves one boundary node (a
node with a neighbour on the other side) of side ``t mod 2`` to the other side, so after every even step both sides
have their starting sizes (balance kept exactly, as in the paper's alternating moves). Reward: the decrease of the
normalized cut, divided by the starting normalized cut. Node state ``[n, 5]``: side (+-1), external and internal
edge weight over the degree, boundary flag, whether the node may move now.

Agent (:class:`RLPolicy`): shared SAGE layers (:class:`~workbench.partition.gnn_partitioner.SAGELayer`), a logit per
node (softmax over the movable nodes) and a value from the mean-pooled node states. Trained by A2C
(:func:`train_rl_refiner`): an episode of ``steps`` moves, discounted returns, loss ``-log pi * advantage +
0.5 * (return - value)^2 - entropy_weight * entropy``. :meth:`RLRefiner.refine` runs the greedy policy and keeps
the best balanced state met (an even step), so the result never has a larger normalized cut than the start; the
improvement is measured against the same protocol with random boundary moves (:func:`random_move_refine`).

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> from workbench.partition.baselines import spectral_bisection
    >>> from workbench.partition.metrics import normalized_cut
    >>> agent = train_rl_refiner(RLTrainConfig(episodes=2, steps=6, train_nodes=(100, 150)))
    >>> g = random_delaunay(200, seed=4)
    >>> start = spectral_bisection(g.adjacency)
    >>> normalized_cut(g.adjacency, agent.refine(g.adjacency, start, steps=10)) <= normalized_cut(g.adjacency, start)
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from workbench.partition.baselines import spectral_bisection
from workbench.partition.gnn_partitioner import SAGELayer, TorchGraph
from workbench.partition.graphs import check_adjacency, random_delaunay
from workbench.partition.metrics import check_parts

__all__ = ["BisectionEnv", "RLPolicy", "RLRefiner", "RLTrainConfig", "a2c_train", "random_move_refine",
           "train_rl_refiner"]


class BisectionEnv:
    """The moving-boundary-nodes environment (see the module doc). ``parts`` int64 ``[n]`` of 0/1."""

    def __init__(self, adjacency: sp.csr_matrix, parts: np.ndarray) -> None:
        self.a = check_adjacency(adjacency)
        n = self.a.shape[0]
        self.p = check_parts(parts, n, 2).copy()
        self.row = np.repeat(np.arange(n), np.diff(self.a.indptr))
        self.deg = np.asarray(self.a.sum(axis=1)).ravel()
        same = self.p[self.row] == self.p[self.a.indices]
        self.ext = np.bincount(self.row, weights=np.where(same, 0.0, self.a.data), minlength=n)
        self.cut = float(self.ext.sum() / 2.0)
        self.vol = np.array([self.deg[self.p == 0].sum(), self.deg[self.p == 1].sum()])
        self.start_ncut = self.ncut()
        self.t = 0
        coo = self.a.tocoo()
        self.graph = TorchGraph(torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col, dtype=torch.long),
                                torch.as_tensor(coo.data, dtype=torch.float32),
                                torch.as_tensor(self.deg, dtype=torch.float32), torch.ones(n), None)

    def ncut(self) -> float:
        return float(self.cut / self.vol[0] + self.cut / self.vol[1]) if self.vol.min() > 0 else float("inf")

    def movable(self) -> np.ndarray:
        """bool ``[n]``: boundary nodes of side ``t mod 2``."""
        return (self.ext > 0) & (self.p == self.t % 2)

    def state(self) -> torch.Tensor:
        d = np.maximum(self.deg, 1e-12)
        feats = np.stack([2.0 * self.p - 1.0, self.ext / d, (self.deg - self.ext) / d, (self.ext > 0) * 1.0,
                          self.movable() * 1.0], axis=1)
        return torch.as_tensor(feats, dtype=torch.float32)

    def step(self, v: int) -> float:
        """Move node ``v`` (must be movable); returns the reward."""
        before = self.ncut()
        s = self.p[v]
        inner = self.deg[v] - self.ext[v]
        self.cut += inner - self.ext[v]
        self.vol[s] -= self.deg[v]
        self.vol[1 - s] += self.deg[v]
        self.p[v] = 1 - s
        self.ext[v] = inner
        lo, hi = self.a.indptr[v], self.a.indptr[v + 1]
        nbr, w = self.a.indices[lo:hi], self.a.data[lo:hi]
        self.ext[nbr] += np.where(self.p[nbr] == s, w, -w)
        self.t += 1
        return (before - self.ncut()) / self.start_ncut


class RLPolicy(nn.Module):
    """SAGE actor-critic: ``forward(state, graph, movable)`` -> (log-probabilities over the movable nodes ``[m]``,
    value ``[]``). ``state`` float32 ``[n, in_dim]`` (5 for :class:`BisectionEnv`), ``movable`` bool ``[n]``."""

    def __init__(self, hidden: int = 32, layers: int = 3, in_dim: int = 5) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(SAGELayer(hidden, hidden) for _ in range(layers))
        self.actor = nn.Linear(hidden, 1)
        self.critic = nn.Linear(hidden, 1)

    def forward(self, state: torch.Tensor, graph: TorchGraph, movable: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.tanh(self.inp(state))
        for layer in self.layers:
            x = x + layer(x, graph)
        logits = self.actor(x).squeeze(-1)[movable]
        return torch.log_softmax(logits, dim=0), self.critic(x.mean(0)).squeeze()


@dataclass
class RLTrainConfig:
    """A2C training: ``episodes`` episodes of ``steps`` moves (even) on random Delaunay graphs with node counts in
    ``train_nodes``, starting from spectral bisections; ``gamma``, ``lr``, ``entropy_weight``, ``hidden``, ``seed``."""

    episodes: int = 60
    steps: int = 24
    train_nodes: tuple[int, int] = (300, 800)
    gamma: float = 0.95
    lr: float = 3e-3
    entropy_weight: float = 0.01
    hidden: int = 32
    seed: int = 0

    def validate(self) -> None:
        if self.episodes < 1 or self.steps < 2 or self.steps % 2:
            raise ValueError(f"episodes must be >= 1 and steps an even integer >= 2, got {self.episodes!r}, "
                             f"{self.steps!r}")
        if not 16 <= self.train_nodes[0] <= self.train_nodes[1]:
            raise ValueError(f"train_nodes must be (low, high) with 16 <= low <= high, got {self.train_nodes!r}")
        if not 0 < self.gamma <= 1 or not self.lr > 0:
            raise ValueError(f"gamma must be in (0, 1] and lr > 0, got {self.gamma!r}, {self.lr!r}")


def _best_balanced(env: BisectionEnv, choose, steps: int) -> np.ndarray:
    best, best_ncut = env.p.copy(), env.ncut()
    for _ in range(steps):
        movable = env.movable()
        if not movable.any():
            break
        env.step(int(choose(env, movable)))
        if env.t % 2 == 0 and env.ncut() < best_ncut - 1e-15:
            best, best_ncut = env.p.copy(), env.ncut()
    return best


class RLRefiner:
    """A trained :class:`RLPolicy`; ``refine(adjacency, parts, steps)`` -> the refined bisection (greedy policy,
    best balanced state kept). ``history``: per-episode returns and ``seconds``."""

    def __init__(self, policy: RLPolicy, history: dict[str, list[float]] | None = None) -> None:
        self.policy = policy.eval()
        self.history = history or {}

    @torch.no_grad()
    def refine(self, adjacency: sp.csr_matrix, parts: np.ndarray, steps: int = 40) -> np.ndarray:
        env = BisectionEnv(adjacency, parts)

        def choose(e: BisectionEnv, movable: np.ndarray) -> int:
            logp, _ = self.policy(e.state(), e.graph, torch.as_tensor(movable))
            return int(np.flatnonzero(movable)[int(torch.argmax(logp))])

        return _best_balanced(env, choose, steps)


def random_move_refine(adjacency: sp.csr_matrix, parts: np.ndarray, steps: int = 40, seed: int = 0) -> np.ndarray:
    """The same protocol as :meth:`RLRefiner.refine` with uniformly random boundary moves (the baseline)."""
    rng = np.random.default_rng(seed)
    return _best_balanced(BisectionEnv(adjacency, parts), lambda e, m: rng.choice(np.flatnonzero(m)), steps)


def a2c_train(policy: RLPolicy, make_env: Callable[[int], Any], config: RLTrainConfig) -> dict[str, list[float]]:
    """The A2C loop shared by the edge-cut and the vertex-separator refiners: for every episode ``e`` an environment
    ``make_env(e)`` (with ``movable()`` bool ``[n]``, ``state()``, ``graph`` and ``step(node) -> reward``) runs
    ``config.steps`` sampled moves; loss ``-log pi * advantage + 0.5 * (return - value)^2 - entropy_weight *
    entropy`` with discounted returns (``config.gamma``), one Adam step per episode (``config.lr``). Returns the
    history: ``episode_return`` per episode and ``seconds``."""
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    history: dict[str, list[float]] = {"episode_return": []}
    start = time.perf_counter()
    for episode in range(config.episodes):
        env = make_env(episode)
        logps, values, rewards, entropies = [], [], [], []
        for _ in range(config.steps):
            movable = env.movable()
            if not movable.any():
                break
            logp, value = policy(env.state(), env.graph, torch.as_tensor(movable))
            action = int(torch.multinomial(logp.exp(), 1))
            rewards.append(env.step(int(np.flatnonzero(movable)[action])))
            logps.append(logp[action])
            values.append(value)
            entropies.append(-(logp.exp() * logp).sum())
        history["episode_return"].append(float(sum(rewards)))
        if not rewards:  # nothing could move: no gradient from this episode
            continue
        returns, acc = [], 0.0
        for r in reversed(rewards):
            acc = r + config.gamma * acc
            returns.append(acc)
        ret = torch.tensor(returns[::-1], dtype=torch.float32)
        val = torch.stack(values)
        adv = ret - val.detach()
        loss = (-(torch.stack(logps) * adv).mean() + 0.5 * ((ret - val) ** 2).mean()
                - config.entropy_weight * torch.stack(entropies).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    history["seconds"] = [time.perf_counter() - start]
    return history


def train_rl_refiner(config: RLTrainConfig | None = None) -> RLRefiner:
    """A2C training (see the module doc); float32, CPU."""
    config = config or RLTrainConfig()
    config.validate()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    policy = RLPolicy(config.hidden)
    pool = []
    for i in range(min(config.episodes, 8)):
        g = random_delaunay(int(rng.integers(config.train_nodes[0], config.train_nodes[1] + 1)), seed=500 + i
                            + 7919 * config.seed)
        pool.append((g.adjacency, spectral_bisection(g.adjacency, seed=i)))
    history = a2c_train(policy, lambda episode: BisectionEnv(*pool[episode % len(pool)]), config)
    return RLRefiner(policy, history)

"""A learned multilevel bisection after Gatti et al. (arXiv 2110.08614): SAGE layers on a heavy-edge-matching
hierarchy, an embedding module trained on a spectral loss, a partitioning module trained on the expected
normalized cut, then un-coarsening with FM refinement.

The pieces (plain torch; messages summed with ``index_add_``, no torch_scatter):

- :class:`SAGELayer`: ``x_i' = tanh(W_self x_i + W_neigh * sum_j A_ij x_j / sum_j A_ij)`` (edge-weighted mean);
- :class:`EmbeddingModule`: node features drawn at random (``N(0, 1)``, ``in_dim`` per node) on the coarsest level
  of a hierarchy, lifted level by level (``x_fine = x_coarse[cluster]``) and smoothed by shared SAGE layers on every
  level, then mapped to ``dim`` embedding coordinates; trained on :func:`spectral_loss` (the generalized Rayleigh
  quotient ``tr((Y^T D Y)^-1 Y^T L Y)`` of the embedding made D-orthogonal to the constant vector, minimized by the
  ``dim`` smallest non-trivial eigenvectors of ``L y = lambda D y``: the normalized-cut relaxation);
- :class:`PartitionModule`: SAGE layers on the scaled, D-orthonormalized embedding -> softmax over 2 parts, trained on
  :func:`expected_normalized_cut` (``sum_k sum_ij A_ij P_ik (1 - P_jk) / sum_i d_i P_ik``) plus a balance penalty;
- :class:`GNNPartitioner`: coarsen the graph until it has at most ``gnn_nodes`` nodes (level ``l``), run both
  modules there (``trials`` noise draws, the lowest coarse edge cut wins), split the part-1 probability at the
  weighted median (:func:`~workbench.partition.baselines.split_by_score`), then un-coarsen with FM refinement
  (:func:`~workbench.partition.refinement.uncoarsen`). :func:`train_gnn_partitioner` trains it once on small random
  Delaunay graphs (their coarse levels, the same kind of graph it meets at inference on much larger ones).

**Node permutation.** Both modules are permutation-equivariant: relabelling the nodes of every level (adjacency,
``cluster`` maps, and the coarsest-level noise) permutes their node outputs the same way (tested, with
:class:`NodeIndexPartitionModule`, which sees node indices, failing the same test). The whole partitioner is
equivariant in distribution only: the matching's random tie-breaks and the noise are drawn per node index.

Examples:
    >>> from workbench.partition.graphs import random_delaunay
    >>> from workbench.partition.metrics import balance
    >>> model = train_gnn_partitioner(GNNTrainConfig(num_graphs=2, train_nodes=(200, 300), embed_steps=3,
    ...                                              partition_steps=3, gnn_nodes=100))
    >>> parts = model.partition(random_delaunay(500, seed=3).adjacency)
    >>> parts.shape, balance(parts, 2) <= 1.01
    ((500,), True)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from workbench.partition.baselines import split_by_score
from workbench.partition.coarsening import Level, coarsen_hierarchy
from workbench.partition.graphs import check_adjacency, random_delaunay, require_connected
from workbench.partition.metrics import edge_cut
from workbench.partition.refinement import uncoarsen

__all__ = ["EmbeddingModule", "GNNPartitioner", "GNNTrainConfig", "NodeIndexPartitionModule", "PartitionModule",
           "SAGELayer", "TorchGraph", "d_orthonormalize", "expected_normalized_cut", "spectral_loss",
           "torch_levels", "train_gnn_partitioner"]


@dataclass
class TorchGraph:
    """A weighted graph for message passing: ``row``/``col`` int64 ``[2m]`` (both directions), ``weight``
    ``[2m]``, ``degree`` ``[n]`` (weighted), ``node_weights`` ``[n]`` and ``cluster`` (int64 ``[n]`` map to the next
    coarser level, or None)."""

    row: torch.Tensor
    col: torch.Tensor
    weight: torch.Tensor
    degree: torch.Tensor
    node_weights: torch.Tensor
    cluster: torch.Tensor | None

    @property
    def num_nodes(self) -> int:
        return int(self.degree.shape[0])


def _torch_graph(adjacency: sp.csr_matrix, node_weights: np.ndarray, cluster: np.ndarray | None,
                 dtype: torch.dtype) -> TorchGraph:
    coo = adjacency.tocoo()
    return TorchGraph(torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col, dtype=torch.long),
                      torch.as_tensor(coo.data, dtype=dtype),
                      torch.as_tensor(np.asarray(adjacency.sum(axis=1)).ravel(), dtype=dtype),
                      torch.as_tensor(node_weights, dtype=dtype),
                      None if cluster is None else torch.as_tensor(cluster, dtype=torch.long))


def torch_levels(levels: list[Level], start: int = 0, dtype: torch.dtype = torch.float32) -> list[TorchGraph]:
    """``levels[start:]`` as :class:`TorchGraph` (finest first); the last one's ``cluster`` is None."""
    out = []
    for i, lv in enumerate(levels[start:]):
        last = start + i == len(levels) - 1
        out.append(_torch_graph(lv.adjacency, lv.node_weights, None if last else lv.cluster, dtype))
    return out


class SAGELayer(nn.Module):
    """``x_i' = tanh(W_self x_i + W_neigh mean_w(x_j))`` with the edge-weighted neighbour mean; ``x`` ``[n, in]``
    -> ``[n, out]``."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.self_linear = nn.Linear(in_dim, out_dim)
        self.neigh_linear = nn.Linear(in_dim, out_dim, bias=False)

    def forward(self, x: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
        msg = graph.weight[:, None] * x[graph.col]
        agg = torch.zeros_like(x).index_add_(0, graph.row, msg) / graph.degree.clamp_min(1e-12)[:, None]
        return torch.tanh(self.self_linear(x) + self.neigh_linear(agg))


def d_orthonormalize(y: torch.Tensor, degree: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Y_c, R)``: ``Y_c`` is ``y`` ``[n, d]`` made D-orthogonal to the constant vector; ``R`` the Cholesky factor
    of ``Y_c^T D Y_c`` (so ``Y_c R^-T`` is D-orthonormal)."""
    y = y - (degree @ y) / degree.sum()
    gram = y.T @ (degree[:, None] * y)
    eye = torch.eye(y.shape[1], dtype=y.dtype)
    return y, torch.linalg.cholesky(gram + 1e-9 * gram.diagonal().mean() * eye)


def spectral_loss(y: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
    """``tr((Y^T D Y)^-1 Y^T L Y)`` of ``y`` ``[n, d]`` made D-orthogonal to the constant: the sum of the generalized
    Rayleigh quotients; its minimum is the sum of the ``d`` smallest non-trivial eigenvalues of ``L y = l D y``."""
    yc, chol = d_orthonormalize(y, graph.degree)
    diff = yc[graph.row] - yc[graph.col]
    lap = 0.5 * (graph.weight[:, None] * diff).T @ diff
    return torch.cholesky_solve(lap, chol).diagonal().sum()


def expected_normalized_cut(probs: torch.Tensor, graph: TorchGraph, balance_weight: float = 0.0) -> torch.Tensor:
    """``sum_k sum_ij A_ij P_ik (1 - P_jk) / sum_i d_i P_ik`` for soft assignments ``probs`` ``[n, k]``, plus
    ``balance_weight * sum_k (w(P_k) / w(V) - 1/k)^2`` with the node weights."""
    cut = (graph.weight[:, None] * probs[graph.row] * (1.0 - probs[graph.col])).sum(0)
    vol = (graph.degree[:, None] * probs).sum(0)
    loss = (cut / vol.clamp_min(1e-12)).sum()
    if balance_weight:
        share = (graph.node_weights[:, None] * probs).sum(0) / graph.node_weights.sum()
        loss = loss + balance_weight * ((share - 1.0 / probs.shape[1]) ** 2).sum()
    return loss


class EmbeddingModule(nn.Module):
    """Random features on the coarsest level, lifted and smoothed by shared SAGE layers up to the finest level.

    ``forward(noise, graphs)``: ``noise`` ``[n_coarsest, in_dim]``, ``graphs`` finest first (their ``cluster`` maps
    lead down to the coarsest); returns ``[n_finest, dim]``.
    """

    def __init__(self, in_dim: int = 4, hidden: int = 32, dim: int = 2, layers_per_level: int = 2) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.lift = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(SAGELayer(hidden, hidden) for _ in range(layers_per_level))
        self.head = nn.Linear(hidden, dim)

    def forward(self, noise: torch.Tensor, graphs: list[TorchGraph]) -> torch.Tensor:
        x = self.lift(noise)
        for depth in range(len(graphs) - 1, -1, -1):
            graph = graphs[depth]
            if depth < len(graphs) - 1:
                x = x[graph.cluster]
            for layer in self.layers:
                x = x + layer(x, graph)
        return self.head(x)


def _scaled_embedding(y: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
    yc, chol = d_orthonormalize(y, graph.degree)
    z = torch.linalg.solve_triangular(chol, yc.T, upper=False).T  # D-orthonormal columns
    return z * graph.degree.sum().sqrt()


class PartitionModule(nn.Module):
    """SAGE layers on the D-orthonormalized embedding (scaled by ``sqrt(vol(V))``, so its size does not depend on
    the graph's) -> part probabilities ``[n, 2]``."""

    def __init__(self, dim: int = 2, hidden: int = 32, layers: int = 3) -> None:
        super().__init__()
        self.inp = nn.Linear(dim, hidden)
        self.layers = nn.ModuleList(SAGELayer(hidden, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden, 2)

    def node_input(self, embedding: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
        return _scaled_embedding(embedding, graph)

    def forward(self, embedding: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
        x = torch.tanh(self.inp(self.node_input(embedding, graph)))
        for layer in self.layers:
            x = x + layer(x, graph)
        return torch.softmax(self.out(x), dim=-1)


class NodeIndexPartitionModule(PartitionModule):
    """A non-equivariant baseline: :class:`PartitionModule` whose input also holds each node's index ``i / n``
    (a positional feature tied to the labelling), so relabelling the nodes changes its outputs."""

    def __init__(self, dim: int = 2, hidden: int = 32, layers: int = 3) -> None:
        super().__init__(dim + 1, hidden, layers)

    def node_input(self, embedding: torch.Tensor, graph: TorchGraph) -> torch.Tensor:
        n = embedding.shape[0]
        index = torch.arange(n, dtype=embedding.dtype)[:, None] / n
        return torch.cat([_scaled_embedding(embedding, graph), index], dim=1)


@dataclass
class GNNTrainConfig:
    """Training of :func:`train_gnn_partitioner`: ``num_graphs`` random Delaunay graphs with node counts drawn in
    ``train_nodes``, coarsened to at most ``gnn_nodes`` nodes (the level the modules work on at inference too);
    ``embed_steps`` Adam steps on the spectral loss, then ``partition_steps`` on the expected normalized cut
    (embedding frozen), learning rate ``lr``; ``hidden``, ``dim``, ``layers``; ``balance_weight``; ``seed``."""

    num_graphs: int = 12
    train_nodes: tuple[int, int] = (1000, 3000)
    gnn_nodes: int = 400
    min_nodes: int = 8
    embed_steps: int = 300
    partition_steps: int = 200
    lr: float = 5e-3
    hidden: int = 32
    dim: int = 2
    layers: int = 3
    balance_weight: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        for name in ("num_graphs", "gnn_nodes", "min_nodes", "embed_steps", "partition_steps", "hidden", "dim",
                     "layers", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if "steps" in name or
                                                                                  name == "seed" else 1):
                raise ValueError(f"{name} must be a non-negative integer (positive for sizes), got {v!r}")
        lo, hi = self.train_nodes
        if not 16 <= lo <= hi:
            raise ValueError(f"train_nodes must be (low, high) with 16 <= low <= high, got {self.train_nodes!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")


class GNNPartitioner:
    """Trained embedding + partitioning modules and the multilevel driver (see the module doc).

    ``partition(adjacency, seed=0, trials=4, refine=True)`` returns int64 ``[n]`` labels 0/1; ``refine=False`` skips
    the FM refinement (the learned partition projected to the finest level as it is).
    """

    def __init__(self, embedding: EmbeddingModule, partitioner: PartitionModule, gnn_nodes: int = 400,
                 min_nodes: int = 8, imbalance: float = 0.01, history: dict[str, list[float]] | None = None) -> None:
        self.embedding, self.partitioner = embedding.eval(), partitioner.eval()
        self.gnn_nodes, self.min_nodes, self.imbalance = gnn_nodes, min_nodes, imbalance
        self.history = history or {}

    def hierarchy(self, adjacency: sp.csr_matrix, seed: int = 0) -> tuple[list[Level], int]:
        """The HEM hierarchy of a graph and the index of the level the modules work on (first with at most
        ``gnn_nodes`` nodes)."""
        levels = coarsen_hierarchy(adjacency, min_nodes=self.min_nodes, seed=seed)
        gnn_level = next((i for i, lv in enumerate(levels) if lv.num_nodes <= self.gnn_nodes), len(levels) - 1)
        return levels, gnn_level

    @torch.no_grad()
    def probabilities(self, levels: list[Level], gnn_level: int, seed: int = 0) -> np.ndarray:
        """Part-1 probabilities ``[n_level]`` on ``levels[gnn_level]`` for one noise draw."""
        graphs = torch_levels(levels, gnn_level)
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(graphs[-1].num_nodes, self.embedding.in_dim, generator=gen)
        y = self.embedding(noise, graphs)
        return self.partitioner(y, graphs[0])[:, 1].double().numpy()

    def partition(self, adjacency: Any, seed: int = 0, trials: int = 4, refine: bool = True) -> np.ndarray:
        a = check_adjacency(adjacency)
        require_connected(a, "the GNN partitioner")
        if a.shape[0] < 2:
            raise ValueError("adjacency must have at least 2 nodes to bisect")
        levels, gnn_level = self.hierarchy(a, seed)
        lv = levels[gnn_level]
        best, best_cut = None, np.inf
        for t in range(max(int(trials), 1)):
            parts = split_by_score(self.probabilities(levels, gnn_level, seed + t), lv.node_weights)
            cut = edge_cut(lv.adjacency, parts)
            if cut < best_cut:
                best, best_cut = parts, cut
        return uncoarsen(levels, best, gnn_level, self.imbalance, refine)

    def state_dict(self) -> dict[str, Any]:
        return {"embedding": self.embedding.state_dict(), "partitioner": self.partitioner.state_dict(),
                "gnn_nodes": self.gnn_nodes, "min_nodes": self.min_nodes}


def train_gnn_partitioner(config: GNNTrainConfig | None = None, progress: bool = False) -> GNNPartitioner:
    """Train the two modules once on small random Delaunay graphs (float32, CPU) and return the partitioner;
    ``history`` holds the per-step losses and ``seconds``."""
    config = config or GNNTrainConfig()
    config.validate()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    graphs = []
    for i in range(config.num_graphs):
        g = random_delaunay(int(rng.integers(config.train_nodes[0], config.train_nodes[1] + 1)), seed=1000 + i
                            + 7919 * config.seed)
        levels = coarsen_hierarchy(g.adjacency, min_nodes=config.min_nodes, seed=i)
        gnn_level = next((j for j, lv in enumerate(levels) if lv.num_nodes <= config.gnn_nodes), len(levels) - 1)
        graphs.append(torch_levels(levels, gnn_level))
    embedding = EmbeddingModule(hidden=config.hidden, dim=config.dim)
    partitioner = PartitionModule(dim=config.dim, hidden=config.hidden, layers=config.layers)
    history: dict[str, list[float]] = {"spectral_loss": [], "normalized_cut_loss": []}

    def noise(tg: list[TorchGraph]) -> torch.Tensor:
        return torch.randn(tg[-1].num_nodes, embedding.in_dim)

    opt = torch.optim.Adam(embedding.parameters(), lr=config.lr)
    for step in range(config.embed_steps):
        tg = graphs[step % len(graphs)]
        loss = spectral_loss(embedding(noise(tg), tg), tg[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        history["spectral_loss"].append(loss.item())
        if progress and step % 50 == 0:
            print(f"embedding step {step}: spectral loss {loss.item():.4f}")
    embedding.requires_grad_(False)
    opt = torch.optim.Adam(partitioner.parameters(), lr=config.lr)
    for step in range(config.partition_steps):
        tg = graphs[step % len(graphs)]
        with torch.no_grad():
            y = embedding(noise(tg), tg)
        loss = expected_normalized_cut(partitioner(y, tg[0]), tg[0], config.balance_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history["normalized_cut_loss"].append(loss.item())
        if progress and step % 50 == 0:
            print(f"partition step {step}: expected normalized cut {loss.item():.4f}")
    history["seconds"] = [time.perf_counter() - start]
    history["config"] = asdict(config)  # type: ignore[assignment]
    return GNNPartitioner(embedding, partitioner, config.gnn_nodes, config.min_nodes, history=history)

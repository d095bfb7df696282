"""The graph-partitioning pipeline: a learned bisection trained once on small Delaunay graphs, evaluated against
METIS and the classical baselines on larger Delaunay graphs and FE meshes; RL refinement; nested-dissection fill-in.

:func:`run_partitioning`:

1. trains :class:`~workbench.partition.GNNPartitioner` (:func:`~workbench.partition.train_gnn_partitioner`) on
   ``num_train_graphs`` random Delaunay graphs of ``train_nodes`` nodes;
2. bisects random Delaunay graphs of every size in ``test_sizes`` (typically 10-100x the training graphs) and two FE
   meshes with holes (structured and graded, ``fe_nodes`` nodes) with every method of ``methods``: ``gnn``,
   ``gnn_unrefined`` (the learned partition without FM), ``metis``, ``spectral``, ``bfs``, ``random``; one row
   per graph and method: normalized cut, edge cut, balance, seconds, and the ratios to METIS;
3. trains the A2C refiner (:func:`~workbench.partition.rl_refinement.train_rl_refiner`, ``rl_episodes``) and
   refines the spectral bisections of the test graphs of at most ``rl_max_nodes`` nodes for ``rl_steps`` moves,
   beside random boundary moves under the same protocol;
4. trains the separator agent (:func:`~workbench.partition.separator_rl.train_separator_refiner`,
   ``sep_episodes`` episodes of ``sep_steps`` moves) and refines, on the same graphs, the vertex separators of the
   METIS bisection (or the spectral one when ``metis`` is not among ``methods``): the boundary of one side
   (``boundary``) and the minimum vertex cover of the cut (``cover``), beside greedy and random moves under the same
   protocol (normalized separator ``|S| (1/|V0| + 1/|V1|)``, separator size, balance);
5. nested dissection: SuperLU fill-in (:func:`~workbench.partition.fill_in_table`) of the 2D Laplacian on an
   ``nd_grid x nd_grid`` grid, the 3D Laplacian on ``nd_grid3d^3`` and the graded FE mesh's ``L + 0.01 I``, for
   natural, COLAMD, MMD(A^T+A), METIS ND and ND from the METIS, spectral and GNN bisections, and ND from the METIS
   bisection with the RL-refined separator (``nd_metis+rl``; without it: ``nd_metis``).

Files in ``output_dir``: ``metrics.json`` (config, headline ratios), ``results.csv``, ``rl_refinement.csv``,
``separator_rl.csv``, ``fill_in.csv``, ``training.csv`` (losses per step).

Examples:
    >>> import tempfile
    >>> r = run_partitioning(output_dir=tempfile.mkdtemp(), num_train_graphs=2, train_nodes=(200, 300),
    ...                      embed_steps=5, partition_steps=5, gnn_nodes=100, test_sizes=[600], fe_nodes=300,
    ...                      rl_episodes=2, rl_steps=4, sep_episodes=2, sep_steps=4, nd_grid=10, nd_grid3d=4,
    ...                      methods=["gnn", "metis"])
    >>> sorted(r.results.method.unique())
    ['gnn', 'metis']
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.partition import (
    GNNPartitioner,
    GNNTrainConfig,
    PartitionGraph,
    bfs_bisection,
    fe_mesh,
    fill_in_table,
    grid_graph_2d,
    grid_graph_3d,
    metis_partition,
    normalized_cut,
    partition_report,
    random_bisection,
    random_delaunay,
    spectral_bisection,
    train_gnn_partitioner,
)
from workbench.partition.metrics import separator_report, vertex_separator_from_parts
from workbench.partition.nested_dissection import minimum_vertex_separator
from workbench.partition.rl_refinement import RLRefiner, RLTrainConfig, random_move_refine, train_rl_refiner
from workbench.partition.separator_rl import (
    SeparatorRefiner,
    greedy_separator_refine,
    normalized_separator,
    random_separator_refine,
    train_separator_refiner,
)
from workbench.pipelines.common import check_integers, check_model_names, name_tuple, resolve_config

__all__ = ["METHODS", "PartitioningRunConfig", "PartitioningRunResult", "run_partitioning"]

#: Bisection methods :func:`run_partitioning` can compare, by name.
METHODS: tuple[str, ...] = ("gnn", "gnn_unrefined", "metis", "spectral", "bfs", "random")


@dataclass
class PartitioningRunConfig:
    """Parameters of :func:`run_partitioning` (the notebook's parameters map onto these; see the module doc)."""

    num_train_graphs: int = 4
    train_nodes: Sequence[int] = (400, 800)
    gnn_nodes: int = 200
    embed_steps: int = 60
    partition_steps: int = 60
    hidden: int = 32
    test_sizes: Sequence[int] = (2000, 8000)
    fe_nodes: int = 2000
    rl_episodes: int = 20
    rl_steps: int = 16
    rl_max_nodes: int = 2500
    sep_episodes: int = 20
    sep_steps: int = 20
    nd_grid: int = 40
    nd_grid3d: int = 10
    methods: Sequence[str] = METHODS
    seed: int = 0

    def __post_init__(self) -> None:
        self.methods = name_tuple(self.methods)
        self.train_nodes = tuple(int(v) for v in self.train_nodes)
        self.test_sizes = tuple(int(v) for v in self.test_sizes)

    def validate(self) -> None:
        check_model_names(self.methods, METHODS)
        check_integers(self, {"num_train_graphs": 1, "gnn_nodes": 8, "embed_steps": 1, "partition_steps": 1,
                              "hidden": 2, "fe_nodes": 100, "rl_episodes": 1, "rl_steps": 2, "rl_max_nodes": 0,
                              "sep_episodes": 1, "sep_steps": 2,
                              "nd_grid": 4, "nd_grid3d": 3, "seed": 0})
        if len(self.train_nodes) != 2 or not 16 <= self.train_nodes[0] <= self.train_nodes[1]:
            raise ValueError(f"train_nodes must be [low, high] with 16 <= low <= high, got {list(self.train_nodes)}")
        if not self.test_sizes or min(self.test_sizes) < 16:
            raise ValueError(f"test_sizes must be a non-empty list of node counts >= 16, got {list(self.test_sizes)}")
        if self.rl_steps % 2:
            raise ValueError(f"rl_steps must be even (alternating moves keep the balance), got {self.rl_steps}")
        if self.sep_steps % 2:
            raise ValueError(f"sep_steps must be even (as in the A2C training config), got {self.sep_steps}")


@dataclass
class PartitioningRunResult:
    """``results`` (one row per graph and method), ``rl`` (RL refinement), ``separators`` (RL refinement of vertex
    separators, one row per graph and starting separator), ``fill_in`` (one row per matrix and
    ordering), ``training`` (loss per step), ``metrics`` (``metrics.json``), ``graphs`` (the test graphs by name),
    ``partitions`` (graph name -> method -> labels), the trained ``model``, ``output_dir``, the trained ``rl_agent``
    (edge cuts) and ``separator_agent`` (vertex separators)."""

    results: pd.DataFrame
    rl: pd.DataFrame
    separators: pd.DataFrame
    fill_in: pd.DataFrame
    training: pd.DataFrame
    metrics: dict[str, Any]
    graphs: dict[str, PartitionGraph] = field(default_factory=dict)
    partitions: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    model: GNNPartitioner | None = None
    output_dir: Path = Path(".")
    rl_agent: RLRefiner | None = None
    separator_agent: SeparatorRefiner | None = None


def _bisect(method: str, model: GNNPartitioner, adjacency: Any, seed: int) -> np.ndarray:
    if method == "gnn":
        return model.partition(adjacency, seed=seed)
    if method == "gnn_unrefined":
        return model.partition(adjacency, seed=seed, refine=False)
    if method == "metis":
        return metis_partition(adjacency, 2, seed=seed)
    if method == "spectral":
        return spectral_bisection(adjacency, seed=seed)
    if method == "bfs":
        return bfs_bisection(adjacency, seed=seed)
    return random_bisection(adjacency.shape[0], seed=seed)


def run_partitioning(config: PartitioningRunConfig | None = None, output_dir: str | Path = "runs/partitioning",
                     **overrides: Any) -> PartitioningRunResult:
    """Run the pipeline (see the module doc); keyword ``overrides`` replace fields of ``config``."""
    config = resolve_config(PartitioningRunConfig, config, overrides, "run_partitioning")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model = train_gnn_partitioner(GNNTrainConfig(
        num_graphs=config.num_train_graphs, train_nodes=tuple(config.train_nodes), gnn_nodes=config.gnn_nodes,
        embed_steps=config.embed_steps, partition_steps=config.partition_steps, hidden=config.hidden,
        seed=config.seed))
    training = pd.DataFrame({"step": np.arange(config.embed_steps + config.partition_steps),
                             "stage": ["embedding"] * config.embed_steps + ["partition"] * config.partition_steps,
                             "loss": model.history["spectral_loss"] + model.history["normalized_cut_loss"]})
    graphs: dict[str, PartitionGraph] = {}
    for i, n in enumerate(config.test_sizes):
        graphs[f"delaunay-{n}"] = random_delaunay(n, seed=10_000 + 31 * config.seed + i)
    graphs["fe-structured"] = fe_mesh(config.fe_nodes, holes=2, graded=False, seed=config.seed)
    graphs["fe-graded"] = fe_mesh(config.fe_nodes, holes=3, graded=True, seed=config.seed + 1)
    rows, partitions = [], {}
    for name, graph in graphs.items():
        partitions[name] = {}
        for method in config.methods:
            start = time.perf_counter()
            parts = _bisect(method, model, graph.adjacency, config.seed)
            seconds = time.perf_counter() - start
            partitions[name][method] = parts
            rows.append({"graph": name, "nodes": graph.num_nodes, "edges": graph.num_edges, "method": method,
                         "seconds": seconds, **partition_report(graph.adjacency, parts, 2)})
    results = pd.DataFrame(rows)
    if "metis" in config.methods:
        ref = results[results.method == "metis"].set_index("graph")
        results["ncut_ratio_to_metis"] = results.normalized_cut / results.graph.map(ref.normalized_cut)
        results["edge_cut_ratio_to_metis"] = results.edge_cut / results.graph.map(ref.edge_cut)
        results["runtime_ratio_to_metis"] = results.seconds / results.graph.map(ref.seconds)

    agent = train_rl_refiner(RLTrainConfig(episodes=config.rl_episodes, steps=config.rl_steps,
                                           train_nodes=tuple(config.train_nodes), seed=config.seed))
    rl_rows = []
    for name, graph in graphs.items():
        if graph.num_nodes > config.rl_max_nodes:
            continue
        start_parts = spectral_bisection(graph.adjacency, seed=config.seed)
        t0 = time.perf_counter()
        refined = agent.refine(graph.adjacency, start_parts, steps=config.rl_steps)
        seconds = time.perf_counter() - t0
        rand = random_move_refine(graph.adjacency, start_parts, steps=config.rl_steps, seed=config.seed)
        before = normalized_cut(graph.adjacency, start_parts)
        after, after_random = normalized_cut(graph.adjacency, refined), normalized_cut(graph.adjacency, rand)
        rl_rows.append({"graph": name, "nodes": graph.num_nodes, "start": "spectral", "ncut_start": before,
                        "ncut_rl": after, "ncut_random_moves": after_random,
                        "rl_improvement_percent": 100 * (before - after) / before,
                        "random_improvement_percent": 100 * (before - after_random) / before, "seconds": seconds})
    rl = pd.DataFrame(rl_rows)

    sep_agent = train_separator_refiner(RLTrainConfig(episodes=config.sep_episodes, steps=config.sep_steps,
                                                      train_nodes=tuple(config.train_nodes), seed=config.seed))
    sep_rows = []
    for name, graph in graphs.items():
        if graph.num_nodes > config.rl_max_nodes:
            continue
        a = graph.adjacency
        bisection = "metis" if "metis" in config.methods else "spectral"
        parts = partitions[name]["metis"] if bisection == "metis" else spectral_bisection(a, seed=config.seed)
        for kind, labels in (("boundary", vertex_separator_from_parts(a, parts)),
                             ("cover", minimum_vertex_separator(a, parts))):
            t0 = time.perf_counter()
            refined = sep_agent.refine(a, labels, steps=config.sep_steps)
            seconds = time.perf_counter() - t0
            outs = {"start": labels, "rl": refined,
                    "greedy": greedy_separator_refine(a, labels, steps=config.sep_steps),
                    "random_moves": random_separator_refine(a, labels, steps=config.sep_steps, seed=config.seed)}
            row: dict[str, Any] = {"graph": name, "nodes": graph.num_nodes, "bisection": bisection, "start": kind}
            for method, found in outs.items():
                rep = separator_report(a, found)  # raises if it is not a separator
                row[f"ns_{method}"] = normalized_separator(found)
                row[f"size_{method}"] = rep["separator_size"]
                row[f"balance_{method}"] = rep["balance"]
            for method in ("rl", "greedy", "random_moves"):
                row[f"{method}_improvement_percent"] = 100 * (row["ns_start"] - row[f"ns_{method}"]) / row["ns_start"]
            row["rl_seconds"] = seconds
            sep_rows.append(row)
    separators = pd.DataFrame(sep_rows)

    matrices = {"laplacian2d": grid_graph_2d(config.nd_grid, config.nd_grid),
                "laplacian3d": grid_graph_3d(config.nd_grid3d, config.nd_grid3d, config.nd_grid3d),
                "fe-graded": graphs["fe-graded"]}
    bisections = {"metis": lambda a: metis_partition(a, 2, seed=config.seed),
                  "spectral": lambda a: spectral_bisection(a, seed=config.seed),
                  "gnn": lambda a: model.partition(a, seed=config.seed, trials=1)}
    separated = {"metis+rl": (bisections["metis"], sep_agent.separator(steps=config.sep_steps))}
    tables = []
    for name, graph in matrices.items():
        table = fill_in_table(graph.matrix, graph.adjacency, bisections, leaf_size=32, separated=separated)
        table.insert(0, "matrix", name)
        table.insert(1, "nodes", graph.num_nodes)
        tables.append(table)
    fill_in = pd.concat(tables, ignore_index=True)

    headline: dict[str, Any] = {}
    if "metis" in config.methods and "gnn" in config.methods:
        gnn = results[results.method == "gnn"]
        headline = {"gnn_ncut_ratio_to_metis": dict(zip(gnn.graph, gnn.ncut_ratio_to_metis)),
                    "gnn_runtime_ratio_to_metis": dict(zip(gnn.graph, gnn.runtime_ratio_to_metis)),
                    "gnn_balance": dict(zip(gnn.graph, gnn.balance))}
    nd = fill_in[fill_in.ordering == "nd_gnn"]
    by = fill_in.set_index(["matrix", "ordering"]).factor_nnz
    nd_rl = {m: float(by[(m, "nd_metis+rl")] / by[(m, "nd_metis")]) for m in matrices}
    metrics = {"config": asdict(config), **headline,
               "rl_improvement_percent": dict(zip(rl.graph, rl.rl_improvement_percent)) if len(rl) else {},
               "nd_gnn_fill_ratio_to_metis_nd": dict(zip(nd.matrix, nd.ratio_to_metis_nd)),
               "nd_gnn_fill_ratio_to_amd": dict(zip(nd.matrix, nd.ratio_to_amd)),
               "separator_rl_improvement_percent": {f"{r.graph}/{r.start}": r.rl_improvement_percent
                                                    for r in separators.itertuples()},
               "nd_rl_separator_fill_ratio_to_nd_metis": nd_rl,
               "train_seconds": model.history["seconds"][0], "rl_train_seconds": agent.history["seconds"][0],
               "separator_rl_train_seconds": sep_agent.history["seconds"][0]}
    results.to_csv(out / "results.csv", index=False)
    rl.to_csv(out / "rl_refinement.csv", index=False)
    separators.to_csv(out / "separator_rl.csv", index=False)
    fill_in.to_csv(out / "fill_in.csv", index=False)
    training.to_csv(out / "training.csv", index=False)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n", encoding="utf-8")
    return PartitioningRunResult(results, rl, separators, fill_in, training, metrics, graphs, partitions, model, out,
                                 agent, sep_agent)

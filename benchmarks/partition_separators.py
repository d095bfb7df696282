"""RL refinement of vertex separators (workbench.partition.separator_rl) on random Delaunay graphs and FE meshes with
holes, and its effect on nested-dissection fill-in; same process, same graphs, against the separators it starts
from and two refiners under the same protocol (random moves, greedy fewest-new-separator-nodes moves).

1. Separators: for every graph, the METIS and the GNN bisection (GNN trained here on small Delaunay graphs) give
   two starting separators each: ``boundary`` (:func:`vertex_separator_from_parts`, the boundary of one side) and
   ``cover`` (the minimum vertex cover of the cut, what nested dissection uses). Each is refined for --steps moves
   by the RL agent, random moves and greedy moves; reported: normalized separator ``|S| (1/|V0| + 1/|V1|)``,
   separator size, balance, seconds, improvement in percent.
2. Nested dissection: SuperLU fill-in (permc_spec NATURAL after the ordering) of ND from METIS bisections with the
   minimum-cover separator, with the RL-refined one and with the greedy-refined one, beside METIS ND and MMD(A^T+A)
   (the AMD-family baseline), on a 2D Laplacian, a 3D Laplacian, an FE mesh with holes and two real matrices that
   scipy ships in its test data (mhd1280b, illc1850's A^T A: :func:`workbench.partition.scipy_test_matrix`).

Writes benchmarks/results/partition_separators.csv and partition_separators_fill.csv. Single-threaded.

    .venv/bin/python benchmarks/partition_separators.py [--sizes 2000 10000] [--episodes 150] [--steps 40]
        [--fill-only] [--matrices laplacian2d laplacian3d fe-graded mhd1280b illc1850]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import torch

from workbench.partition import (
    GNNTrainConfig,
    fe_mesh,
    fill_in_table,
    grid_graph_2d,
    grid_graph_3d,
    metis_partition,
    random_delaunay,
    scipy_test_matrix,
    train_gnn_partitioner,
)
from workbench.partition.metrics import separator_report, vertex_separator_from_parts
from workbench.partition.nested_dissection import minimum_vertex_separator
from workbench.partition.rl_refinement import RLTrainConfig
from workbench.partition.separator_rl import (
    SeparatorRefiner,
    greedy_separator_refine,
    normalized_separator,
    random_separator_refine,
    train_separator_refiner,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--fe-nodes", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--train-steps", type=int, default=24)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--nd-grid", type=int, default=60)
    parser.add_argument("--nd-grid3d", type=int, default=14)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--fill-only", action="store_true", help="skip the separator table (same trained agent)")
    parser.add_argument("--matrices", nargs="+", default=list(MATRICES), choices=list(MATRICES))
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    agent = train_separator_refiner(RLTrainConfig(episodes=args.episodes, steps=args.train_steps,
                                                  train_nodes=(300, 800)))
    print(f"separator agent trained in {time.perf_counter() - start:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.fill_only:
        separator_table(agent, args)
    fill_table(agent, args)


def separator_table(agent: SeparatorRefiner, args: argparse.Namespace) -> None:
    gnn = train_gnn_partitioner(GNNTrainConfig(num_graphs=4, train_nodes=(400, 800), gnn_nodes=200,
                                               embed_steps=60, partition_steps=60))
    graphs = {f"delaunay-{n}": random_delaunay(n, seed=20_000 + n) for n in args.sizes}
    graphs["fe-structured"] = fe_mesh(args.fe_nodes, holes=2, graded=False, seed=0)
    graphs["fe-graded"] = fe_mesh(args.fe_nodes, holes=3, graded=True, seed=1)
    rows = []
    for name, graph in graphs.items():
        a = graph.adjacency
        for bisection, parts in (("metis", metis_partition(a, 2)), ("gnn", gnn.partition(a))):
            for kind, labels in (("boundary", vertex_separator_from_parts(a, parts)),
                                 ("cover", minimum_vertex_separator(a, parts))):
                before = normalized_separator(labels)
                refiners = {"start": lambda lab, a=a: lab,
                            "rl": lambda lab, a=a: agent.refine(a, lab, steps=args.steps),
                            "random": lambda lab, a=a: random_separator_refine(a, lab, steps=args.steps),
                            "greedy": lambda lab, a=a: greedy_separator_refine(a, lab, steps=args.steps)}
                for method, refine in refiners.items():
                    t0 = time.perf_counter()
                    out = refine(labels)
                    seconds = time.perf_counter() - t0
                    rep = separator_report(a, out)  # raises if the result is not a separator
                    ns = normalized_separator(out)
                    rows.append({"graph": name, "nodes": graph.num_nodes, "bisection": bisection, "start": kind,
                                 "method": method, "normalized_separator": ns, **rep, "seconds": seconds,
                                 "improvement_percent": 100 * (before - ns) / before})
                    print(rows[-1])
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "partition_separators.csv", index=False)
    summary = table.groupby(["start", "method"]).improvement_percent.agg(["mean", "min", "max"])
    print(summary.to_string())


MATRICES = ("laplacian2d", "laplacian3d", "fe-graded", "mhd1280b", "illc1850")


def fill_table(agent: SeparatorRefiner, args: argparse.Namespace) -> None:
    makers = {"laplacian2d": lambda: grid_graph_2d(args.nd_grid, args.nd_grid),
              "laplacian3d": lambda: grid_graph_3d(args.nd_grid3d, args.nd_grid3d, args.nd_grid3d),
              "fe-graded": lambda: fe_mesh(args.fe_nodes, holes=3, graded=True, seed=1),
              "mhd1280b": lambda: scipy_test_matrix("mhd1280b"), "illc1850": lambda: scipy_test_matrix("illc1850")}
    matrices = {name: makers[name]() for name in args.matrices}
    metis = lambda sub: metis_partition(sub, 2)  # noqa: E731
    fills = []
    for name, graph in matrices.items():
        fill = fill_in_table(graph.matrix, graph.adjacency, {"metis": metis}, leaf_size=32, separated={
            "metis+rl": (metis, agent.separator(steps=args.steps)),
            "metis+greedy": (metis, lambda sub, parts: greedy_separator_refine(
                sub, minimum_vertex_separator(sub, parts), steps=args.steps))})
        fill.insert(0, "matrix", name)
        fill.insert(1, "nodes", graph.num_nodes)
        fills.append(fill)
        print(fill.to_string())
    name = "partition_separators_fill.csv" if len(args.matrices) == len(MATRICES) else \
        f"partition_separators_fill_{'_'.join(args.matrices)}.csv"
    pd.concat(fills, ignore_index=True).to_csv(args.out / name, index=False)


if __name__ == "__main__":
    main()

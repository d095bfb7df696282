"""Graph bisection on random Delaunay graphs of 10^4-10^5 nodes: the learned multilevel GNN partitioner
(workbench.partition.GNNPartitioner, trained once here on small Delaunay graphs) against METIS (pymetis), same
process, same graphs; spectral bisection (ARPACK shift-invert) up to --spectral-max nodes.

For every size and seed: normalized cut, edge cut, balance and wall time of each method, and the ratios to METIS
(cut ratio < 1: the GNN cut less; runtime ratio > 1: the GNN was slower). The GNN without its FM refinement
(the learned coarse partition projected as it is) is reported too, so the share of the refinement is visible.
Writes benchmarks/results/partitioning.csv (one row per graph and method) and partitioning_summary.csv (means per
size). Single-threaded (OMP/torch threads = --threads).

    .venv/bin/python benchmarks/partitioning.py [--sizes 10000 30000 100000] [--seeds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.partition import (
    GNNTrainConfig,
    metis_partition,
    partition_report,
    random_delaunay,
    spectral_bisection,
    train_gnn_partitioner,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 100000])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--spectral-max", type=int, default=30000)
    parser.add_argument("--embed-steps", type=int, default=300)
    parser.add_argument("--partition-steps", type=int, default=200)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    config = GNNTrainConfig(embed_steps=args.embed_steps, partition_steps=args.partition_steps)
    start = time.perf_counter()
    model = train_gnn_partitioner(config)
    train_seconds = time.perf_counter() - start
    print(f"trained on {config.num_graphs} Delaunay graphs of {config.train_nodes} nodes in {train_seconds:.1f} s")
    rows = []
    for n in args.sizes:
        for seed in range(args.seeds):
            graph = random_delaunay(n, seed=100 + seed)
            a = graph.adjacency
            methods = {"metis": lambda a=a, s=seed: metis_partition(a, 2, seed=s),
                       "gnn": lambda a=a, s=seed: model.partition(a, seed=s),
                       "gnn_unrefined": lambda a=a, s=seed: model.partition(a, seed=s, refine=False)}
            if n <= args.spectral_max:
                methods["spectral"] = lambda a=a, s=seed: spectral_bisection(a, seed=s)
            for name, run in methods.items():
                t0 = time.perf_counter()
                parts = run()
                seconds = time.perf_counter() - t0
                rows.append({"nodes": n, "seed": seed, "method": name, "seconds": seconds,
                             **partition_report(graph.adjacency, parts, 2)})
                print(f"n={n} seed={seed} {name}: ncut {rows[-1]['normalized_cut']:.5f} "
                      f"cut {rows[-1]['edge_cut']:.0f} balance {rows[-1]['balance']:.4f} {seconds:.2f} s")
    table = pd.DataFrame(rows)
    metis = table[table.method == "metis"].set_index(["nodes", "seed"])
    key = list(zip(table.nodes, table.seed))
    table["ncut_ratio_to_metis"] = table.normalized_cut.to_numpy() / metis.normalized_cut.loc[key].to_numpy()
    table["edge_cut_ratio_to_metis"] = table.edge_cut.to_numpy() / metis.edge_cut.loc[key].to_numpy()
    table["runtime_ratio_to_metis"] = table.seconds.to_numpy() / metis.seconds.loc[key].to_numpy()
    table["train_seconds"] = train_seconds
    table["threads"] = args.threads
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "partitioning.csv", index=False)
    summary = (table.groupby(["nodes", "method"])[["normalized_cut", "edge_cut", "balance", "seconds",
                                                   "ncut_ratio_to_metis", "runtime_ratio_to_metis"]]
               .mean().reset_index())
    summary.to_csv(out / "partitioning_summary.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(4).to_string(index=False))
    gnn = table[table.method == "gnn"]
    print(f"GNN / METIS normalized cut: mean {np.mean(gnn.ncut_ratio_to_metis):.4f}, "
          f"max {np.max(gnn.ncut_ratio_to_metis):.4f}; runtime ratio mean {np.mean(gnn.runtime_ratio_to_metis):.2f}")


if __name__ == "__main__":
    main()

"""workbench.pipelines.partitioning.run_partitioning: files and consistent tables on a tiny run, bad parameters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.partition import normalized_cut
from workbench.pipelines.partitioning import run_partitioning

pytestmark = pytest.mark.unit

TINY = dict(num_train_graphs=2, train_nodes=(200, 300), gnn_nodes=100, embed_steps=10, partition_steps=10,
            test_sizes=[800], fe_nodes=400, rl_episodes=2, rl_steps=4, sep_episodes=2, sep_steps=4, nd_grid=12,
            nd_grid3d=5)


def test_tiny_run_writes_consistent_tables(tmp_path):
    pytest.importorskip("pymetis", reason="the METIS baselines need the 'partition' extra")
    r = run_partitioning(output_dir=tmp_path, **TINY)
    for f in ("metrics.json", "results.csv", "rl_refinement.csv", "separator_rl.csv", "fill_in.csv", "training.csv"):
        assert (tmp_path / f).is_file(), f
    results = pd.read_csv(tmp_path / "results.csv")
    assert set(results.graph) == {"delaunay-800", "fe-structured", "fe-graded"}
    for _, row in results.iterrows():
        graph = r.graphs[row.graph]
        assert row.normalized_cut == pytest.approx(normalized_cut(graph.adjacency, r.partitions[row.graph][row.method]))
    assert (results[results.method == "metis"].ncut_ratio_to_metis == 1.0).all()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["gnn_ncut_ratio_to_metis"]) == set(results.graph)
    fill = pd.read_csv(tmp_path / "fill_in.csv")
    assert set(fill.matrix) == {"laplacian2d", "laplacian3d", "fe-graded"} and "nd_gnn" in set(fill.ordering)
    assert (r.rl.ncut_rl <= r.rl.ncut_start + 1e-15).all()
    # vertex separators: two starts per graph, the refined ones never worse, ND with and without the RL separator
    assert len(r.separators) == 2 * len(r.graphs) and set(r.separators.start) == {"boundary", "cover"}
    for method in ("rl", "greedy", "random_moves"):
        assert (r.separators[f"ns_{method}"] <= r.separators.ns_start + 1e-15).all()
    assert {"nd_metis", "nd_metis+rl"} <= set(fill.ordering)
    assert set(metrics["nd_rl_separator_fill_ratio_to_nd_metis"]) == {"laplacian2d", "laplacian3d", "fe-graded"}


def test_bad_parameters_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        run_partitioning(output_dir=tmp_path, methods=["kahip"])
    with pytest.raises(ValueError, match="rl_steps must be even"):
        run_partitioning(output_dir=tmp_path, rl_steps=3)
    with pytest.raises(TypeError, match="unknown parameter"):
        run_partitioning(output_dir=tmp_path, epochs=3)

"""PartitionExplorer without a browser: the state function against the workbench metrics, the figure's traces
following the controls, the per-method table, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.partition import lu_fill, partition_report
from workbench.partition.metrics import separator_report

pytest.importorskip("pymetis", reason="the METIS method needs the 'partition' extra")

from widgets.partition_explorer import PartitionExplorer, make_graph, partition_state  # noqa: E402

pytestmark = pytest.mark.unit


def test_state_matches_the_workbench_metrics():
    graph = make_graph("grid2d", 400)
    state = partition_state(graph, "spectral", 4)
    rep = partition_report(graph.adjacency, state.parts, 4)
    assert state.report["normalized_cut"] == rep["normalized_cut"] and state.report["balance"] == 1.0
    assert np.bincount(state.parts).tolist() == [100] * 4 and state.separator is None
    assert np.array_equal(np.sort(state.perm), np.arange(400))
    assert state.fill["factor_nnz"] == lu_fill(graph.matrix, state.perm)["factor_nnz"]
    assert state.fill["factor_nnz"] < state.natural_fill["factor_nnz"]
    two = partition_state(graph, "metis", 2)
    separator_report(graph.adjacency, two.separator)  # a valid vertex separator, drawn in red


def test_explorer_draws_and_follows_its_controls():
    explorer = PartitionExplorer("delaunay", 500, "metis", 2)
    parts = [t for t in explorer.figure.data if t.meta == "part"]
    sep = next(t for t in explorer.figure.data if t.meta == "separator")
    drawn = sum(len(t.x) for t in parts if t.visible) + len(sep.x)
    assert drawn == explorer.state.graph.num_nodes and len(sep.x) > 0
    assert "data-method='metis'" in explorer.status.value and "data-k='2'" in explorer.status.value
    explorer.controls["num_parts"].value = 4  # through the observer, as a click would
    assert explorer.state.num_parts == 4 and sum(t.visible is True for t in parts) == 4
    assert sum(len(t.x) for t in parts) == 500 and not sep.visible
    explorer.set(method="spectral")
    table = explorer.table
    assert sorted(table.method) == ["metis", "spectral"]
    assert "workbench-partition-table" in explorer.table_html.value
    matrix = next(t for t in explorer.figure.data if t.meta == "matrix")
    assert len(matrix.x) == explorer.state.graph.matrix.nnz
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(colour="red")


def test_bad_input():
    with pytest.raises(ValueError, match="family must be one of"):
        make_graph("torus", 100)
    with pytest.raises(ValueError, match="size must be"):
        make_graph("delaunay", 3)
    with pytest.raises(ValueError, match="method must be one of"):
        partition_state(make_graph("grid2d", 100), "kahip")
    with pytest.raises(ValueError, match="power of two"):
        partition_state(make_graph("grid2d", 100), "spectral", 3)
    with pytest.raises(ValueError, match="larger than the number of nodes"):
        partition_state(make_graph("grid2d", 16), "spectral", 32)

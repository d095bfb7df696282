"""Plotly figures of the partitioning pipeline: a mesh coloured by part with the separator highlighted (methods
side by side), sparsity patterns of a reordered matrix and its LU factor, cut and runtime against graph size."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp
from plotly.subplots import make_subplots

from workbench.partition import PartitionGraph, lu_factor_pattern
from workbench.partition.nested_dissection import minimum_vertex_separator

__all__ = ["cut_vs_size_figure", "partition_mesh_figure", "sparsity_figure"]

_COLOURS = {0: "#1f77b4", 1: "#ff7f0e", 2: "#d62728"}


def partition_mesh_figure(graph: PartitionGraph, partitions: Mapping[str, np.ndarray], max_edges: int = 20000,
                          title: str = "Bisections (red: vertex separator)") -> go.Figure:
    """One panel per method: the mesh's edges in grey, nodes coloured by part, the minimum vertex separator of the
    cut (:func:`~workbench.partition.nested_dissection.minimum_vertex_separator`) in red. 2D coordinates needed."""
    if graph.coords is None or graph.coords.shape[1] != 2:
        raise ValueError("graph must have 2D coords to be drawn")
    names = list(partitions)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    edges = graph.edges()[:max_edges]
    xy = graph.coords
    ex = np.stack([xy[edges[:, 0], 0], xy[edges[:, 1], 0], np.full(len(edges), np.nan)], 1).ravel()
    ey = np.stack([xy[edges[:, 0], 1], xy[edges[:, 1], 1], np.full(len(edges), np.nan)], 1).ravel()
    for col, name in enumerate(names, start=1):
        labels = minimum_vertex_separator(graph.adjacency, np.asarray(partitions[name]))
        fig.add_trace(go.Scattergl(x=ex, y=ey, mode="lines", line=dict(color="#cccccc", width=0.5),
                                   hoverinfo="skip", showlegend=False), row=1, col=col)
        for lab, text in ((0, "part 0"), (1, "part 1"), (2, "separator")):
            idx = labels == lab
            fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=text,
                                       marker=dict(color=_COLOURS[lab], size=6 if lab == 2 else 3),
                                       showlegend=col == 1), row=1, col=col)
        fig.update_yaxes(scaleanchor=f"x{col if col > 1 else ''}", row=1, col=col)
    fig.update_layout(title=title, height=420, width=360 * len(names) + 100)
    return fig


def _spy(m: sp.spmatrix, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    coo = sp.coo_matrix(m)
    step = max(1, coo.nnz // max_points)
    return coo.col[::step], coo.row[::step]


def sparsity_figure(matrix: sp.spmatrix, orderings: Mapping[str, np.ndarray | None], max_points: int = 60000
                    ) -> go.Figure:
    """For every ordering (``None`` = natural): the reordered matrix and its ``L + U`` pattern (SuperLU, natural
    order after the permutation), with ``nnz`` in the titles."""
    names = list(orderings)
    titles = []
    pats = []
    for name in names:
        perm = orderings[name]
        reordered = sp.csr_matrix(matrix) if perm is None else sp.csr_matrix(matrix)[perm][:, perm]
        factor = lu_factor_pattern(matrix, perm)
        pats.append((reordered, factor))
        titles += [f"{name}: A (nnz {reordered.nnz})", f"{name}: L+U (nnz {factor.nnz})"]
    fig = make_subplots(rows=len(names), cols=2, subplot_titles=titles, vertical_spacing=0.06)
    for r, (reordered, factor) in enumerate(pats, start=1):
        for c, m in enumerate((reordered, factor), start=1):
            x, y = _spy(m, max_points)
            fig.add_trace(go.Scattergl(x=x, y=y, mode="markers", marker=dict(size=1.5, color="#333333"),
                                       showlegend=False), row=r, col=c)
            fig.update_yaxes(autorange="reversed", row=r, col=c)
    fig.update_layout(height=330 * len(names), width=700, title="Sparsity of the reordered matrix and its factor")
    return fig


def cut_vs_size_figure(results: pd.DataFrame, y: str = "ncut_ratio_to_metis", title: str | None = None
                       ) -> go.Figure:
    """One line per method: ``y`` (a column of the pipeline's or benchmark's results) against node count."""
    if not {"nodes", "method", y} <= set(results.columns):
        raise ValueError(f"results must have columns nodes, method and {y}")
    fig = go.Figure()
    for method, rows in results.groupby("method"):
        rows = rows.groupby("nodes")[y].mean().reset_index()
        fig.add_trace(go.Scatter(x=rows.nodes, y=rows[y], mode="lines+markers", name=str(method)))
    fig.update_layout(title=title or f"{y} against graph size", xaxis_title="nodes", yaxis_title=y,
                      xaxis_type="log", height=380, width=620)
    return fig

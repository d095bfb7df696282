"""PartitionExplorer: pick a graph family and size, a partitioning method and k; see the partition on the mesh, its
cut / balance / normalized-cut table, and the sparsity of the nested-dissection ordering and of its LU factor.

The numbers come from :mod:`workbench.partition` through the pure function :func:`partition_state` (tested without
a browser); the widget wires ipywidgets controls to it and pushes the result into one plotly ``FigureWidget`` (plotly.js
ships with the installed plotly package: nothing is fetched from a CDN) with three panels: the mesh (edges grey,
nodes coloured by part; for k = 2 the minimum vertex separator of the cut in red), the matrix reordered by nested
dissection from the chosen method's bisection, and its ``L + U`` pattern from SuperLU (``permc_spec="NATURAL"``
after the ordering). Below, a table with one row per method computed on this graph and k (cached).

Methods (:data:`METHODS`): ``metis`` (pymetis, the ``partition`` extra; k-way), ``spectral`` (Fiedler vector),
``gnn`` (the learned coarse partition projected without refinement), ``gnn+fm`` (the multilevel GNN partitioner
with FM refinement), ``gnn+fm+rl`` (then the A2C edge refiner on every bisection, and the A2C separator refiner on
every nested-dissection separator). For k > 2 every method but METIS bisects recursively
(:func:`~workbench.partition.recursive_bisection`, k a power of two). The learned models are trained on first use
with small settings (seconds), or passed in (e.g. from :func:`~workbench.pipelines.partitioning.run_partitioning`).

    explorer = PartitionExplorer(gnn=result.model, rl_agent=result.rl_agent,
                                 separator_agent=result.separator_agent)
    explorer                                  # renders in JupyterLab
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp
from plotly.subplots import make_subplots

from workbench.partition import (
    GNNPartitioner,
    GNNTrainConfig,
    PartitionGraph,
    RLRefiner,
    RLTrainConfig,
    SeparatorRefiner,
    fe_mesh,
    grid_graph_2d,
    lu_factor_pattern,
    lu_fill,
    metis_partition,
    nested_dissection_order,
    partition_report,
    random_delaunay,
    recursive_bisection,
    spectral_bisection,
    train_gnn_partitioner,
    train_rl_refiner,
    train_separator_refiner,
)
from workbench.partition.nested_dissection import minimum_vertex_separator

__all__ = ["FAMILIES", "METHODS", "PartitionExplorer", "PartitionModels", "PartitionState", "make_graph",
           "partition_state"]

#: Graph families of the explorer.
FAMILIES: tuple[str, ...] = ("delaunay", "fe-structured", "fe-graded", "grid2d")
#: Methods of the explorer (see the module doc).
METHODS: tuple[str, ...] = ("metis", "spectral", "gnn", "gnn+fm", "gnn+fm+rl")
#: Node counts offered by the size control.
SIZES: tuple[int, ...] = (500, 1000, 2000, 5000)
#: Part counts offered by the k control.
PARTS: tuple[int, ...] = (2, 4, 8)
_PART_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_SEPARATOR_COLOUR = "#d62728"
_ND_LEAF = 32
_RL_STEPS = 20


def make_graph(family: str, size: int, seed: int = 0) -> PartitionGraph:
    """A 2D graph of ``family`` (:data:`FAMILIES`) with about ``size`` nodes; FE meshes and the grid carry their
    SPD matrix, a Delaunay graph gets its ``L + 0.01 I`` (for the fill-in)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size!r}")
    if family == "delaunay":
        graph = random_delaunay(int(size), seed=seed)
        d = np.asarray(graph.adjacency.sum(axis=1)).ravel()
        graph.matrix = sp.csc_matrix(sp.diags(d + 1e-2) - graph.adjacency)
        return graph
    if family == "grid2d":
        side = max(int(round(np.sqrt(size))), 4)
        return grid_graph_2d(side, side)
    return fe_mesh(int(size), holes=2 if family == "fe-structured" else 3, graded=family == "fe-graded", seed=seed)


@dataclass
class PartitionModels:
    """The learned models the GNN and RL methods need; each is trained on first use (small settings) unless given:
    ``gnn`` (:class:`~workbench.partition.GNNPartitioner`), ``rl_agent`` (edge refiner), ``separator_agent``."""

    gnn: GNNPartitioner | None = None
    rl_agent: RLRefiner | None = None
    separator_agent: SeparatorRefiner | None = None
    seed: int = 0

    def get_gnn(self) -> GNNPartitioner:
        if self.gnn is None:
            self.gnn = train_gnn_partitioner(GNNTrainConfig(num_graphs=2, train_nodes=(300, 500), gnn_nodes=150,
                                                            embed_steps=30, partition_steps=30, seed=self.seed))
        return self.gnn

    def get_rl_agent(self) -> RLRefiner:
        if self.rl_agent is None:
            self.rl_agent = train_rl_refiner(RLTrainConfig(episodes=10, steps=12, train_nodes=(200, 400),
                                                           seed=self.seed))
        return self.rl_agent

    def get_separator_agent(self) -> SeparatorRefiner:
        if self.separator_agent is None:
            self.separator_agent = train_separator_refiner(RLTrainConfig(episodes=10, steps=12,
                                                                         train_nodes=(200, 400), seed=self.seed))
        return self.separator_agent


def _bisector(method: str, models: PartitionModels, seed: int) -> Callable[[sp.csr_matrix], np.ndarray]:
    if method == "metis":
        return lambda a: metis_partition(a, 2, seed=seed)
    if method == "spectral":
        return lambda a: spectral_bisection(a, seed=seed)
    gnn = models.get_gnn()
    if method == "gnn":
        return lambda a: gnn.partition(a, seed=seed, trials=1, refine=False)
    if method == "gnn+fm":
        return lambda a: gnn.partition(a, seed=seed, trials=1)
    agent = models.get_rl_agent()
    return lambda a: agent.refine(a, gnn.partition(a, seed=seed, trials=1), steps=_RL_STEPS)


@dataclass
class PartitionState:
    """What the explorer shows: ``graph``, ``method``, ``num_parts``, ``parts`` (int64 ``[n]``), ``separator``
    (labels 0/1/2 of the minimum vertex separator for k = 2, else ``None``), ``report`` (edge cut, normalized cut,
    balance, imbalance percent, seconds), ``perm`` (the nested-dissection ordering from the method's bisection),
    ``fill`` (:func:`~workbench.partition.lu_fill` of it: ``factor_nnz``, ``fill_ratio``) and ``natural_fill``."""

    graph: PartitionGraph
    method: str
    num_parts: int
    parts: np.ndarray
    separator: np.ndarray | None
    report: dict[str, float]
    perm: np.ndarray
    fill: dict[str, float]
    natural_fill: dict[str, float]


def partition_state(graph: PartitionGraph, method: str, num_parts: int = 2, models: PartitionModels | None = None,
                    seed: int = 0) -> PartitionState:
    """Partition ``graph`` with ``method`` (:data:`METHODS`) into ``num_parts`` parts and order its matrix by
    nested dissection from the same method's bisection (the RL separator refiner too for ``gnn+fm+rl``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if graph.matrix is None:
        raise ValueError("graph must carry a matrix (graph.matrix) for the fill-in panel")
    models = models or PartitionModels(seed=seed)
    bisect = _bisector(method, models, seed)
    a = graph.adjacency
    start = time.perf_counter()
    if method == "metis":
        parts = metis_partition(a, num_parts, seed=seed)
    else:
        parts = recursive_bisection(a, bisect, num_parts)
    seconds = time.perf_counter() - start
    report = {**partition_report(a, parts, num_parts), "seconds": seconds}
    separator = minimum_vertex_separator(a, parts) if num_parts == 2 else None
    separate = models.get_separator_agent().separator(steps=_RL_STEPS) if method == "gnn+fm+rl" else None
    perm = nested_dissection_order(a, bisect, leaf_size=_ND_LEAF, separate=separate)
    return PartitionState(graph, method, int(num_parts), parts, separator, report, perm,
                          lu_fill(graph.matrix, perm), lu_fill(graph.matrix, None))


def _spy(m: sp.spmatrix, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    coo = sp.coo_matrix(m)
    step = max(1, coo.nnz // max_points)
    return coo.col[::step], coo.row[::step]


class PartitionExplorer:
    """The interactive explorer (see the module doc).

    Args:
        family, size, method, num_parts: the initial controls (:data:`FAMILIES`, :data:`SIZES` or any size >= 16,
            :data:`METHODS`, :data:`PARTS`).
        gnn, rl_agent, separator_agent: trained models (default: trained on first use, small settings).
        seed: graphs, METIS and the models.
        max_points: points drawn per sparsity panel (every ``nnz // max_points``-th entry beyond that).

    Attributes:
        state: the current :class:`PartitionState`; table: one row per method computed on this graph and k;
        controls: the control widgets by name; figure: one plotly ``FigureWidget`` (mesh, reordered matrix,
        factor; each trace's ``meta`` names its panel); widget: the container.
    """

    def __init__(self, family: str = "fe-graded", size: int = 1000, method: str = "metis", num_parts: int = 2, *,
                 gnn: GNNPartitioner | None = None, rl_agent: RLRefiner | None = None,
                 separator_agent: SeparatorRefiner | None = None, seed: int = 0, max_points: int = 20000) -> None:
        self.models = PartitionModels(gnn, rl_agent, separator_agent, seed)
        self.seed = int(seed)
        self.max_points = int(max_points)
        self._graphs: dict[tuple[str, int], PartitionGraph] = {}
        self._rows: dict[tuple[str, int, int, str], dict[str, Any]] = {}
        sizes = sorted(set(SIZES) | {int(size)})
        style = {"description_width": "initial"}
        narrow = w.Layout(width="210px")
        self.controls: dict[str, w.Widget] = {
            "family": w.Dropdown(options=list(FAMILIES), value=family, description="graph", style=style,
                                 layout=narrow),
            "size": w.Dropdown(options=sizes, value=int(size), description="nodes", style=style,
                               layout=narrow),
            "method": w.Dropdown(options=list(METHODS), value=method, description="method", style=style,
                                 layout=narrow),
            "num_parts": w.ToggleButtons(options=list(PARTS), value=int(num_parts), description="k",
                                         style={"button_width": "40px"}),
        }
        self.status = w.HTML()
        self.table_html = w.HTML()
        figure = make_subplots(rows=1, cols=3, subplot_titles=[" "] * 3, horizontal_spacing=0.06,
                               column_widths=[0.4, 0.3, 0.3])
        figure.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color="#cccccc", width=0.5),
                                    hoverinfo="skip", showlegend=False, meta="edges"), row=1, col=1)
        for k in range(max(PARTS)):
            figure.add_trace(go.Scattergl(x=[], y=[], mode="markers", name=f"part {k}", meta="part",
                                          marker=dict(color=_PART_COLOURS[k], size=4)), row=1, col=1)
        figure.add_trace(go.Scattergl(x=[], y=[], mode="markers", name="separator", meta="separator",
                                      marker=dict(color=_SEPARATOR_COLOUR, size=6)), row=1, col=1)
        for col, meta in ((2, "matrix"), (3, "factor")):
            figure.add_trace(go.Scattergl(x=[], y=[], mode="markers", marker=dict(size=1.5, color="#333333"),
                                          showlegend=False, meta=meta), row=1, col=col)
            figure.update_yaxes(autorange="reversed", row=1, col=col)
        figure.update_yaxes(scaleanchor="x", row=1, col=1)
        # 940 px wide, so the three panels fit a notebook column
        figure.update_layout(width=940, height=400, margin=dict(l=40, r=10, t=50, b=40), template="plotly_white",
                             legend=dict(orientation="h", y=-0.08))
        self.figure: go.Figure | go.FigureWidget = figure
        self.state = self._compute()
        self._draw()  # into the plain figure, then wrap it: the FigureWidget starts with its full data
        self.figure = go.FigureWidget(self.figure)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        c = self.controls
        self.widget = w.VBox([w.HBox([c["family"], c["size"], c["method"], c["num_parts"]]), self.status,
                              self.figure, self.table_html])
        self.widget.add_class("workbench-partition-explorer")

    # -- state -------------------------------------------------------------------------------------------------
    def graph(self, family: str, size: int) -> PartitionGraph:
        """The graph of ``family`` and ``size`` (cached)."""
        key = (family, int(size))
        if key not in self._graphs:
            self._graphs[key] = make_graph(family, int(size), self.seed)
        return self._graphs[key]

    def set(self, **values: Any) -> PartitionState:
        """Set controls (``family``, ``size``, ``method``, ``num_parts``) and redraw once."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; controls are {sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].unobserve(self._on_change, names="value")
            try:
                self.controls[name].value = value
            finally:
                self.controls[name].observe(self._on_change, names="value")
        return self.update()

    def update(self) -> PartitionState:
        """Recompute from the controls and redraw."""
        self.state = self._compute()
        self._draw()
        return self.state

    @property
    def table(self) -> pd.DataFrame:
        """One row per method computed on the current graph and k."""
        c = self.controls
        rows = [r for (fam, size, k, _), r in self._rows.items()
                if (fam, size, k) == (c["family"].value, c["size"].value, c["num_parts"].value)]
        return pd.DataFrame(rows)

    def _compute(self) -> PartitionState:
        c = self.controls
        graph = self.graph(c["family"].value, c["size"].value)
        state = partition_state(graph, c["method"].value, c["num_parts"].value, self.models, self.seed)
        self._rows[(c["family"].value, c["size"].value, state.num_parts, state.method)] = {
            "method": state.method, "edge_cut": state.report["edge_cut"],
            "normalized_cut": state.report["normalized_cut"], "balance": state.report["balance"],
            "seconds": state.report["seconds"], "nd_factor_nnz": state.fill["factor_nnz"],
            "nd_fill_ratio": state.fill["fill_ratio"]}
        return state

    def _on_change(self, change: dict) -> None:
        self.update()

    # -- drawing -----------------------------------------------------------------------------------------------
    def _draw(self) -> None:
        s = self.state
        g = s.graph
        xy = g.coords
        edges = g.edges()
        ex = np.stack([xy[edges[:, 0], 0], xy[edges[:, 1], 0], np.full(len(edges), np.nan)], 1).ravel()
        ey = np.stack([xy[edges[:, 0], 1], xy[edges[:, 1], 1], np.full(len(edges), np.nan)], 1).ravel()
        reordered = sp.csr_matrix(g.matrix)[s.perm][:, s.perm]
        factor = lu_factor_pattern(g.matrix, s.perm)
        data = self.figure.data
        with self.figure.batch_update():
            data[0].x, data[0].y = ex, ey
            in_sep = np.zeros(g.num_nodes, dtype=bool) if s.separator is None else s.separator == 2
            for k in range(max(PARTS)):
                idx = (s.parts == k) & ~in_sep
                data[1 + k].x, data[1 + k].y = xy[idx, 0], xy[idx, 1]
                data[1 + k].visible = bool(k < s.num_parts)
            sep = data[1 + max(PARTS)]
            sep.x, sep.y = xy[in_sep, 0], xy[in_sep, 1]
            sep.visible = s.separator is not None
            for trace, m in zip(data[2 + max(PARTS):], (reordered, factor)):
                trace.x, trace.y = _spy(m, self.max_points)
            titles = (f"{g.name}: {s.method}, k = {s.num_parts}",
                      f"A in ND order (nnz {reordered.nnz})",
                      f"L+U (nnz {factor.nnz}; natural order {s.natural_fill['factor_nnz']})")
            for annotation, text in zip(self.figure.layout.annotations, titles):
                annotation.text = text
        r = s.report
        sizes = np.bincount(s.parts, minlength=s.num_parts)
        self.status.value = (
            f"<span class='workbench-partition-status' data-method='{s.method}' data-k='{s.num_parts}' "
            f"data-nodes='{g.num_nodes}' data-parts='{int((sizes > 0).sum())}' "
            f"data-factor-nnz='{s.fill['factor_nnz']}'>{g.name}, {g.num_nodes} nodes, {g.num_edges} edges: "
            f"{s.method}, k = {s.num_parts}: edge cut {r['edge_cut']:.0f}, normalized cut "
            f"{r['normalized_cut']:.4f}, balance {r['balance']:.4f}, {r['seconds']:.2f} s; nested dissection: "
            f"factor nnz {s.fill['factor_nnz']} (fill ratio {s.fill['fill_ratio']:.2f}; natural order "
            f"{s.natural_fill['factor_nnz']})</span>")
        table = self.table
        fmt = {"edge_cut": "{:.0f}", "normalized_cut": "{:.4f}", "balance": "{:.4f}", "seconds": "{:.3f}",
               "nd_factor_nnz": "{:d}", "nd_fill_ratio": "{:.2f}"}
        self.table_html.value = (table.style.format(fmt).hide(axis="index")
                                 .set_table_attributes("class='workbench-partition-table'").to_html())

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)

"""Plotly figures of the SignNet pipeline and the eigenvector tutorial: the backbone x encoding MAE bars, the
measured invariance of each trained model, and a graph with eigenvectors as node colours (before and after a sign
flip or an eigenspace rotation, with the encodings that change and those that do not).

Every function draws numbers it is given (``results.csv`` of :func:`workbench.pipelines.signnet.run_signnet`, or
eigenvectors from :mod:`workbench.spectral`); nothing is computed here but layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["eigenvector_grid_figure", "invariance_bars_figure", "mae_bars_figure"]

#: Zero changes are drawn at this height on the log axis (the hover text says 0).
ZERO_FLOOR = 1e-17


def _require(results: pd.DataFrame, columns: Sequence[str]) -> None:
    if not isinstance(results, pd.DataFrame):
        raise ValueError(f"results must be a pandas DataFrame, got {type(results).__name__}")
    missing = [c for c in columns if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks column(s) {missing}; it has {list(results.columns)}")


def mae_bars_figure(results: pd.DataFrame, paper: Mapping[str, Mapping[str, float]] | None = None,
                    title: str = "Test MAE by backbone and positional encoding") -> go.Figure:
    """Grouped bars of ``results`` (columns ``backbone``, ``encoding``, ``test_mae``): x = encoding, one bar per
    backbone; ``paper`` (backbone -> {encoding: MAE}) adds the published numbers as open markers."""
    _require(results, ("backbone", "encoding", "test_mae"))
    fig = go.Figure()
    for backbone, part in results.groupby("backbone", sort=False):
        fig.add_bar(x=part["encoding"], y=part["test_mae"], name=f"{backbone} (ours)",
                    text=[f"{v:.3f}" for v in part["test_mae"]], textposition="outside")
    for backbone, values in (paper or {}).items():
        fig.add_scatter(x=list(values), y=list(values.values()), mode="markers", name=f"{backbone} (paper, ZINC)",
                        marker={"symbol": "diamond-open", "size": 11})
    fig.update_layout(barmode="group", title=title, xaxis_title="positional encoding", yaxis_title="test MAE",
                      template="plotly_white")
    return fig


def invariance_bars_figure(results: pd.DataFrame, title: str = "Largest change of a prediction (trained models)"
                           ) -> go.Figure:
    """Log-scale bars of ``sign_flip_change`` and ``basis_change_change`` per model (column ``model``); exact
    zeros are drawn at :data:`ZERO_FLOOR`."""
    _require(results, ("model", "sign_flip_change", "basis_change_change"))
    fig = go.Figure()
    for column, label in (("sign_flip_change", "random sign flips"),
                          ("basis_change_change", "random eigenspace rotations")):
        values = results[column].to_numpy(dtype=float)
        fig.add_bar(x=results["model"], y=np.maximum(values, ZERO_FLOOR), name=label,
                    hovertext=[f"{v:.2e}" for v in values], hoverinfo="text+x")
    fig.update_layout(barmode="group", title=title, yaxis_type="log", yaxis_title="max |change of prediction|",
                      template="plotly_white")
    return fig


def eigenvector_grid_figure(edge_index: np.ndarray, positions: np.ndarray, panels: Mapping[str, np.ndarray],
                            title: str = "Eigenvectors as node colours") -> go.Figure:
    """One subplot per entry of ``panels`` (title -> node values ``[n]``): the graph (``edge_index [2, E]``,
    ``positions [n, 2]``) with nodes coloured by the values on a shared diverging scale."""
    edge_index, positions = np.asarray(edge_index), np.asarray(positions, dtype=float)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {edge_index.shape}")
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape [n, 2], got {positions.shape}")
    if not panels:
        raise ValueError("panels must hold at least one title -> values entry")
    vmax = max(float(np.abs(np.asarray(v)).max()) for v in panels.values()) or 1.0
    cols = min(len(panels), 4)
    rows = (len(panels) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(panels))
    ex, ey = [], []
    for i, j in edge_index.T:
        ex += [positions[i, 0], positions[j, 0], None]
        ey += [positions[i, 1], positions[j, 1], None]
    for p, (name, values) in enumerate(panels.items()):
        values = np.asarray(values, dtype=float)
        if values.shape != (len(positions),):
            raise ValueError(f"panels[{name!r}] must have shape [{len(positions)}], got {values.shape}")
        r, c = p // cols + 1, p % cols + 1
        fig.add_scatter(x=ex, y=ey, mode="lines", line={"color": "#bbb"}, showlegend=False, hoverinfo="skip",
                        row=r, col=c)
        fig.add_scatter(x=positions[:, 0], y=positions[:, 1], mode="markers", showlegend=False,
                        marker={"size": 16, "color": values, "colorscale": "RdBu", "cmin": -vmax, "cmax": vmax,
                                "line": {"width": 1, "color": "#333"}, "showscale": p == 0},
                        hovertext=[f"node {i}: {v:+.3f}" for i, v in enumerate(values)], hoverinfo="text",
                        row=r, col=c)
        fig.update_xaxes(visible=False, row=r, col=c)
        fig.update_yaxes(visible=False, scaleanchor=f"x{p + 1 if p else ''}", row=r, col=c)
    fig.update_layout(title=title, template="plotly_white", height=280 * rows)
    return fig

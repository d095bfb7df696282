"""Plotly figures of the normals pipeline: a rotatable 3D view of a cloud with its true and predicted normals as
arrows (:func:`normals_figure`) and the per-model ``|cos|`` bars (:func:`abs_cos_bars_figure`).

A normal's sign is ambiguous, so a predicted arrow is drawn with the sign that agrees with the true normal; its
colour scale is ``|cos|`` between the two (computed from the drawn vectors).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["abs_cos_bars_figure", "normals_figure"]


def _segments(points: np.ndarray, vectors: np.ndarray) -> tuple[list, list, list]:
    xs, ys, zs = [], [], []
    for p, v in zip(points, vectors, strict=True):
        for coord, out in ((0, xs), (1, ys), (2, zs)):
            out += [p[coord], p[coord] + v[coord], None]
    return xs, ys, zs


def normals_figure(points, normals=None, predicted: Mapping[str, object] | None = None, length: float = 0.15,
                   max_arrows: int = 400, title: str = "") -> go.Figure:
    """3D view of ``points [P, 3]`` with ``normals [P, 3]`` (green arrows) and each ``predicted[name] [P, 3]`` (one
    arrow trace per model, sign aligned with the true normal, mean ``|cos|`` in the legend). Arrows have length
    ``length`` (units of the points); at most ``max_arrows`` evenly spaced points carry arrows. Drag to rotate."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3 or not np.isfinite(pts).all():
        raise ValueError(f"points must be a finite [P, 3] array, got shape {pts.shape}")
    step = max(1, int(np.ceil(len(pts) / max_arrows)))
    pick = np.arange(0, len(pts), step)
    fig = go.Figure(go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", name="points",
                                 marker={"size": 2, "color": "#555"}))
    unit = None
    if normals is not None:
        n = np.asarray(normals, dtype=float)
        if n.shape != pts.shape:
            raise ValueError(f"normals must have the shape of points {pts.shape}, got {n.shape}")
        unit = n / np.linalg.norm(n, axis=1, keepdims=True).clip(1e-12)
        xs, ys, zs = _segments(pts[pick], length * unit[pick])
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name="true normal",
                                   line={"color": "#2ca02c", "width": 4}))
    palette = ["#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    for i, (name, vectors) in enumerate((predicted or {}).items()):
        v = np.asarray(vectors, dtype=float)
        if v.shape != pts.shape:
            raise ValueError(f"predicted[{name!r}] must have the shape of points {pts.shape}, got {v.shape}")
        v = v / np.linalg.norm(v, axis=1, keepdims=True).clip(1e-12)
        label = name
        if unit is not None:
            dot = (v * unit).sum(1)
            v = v * np.where(dot < 0, -1.0, 1.0)[:, None]
            label = f"{name} (mean |cos| {np.abs(dot).mean():.3f})"
        xs, ys, zs = _segments(pts[pick], length * v[pick])
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name=label,
                                   line={"color": palette[i % len(palette)], "width": 3}))
    fig.update_layout(title=title, scene={"aspectmode": "data"}, height=520, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      legend={"x": 0, "y": 1})
    return fig


def abs_cos_bars_figure(results: pd.DataFrame, columns=("abs_cos_aligned", "abs_cos_o3")) -> go.Figure:
    """Grouped bars of mean ``|cos|`` per model (rows of ``results.csv``) on the aligned and O(3) test sets."""
    if not isinstance(results, pd.DataFrame) or "model" not in results.columns:
        raise ValueError("results must be a DataFrame with a 'model' column (the pipeline's results.csv)")
    missing = [c for c in columns if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks column(s) {missing}; it has {list(results.columns)}")
    fig = go.Figure([go.Bar(x=results["model"], y=results[c], name=c) for c in columns])
    fig.update_layout(barmode="group", yaxis={"title": "mean |cos(pred, normal)|", "range": [0, 1]}, height=380)
    return fig

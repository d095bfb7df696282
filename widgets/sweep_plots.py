"""The summary figure of a notebook sweep (``workbench sweep``, :mod:`workbench.sweep`): a metric against a swept
parameter, one line per value of another (e.g. per model), the mean over the remaining parameters (e.g. seeds) with
their standard deviation as error bars."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["sweep_summary_figure"]

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _label(value: object) -> str:
    """A table cell as a name: JSON lists (how sweep.csv stores list parameters) joined by '+'."""
    if isinstance(value, str) and value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            return value
        return "+".join(map(str, items))
    return str(value)


def sweep_summary_figure(table: pd.DataFrame | str | Path, metric: str, x: str, line: str | None = None,
                         title: str | None = None) -> go.Figure:
    """``metric`` against parameter ``x``, one line per value of ``line`` (None: one line), over the rows of a
    sweep table (``sweep.csv`` or its DataFrame) whose status is "ok".

    ``metric`` names a column; ``{name}`` placeholders are filled from each row, so a per-model metric of a sweep
    over models reads ``"accuracy.{models}.o3"`` (a one-element list parameter gives its element). Rows with the
    same ``line`` and ``x`` (other parameters, e.g. seeds) are averaged; error bars: their standard deviation
    (ddof 0). Raises ValueError naming a missing column or when no row succeeded.
    """
    frame = pd.read_csv(table) if isinstance(table, (str, Path)) else table
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame or the path of a sweep.csv, got {type(table).__name__}")
    needed = [c for c in ("status", x, *([line] if line else []), *_PLACEHOLDER.findall(metric))]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"sweep table has no column(s) {missing}; columns: {', '.join(map(str, frame.columns))}")
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        raise ValueError("no point of the sweep succeeded (status 'ok'): nothing to plot")
    rows = []
    for _, row in ok.iterrows():
        column = _PLACEHOLDER.sub(lambda m, r=row: _label(r[m.group(1)]), metric)
        if column not in frame.columns:
            raise ValueError(f"metric column {column!r} (from {metric!r}) is not in the sweep table")
        rows.append({"line": _label(row[line]) if line else metric, "x": row[x], "y": float(row[column])})
    data = pd.DataFrame(rows)
    fig = go.Figure()
    for name, group in data.groupby("line", sort=True):
        stats = group.groupby("x", sort=True)["y"].agg(["mean", lambda v: float(np.std(v)), "count"])
        stats.columns = ["mean", "std", "count"]
        xs = [_label(v) for v in stats.index]
        fig.add_trace(go.Scatter(x=xs, y=stats["mean"], error_y={"type": "data", "array": stats["std"]},
                                 mode="lines+markers", name=str(name),
                                 customdata=stats["count"],
                                 hovertemplate=f"{x}=%{{x}}<br>{metric}=%{{y:.4g}} (n=%{{customdata}})<extra>"
                                               f"{name}</extra>"))
    fig.update_layout(title=title or f"{metric} vs {x}" + (f", per {line}" if line else ""),
                      xaxis_title=x, yaxis_title=metric, template="plotly_white", legend_title=line or "")
    return fig

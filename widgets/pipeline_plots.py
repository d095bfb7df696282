"""Plotly figures shared by the pipeline notebooks (``notebooks/pipelines/``): parity, learning curves, confusion
matrices, ROC curves and grouped bars, drawn from the tables the pipelines write (``test_predictions.csv``,
per-epoch ``metrics.csv``, ``confusion_o3.csv``, ``roc.csv``, ``results.csv``) or the same tables in memory;
and a look at the pipelines' inputs (:func:`shape_clouds_figure`, :func:`jet_sample_figure`).

Every function takes one table per model (a mapping ``model name -> DataFrame``, in legend order) or one long table
with a ``model`` column, returns a :class:`plotly.graph_objects.Figure` and computes nothing it does not draw: a
number in a legend (such as a parity plot's MAE) is computed from the plotted points. Save a figure offline with
:func:`widgets.plots.write_figure_html`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data.jets import JetSet
from workbench.data.shapes import ShapeDataset

__all__ = ["accuracy_bars_figure", "confusion_figure", "jet_sample_figure", "learning_curves_figure", "parity_figure",
           "roc_figure", "shape_clouds_figure"]


def _require_tables(tables: Mapping[str, pd.DataFrame], argument: str, columns: Sequence[str]) -> None:
    if not isinstance(tables, Mapping) or not tables:
        raise ValueError(f"{argument} must map at least one model name to a pandas DataFrame, got {tables!r}")
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{argument}[{name!r}] must be a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{argument}[{name!r}] lacks column(s) {missing}; it has {list(frame.columns)}")


def parity_figure(predictions: Mapping[str, pd.DataFrame], x: str = "y_true", y: str = "y_pred", unit: str = "",
                  title: str = "Test parity", x_title: str = "true", y_title: str = "predicted",
                  hover: str | None = None, color: str | None = None, separate: bool = False,
                  show_mae: bool = True) -> go.Figure:
    """Column ``y`` against column ``x`` of each model's table, with the diagonal ``y = x``.

    ``predictions``: model name -> DataFrame (e.g. ``test_predictions.csv``: ``y_true``, ``y_pred``). ``unit``
    is appended to the axis titles; ``hover`` names a column shown on hover (e.g. ``"smiles"``); ``color`` names
    a numeric column that colours the points (with a colour bar); ``separate`` draws one panel per model
    (otherwise all models in one panel). With ``show_mae`` each legend entry carries ``mean |y - x|`` of its
    points.

    Raises:
        ValueError: ``predictions`` empty, not DataFrames, or lacking a named column.
    """
    _require_tables(predictions, "predictions", [c for c in (x, y, hover, color) if c])
    names = list(predictions)
    values = np.concatenate([predictions[n][[x, y]].to_numpy(dtype=float).ravel() for n in names])
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    suffix = f" [{unit}]" if unit else ""
    cols = len(names) if separate else 1
    fig = make_subplots(rows=1, cols=cols, subplot_titles=names if separate else None)
    for k, name in enumerate(names, start=1):
        frame = predictions[name]
        col = k if separate else 1
        label = name
        if show_mae:
            mae = float(np.mean(np.abs(frame[y].to_numpy(dtype=float) - frame[x].to_numpy(dtype=float))))
            label = f"{name} (MAE {mae:.4g}{' ' + unit if unit else ''})"
        marker: dict = {"size": 4, "opacity": 0.6}
        if color:
            marker.update(color=frame[color], colorscale="Viridis", showscale=k == len(names),
                          colorbar={"title": color} if k == len(names) else None)
        fig.add_trace(go.Scatter(x=frame[x], y=frame[y], mode="markers", marker=marker, name=label,
                                 text=frame[hover] if hover else None, showlegend=not separate or show_mae),
                      row=1, col=col)
        if separate or k == 1:
            fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": "gray", "dash": "dot"},
                                     name="y = x", showlegend=k == 1), row=1, col=col)
        fig.update_xaxes(title_text=x_title + suffix, row=1, col=col)
    fig.update_yaxes(title_text=y_title + suffix, row=1, col=1)
    fig.update_layout(title=title, height=460, width=max(520, 420 * cols) if separate else None)
    return fig


def learning_curves_figure(histories: Mapping[str, pd.DataFrame | str | Path], metric: str = "loss",
                           unit: str = "", title: str = "Learning curves", log_y: bool = True) -> go.Figure:
    """Validation (solid, markers) and training (dotted) ``metric`` per epoch for every model.

    ``histories``: model name -> the per-epoch history written by :func:`workbench.train.fit` (a DataFrame or
    the path of its ``metrics.csv``), with columns ``epoch``, ``val_<metric>`` and ``train_<metric>``.

    Raises:
        ValueError: ``histories`` empty, a path that is not a file, or a history without those columns.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(f"histories must map at least one model name to a DataFrame or metrics.csv path, "
                         f"got {histories!r}")
    tables = {}
    for name, history in histories.items():
        if isinstance(history, (str, Path)):
            if not Path(history).is_file():
                raise ValueError(f"histories[{name!r}]: no metrics.csv at {history}")
            history = pd.read_csv(history)
        tables[name] = history
    _require_tables(tables, "histories", ["epoch", f"val_{metric}", f"train_{metric}"])
    fig = go.Figure()
    for name, h in tables.items():
        fig.add_scatter(x=h["epoch"], y=h[f"val_{metric}"], mode="lines+markers", name=f"{name} validation")
        fig.add_scatter(x=h["epoch"], y=h[f"train_{metric}"], mode="lines", line={"dash": "dot"},
                        name=f"{name} training")
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=metric + (f" [{unit}]" if unit else ""),
                      yaxis_type="log" if log_y else "linear", height=420)
    return fig


def confusion_figure(confusion: Mapping[str, pd.DataFrame], title: str = "Confusion matrices") -> go.Figure:
    """One heatmap of counts per model (rows: true class, columns: predicted class, as in ``confusion_o3.csv``
    read with ``index_col=0``), on one colour scale.

    Raises:
        ValueError: ``confusion`` empty or a matrix that is not square with the same labels on both axes.
    """
    _require_tables(confusion, "confusion", [])
    for name, matrix in confusion.items():
        if list(matrix.index) != list(matrix.columns):
            raise ValueError(f"confusion[{name!r}] must have the same class labels as index (true) and columns "
                             f"(predicted), got {list(matrix.index)} and {list(matrix.columns)}")
    names = list(confusion)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.12)
    for k, name in enumerate(names, start=1):
        cm = confusion[name]
        fig.add_trace(go.Heatmap(z=cm.to_numpy(), x=[str(c) for c in cm.columns], y=[str(c) for c in cm.index],
                                 coloraxis="coloraxis", text=cm.to_numpy(), texttemplate="%{text}",
                                 hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"), row=1, col=k)
        fig.update_xaxes(title_text="predicted", tickangle=45, row=1, col=k)
        fig.update_yaxes(autorange="reversed", row=1, col=k)
    fig.update_yaxes(title_text="true", row=1, col=1)
    fig.update_layout(title=title, coloraxis={"colorscale": "Blues"}, height=460, width=max(520, 480 * len(names)))
    return fig


def roc_figure(roc: pd.DataFrame, mark_signal_efficiency: float | None = 0.3,
               title: str = "ROC: background rejection against signal efficiency") -> go.Figure:
    """Background rejection ``1/eps_B`` (log scale) against signal efficiency ``eps_S``, one curve per model and
    version (as in ``roc.csv``: columns ``model``, ``version``, ``eps_s``, ``eps_b``); one colour per model, the
    first version solid and the others dashed; points with ``eps_B = 0`` are left out (infinite rejection).
    ``mark_signal_efficiency`` draws a vertical line there (None: none).

    Raises:
        ValueError: ``roc`` not a DataFrame with those columns, or empty.
    """
    _require_tables({"roc": roc}, "roc", ["model", "version", "eps_s", "eps_b"])
    if roc.empty:
        raise ValueError("roc has no rows")
    palette = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b")
    colors = {m: palette[i % len(palette)] for i, m in enumerate(dict.fromkeys(roc["model"]))}
    first_version = roc["version"].iloc[0]
    fig = go.Figure()
    for (model, version), curve in roc.groupby(["model", "version"], sort=False):
        keep = curve["eps_b"] > 0
        fig.add_scatter(x=curve["eps_s"][keep], y=1.0 / curve["eps_b"][keep], mode="lines",
                        name=f"{model} ({version})",
                        line={"color": colors[model], "dash": "solid" if version == first_version else "dash"})
    if mark_signal_efficiency is not None:
        fig.add_vline(x=mark_signal_efficiency, line_dash="dot", annotation_text=f"eps_S = {mark_signal_efficiency}")
    fig.update_layout(title=title, xaxis_title="signal efficiency eps_S", yaxis_title="background rejection 1/eps_B",
                      yaxis_type="log", height=460)
    return fig


def accuracy_bars_figure(results: pd.DataFrame, columns: Mapping[str, str], chance: float | None = None,
                         title: str = "Test accuracy", y_title: str = "accuracy") -> go.Figure:
    """Grouped bars: for each ``column -> legend label`` of ``columns``, one bar per model (the ``model`` column
    of ``results``, e.g. ``results.csv``) with its value printed; ``chance`` draws a dotted line (None: none).

    Raises:
        ValueError: ``results`` lacks ``model`` or one of ``columns``, or ``columns`` is empty.
    """
    if not columns:
        raise ValueError("columns must map at least one column of results to a legend label")
    _require_tables({"results": results}, "results", ["model", *columns])
    fig = go.Figure()
    for column, label in columns.items():
        values = results[column].to_numpy(dtype=float)
        fig.add_bar(x=list(results["model"]), y=values, name=label, text=[f"{v:.2f}" for v in values],
                    textposition="outside")
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", annotation_text="chance")
    fig.update_layout(barmode="group", title=title, yaxis_title=y_title, yaxis_range=[0, 1.1], height=420)
    return fig


def shape_clouds_figure(aligned: ShapeDataset, transformed: ShapeDataset,
                        predictions: Mapping[str, pd.DataFrame] | None = None, count: int = 4,
                        version: str = "o3") -> go.Figure:
    """The first test cloud of the first ``count`` classes, as trained (``aligned``, top row) and as tested
    (``transformed``, the same clouds rotated or reflected, bottom row; "mirrored" when the O(3) element has
    determinant -1), titled with each model's prediction ``pred_<version>`` from ``predictions`` (model name ->
    ``test_predictions.csv``).

    Raises:
        ValueError: the two sets differ in size or classes, or ``count < 1``.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if len(aligned) != len(transformed) or tuple(aligned.classes) != tuple(transformed.classes):
        raise ValueError("aligned and transformed must be versions of the same test set (same size and classes)")
    n_per = len(aligned) // len(aligned.classes)
    picks = [k * n_per for k in range(min(count, len(aligned.classes)))]
    titles = [aligned.classes[int(aligned.labels[i])] + " (aligned)" for i in picks]
    for i in picks:
        mirrored = " mirrored" if float(transformed.rotations[i].det()) < 0 else ""
        guesses = ", ".join(f"{m}: {p[f'pred_{version}'][i]}" for m, p in (predictions or {}).items())
        titles.append(f"rotated{mirrored}<br>{guesses}")
    fig = make_subplots(rows=2, cols=len(picks), specs=[[{"type": "scene"}] * len(picks)] * 2,
                        subplot_titles=titles, vertical_spacing=0.08)
    for row, ds in ((1, aligned), (2, transformed)):
        for col, i in enumerate(picks, start=1):
            p = ds.points[i].numpy()
            fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", showlegend=False,
                                       marker={"size": 3, "color": p[:, 2], "colorscale": "Viridis"}),
                          row=row, col=col)
    fig.update_scenes(aspectmode="data", xaxis_visible=False, yaxis_visible=False, zaxis_visible=False)
    fig.update_layout(title="Test clouds: aligned (top) and rotated / reflected (bottom)", height=640,
                      width=260 * len(picks) + 80, margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def jet_sample_figure(jets: JetSet, title: str = "The shipped jets (all splits)") -> go.Figure:
    """Histograms of the jet mass ``sqrt(E^2 - |p|^2)`` (GeV, 5 GeV bins up to 300, a dotted line at the top mass
    172.5 GeV) and of the stored constituents per jet, top (label 1) against QCD (label 0) jets."""
    e, px, py, pz = np.asarray(jets.jet, dtype=np.float64).T
    mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("jet mass", "constituents per jet (stored)"))
    for label, name, color in ((1, "top", "#d62728"), (0, "QCD", "#1f77b4")):
        sel = np.asarray(jets.label) == label
        fig.add_histogram(x=mass[sel], name=name, xbins={"start": 0, "end": 300, "size": 5}, opacity=0.6,
                          marker_color=color, histnorm="probability", row=1, col=1)
        fig.add_histogram(x=np.asarray(jets.multiplicity)[sel], name=name, opacity=0.6, marker_color=color,
                          showlegend=False, histnorm="probability", row=1, col=2)
    fig.add_vline(x=172.5, line_dash="dot", row=1, col=1)
    fig.update_xaxes(title_text="m [GeV]", row=1, col=1)
    fig.update_xaxes(title_text="constituents", row=1, col=2)
    fig.update_layout(barmode="overlay", height=380, title=title)
    return fig

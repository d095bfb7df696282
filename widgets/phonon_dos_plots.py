"""Plotly figures of the phonon-DOS pipeline (``notebooks/pipelines/phonon_dos.ipynb``): the best, median and worst
test crystals of one model with the truth and every model's prediction, and the test metrics per model.

The figures draw the arrays :func:`workbench.pipelines.phonon_dos.run_phonon_dos` returned (``test_dos``,
``true_dos``, ``predictions``); a number in a title is computed from what is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["dos_examples_figure", "dos_metrics_figure"]


def dos_examples_figure(test_dos: Mapping[str, np.ndarray], true_dos: np.ndarray, centres: np.ndarray,
                        predictions: Mapping[str, pd.DataFrame], rank_by: str = "dos_mace",
                        title: str = "Phonon DOS of test crystals") -> go.Figure:
    """Three panels: the test crystals with the lowest, median and highest MSE of model ``rank_by``; in each the
    true DOS (black) and every model's prediction.

    Args:
        test_dos: model name -> ``[n_test, bins]`` predicted DOS.
        true_dos: ``[n_test, bins]`` true DOS (max 1).
        centres: ``[bins]`` frequencies (THz).
        predictions: model name -> per-crystal table with ``formula``, ``kind`` and ``mse`` columns (row order of
            ``true_dos``).
        rank_by: the model whose per-crystal MSE picks the three crystals.

    Raises:
        ValueError: ``rank_by`` missing from ``test_dos``/``predictions`` or arrays of the wrong shape.
    """
    true_dos, centres = np.asarray(true_dos), np.asarray(centres)
    if rank_by not in test_dos or rank_by not in predictions:
        raise ValueError(f"rank_by must name a model of test_dos and predictions ({sorted(test_dos)}), got "
                         f"{rank_by!r}")
    if true_dos.ndim != 2 or true_dos.shape[1] != centres.shape[0] or len(true_dos) < 1:
        raise ValueError(f"true_dos must be [n_test, {centres.shape[0]}], got {true_dos.shape}")
    for name, pred in test_dos.items():
        if np.shape(pred) != true_dos.shape:
            raise ValueError(f"test_dos[{name!r}] has shape {np.shape(pred)}, expected {true_dos.shape}")
    table = predictions[rank_by]
    order = np.argsort(table["mse"].to_numpy(), kind="stable")
    picks = {"best": order[0], "median": order[len(order) // 2], "worst": order[-1]}
    titles = [f"{label}: {table['formula'].iloc[i]} ({table['kind'].iloc[i]}), MSE "
              f"{float(np.mean((test_dos[rank_by][i] - true_dos[i]) ** 2)):.4f}" for label, i in picks.items()]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, shared_yaxes=True)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    for col, i in enumerate(picks.values(), start=1):
        fig.add_scatter(x=centres, y=true_dos[i], mode="lines", line={"color": "black", "width": 3}, name="truth",
                        legendgroup="truth", showlegend=col == 1, row=1, col=col)
        for k, (name, pred) in enumerate(test_dos.items()):
            fig.add_scatter(x=centres, y=np.asarray(pred)[i], mode="lines",
                            line={"color": palette[k % len(palette)], "dash": "solid" if name == rank_by else "dot"},
                            name=name, legendgroup=name, showlegend=col == 1, row=1, col=col)
        fig.update_xaxes(title_text="frequency [THz]", row=1, col=col)
    fig.update_yaxes(title_text="DOS (max 1)", row=1, col=1)
    fig.update_layout(title=title, height=380)
    return fig


def dos_metrics_figure(results: pd.DataFrame,
                       columns: Mapping[str, str] | None = None, title: str = "Test metrics") -> go.Figure:
    """Grouped bars of ``results`` (one row per model, ``model`` column): by default the DOS MSE and the relative
    errors of the average frequency and of the 300 K heat capacity (lower is better)."""
    columns = dict(columns or {"mse": "DOS MSE", "freq_rel_error": "avg. frequency rel. error",
                               "cv_rel_error": "C_V(300 K) rel. error"})
    missing = [c for c in ["model", *columns] if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks columns {missing}; expected one row per model with {list(columns)}")
    fig = go.Figure()
    for col, label in columns.items():
        fig.add_bar(x=results["model"], y=results[col], name=label, text=[f"{v:.3g}" for v in results[col]])
    fig.update_layout(title=title, barmode="group", yaxis_type="log", yaxis_title="lower is better", height=380)
    return fig

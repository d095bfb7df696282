"""widgets.spectral_plots and widgets.EigenvectorExplorer: figures draw the values they are given; the explorer's
buttons change the eigenvectors and report SignNet/BasisNet unchanged where LapPE changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from widgets import EigenvectorExplorer, eigenvector_grid_figure, invariance_bars_figure, mae_bars_figure
from workbench.models import BasisNet, LapPE, SignNet
from workbench.spectral import cycle_graph

pytestmark = pytest.mark.unit


def _circle(n):
    t = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def test_eigenvector_grid_draws_each_panel_on_a_shared_scale():
    edges = cycle_graph(5).numpy()
    panels = {"a": np.array([0.1, -0.2, 0.3, 0.0, 0.5]), "b": np.array([1.0, 0, 0, 0, -2.0])}
    fig = eigenvector_grid_figure(edges, _circle(5), panels)
    nodes = [t for t in fig.data if t.mode == "markers"]
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(nodes) == 2 and len(lines) == 2
    for trace, values in zip(nodes, panels.values()):
        np.testing.assert_array_equal(trace.marker.color, values)
        assert (trace.marker.cmin, trace.marker.cmax) == (-2.0, 2.0)
    assert sum(x is None for x in lines[0].x) == edges.shape[1]  # one segment per edge_index column
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    with pytest.raises(ValueError, match=r"panels\['a'\] must have shape \[5\]"):
        eigenvector_grid_figure(edges, _circle(5), {"a": np.zeros(4)})
    with pytest.raises(ValueError, match="positions must have shape"):
        eigenvector_grid_figure(edges, np.zeros((5, 3)), panels)
    with pytest.raises(ValueError, match="at least one"):
        eigenvector_grid_figure(edges, _circle(5), {})


def test_bar_figures_draw_the_table():
    results = pd.DataFrame({"model": ["gin_none", "gin_signnet"], "backbone": ["gin", "gin"],
                            "encoding": ["none", "signnet"], "test_mae": [0.6, 0.5],
                            "sign_flip_change": [0.0, 0.0], "basis_change_change": [0.0, 2e-3]})
    fig = mae_bars_figure(results, {"GatedGCN": {"none": 0.252}})
    assert list(fig.data[0].y) == [0.6, 0.5] and list(fig.data[1].y) == [0.252]
    inv = invariance_bars_figure(results)
    assert list(inv.data[1].y) == [1e-17, 2e-3]
    with pytest.raises(ValueError, match="lacks column"):
        mae_bars_figure(results.drop(columns="test_mae"))


def test_eigenvector_explorer_buttons():
    torch.manual_seed(0)
    encodings = {"LapPE": LapPE(6).double().eval(), "SignNet": SignNet(6).double().eval(),
                 "BasisNet": BasisNet(6).double().eval()}
    explorer = EigenvectorExplorer(cycle_graph(6), _circle(6), encodings, k=6, show=3, seed=1)
    assert explorer.changes == {"LapPE": 0.0, "SignNet": 0.0, "BasisNet": 0.0}
    before = np.array(explorer.figure.data[1].marker.color)
    explorer.buttons["flip"].click()
    assert explorer.changes["SignNet"] == 0.0 and explorer.changes["BasisNet"] <= 1e-10
    assert explorer.changes["LapPE"] > 1e-3
    after = [np.array(t.marker.color) for t in explorer.figure.data if t.mode == "markers"]
    np.testing.assert_array_equal(after[0], explorer.batch.eigvecs[:, 0].numpy())
    np.testing.assert_allclose(np.abs(after[0]), np.abs(before), atol=0)
    explorer.buttons["reset"].click()
    assert max(explorer.changes.values()) == 0.0
    explorer.buttons["rotate"].click()
    assert explorer.changes["BasisNet"] <= 1e-10 and explorer.changes["SignNet"] > 1e-8
    assert "SignNet" in explorer.table.value
    with pytest.raises(ValueError, match="show must be"):
        EigenvectorExplorer(cycle_graph(6), _circle(6), encodings, k=6, show=7)

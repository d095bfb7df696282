"""widgets.pipeline_plots: the pipeline notebooks' figures draw the numbers of the tables they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from widgets import (
    accuracy_bars_figure,
    confusion_figure,
    jet_sample_figure,
    learning_curves_figure,
    parity_figure,
    roc_figure,
    shape_clouds_figure,
    write_figure_html,
)
from workbench.data.jets import load_jets
from workbench.data.shapes import make_shape_dataset

pytestmark = pytest.mark.unit


@pytest.fixture()
def predictions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    return {"nequip": pd.DataFrame({"y_true": y, "y_pred": y + 0.1, "smiles": ["C"] * 20, "w": np.arange(20.0)}),
            "schnet": pd.DataFrame({"y_true": y, "y_pred": y - 0.3, "smiles": ["O"] * 20, "w": np.arange(20.0)})}


def test_parity_draws_the_points_diagonal_and_their_mae(predictions):
    fig = parity_figure(predictions, unit="Ha", hover="smiles")
    points = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in points] == ["nequip (MAE 0.1 Ha)", "schnet (MAE 0.3 Ha)"]
    np.testing.assert_array_equal(points[1].y, predictions["schnet"]["y_pred"])
    assert list(points[0].text) == ["C"] * 20
    (diagonal,) = [t for t in fig.data if t.mode == "lines"]
    lo = min(float(f[["y_true", "y_pred"]].min().min()) for f in predictions.values())
    hi = max(float(f[["y_true", "y_pred"]].max().max()) for f in predictions.values())
    assert tuple(diagonal.x) == tuple(diagonal.y) == (lo, hi)
    assert fig.layout.xaxis.title.text == "true [Ha]" and fig.layout.yaxis.title.text == "predicted [Ha]"


def test_parity_separate_panels_with_colour(predictions):
    fig = parity_figure(predictions, separate=True, color="w", show_mae=False)
    assert len([t for t in fig.data if t.mode == "lines"]) == 2  # one diagonal per panel
    assert fig.layout.xaxis2 is not None and [t.marker.showscale for t in fig.data if t.mode == "markers"] == [
        False, True]


def test_learning_curves_from_frames_and_metrics_csv(tmp_path):
    history = pd.DataFrame({"epoch": [0, 1, 2], "step": [4, 8, 12], "train_mae": [3.0, 2.0, 1.5],
                            "val_mae": [2.5, 1.8, 1.2], "seconds": [0.1, 0.2, 0.3]})
    history.to_csv(tmp_path / "metrics.csv", index=False)
    fig = learning_curves_figure({"a": history, "b": tmp_path / "metrics.csv"}, metric="mae", unit="Ha")
    assert [t.name for t in fig.data] == ["a validation", "a training", "b validation", "b training"]
    np.testing.assert_array_equal(fig.data[2].y, history["val_mae"])
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.title.text == "mae [Ha]"
    with pytest.raises(ValueError, match=r"histories\['a'\] lacks column\(s\) \['val_accuracy', 'train_accuracy'\]"):
        learning_curves_figure({"a": history}, metric="accuracy")
    with pytest.raises(ValueError, match="no metrics.csv at"):
        learning_curves_figure({"a": tmp_path / "missing.csv"})


def test_confusion_heatmaps_hold_the_counts(tmp_path):
    classes = ["sphere", "cube"]
    matrix = pd.DataFrame([[3, 1], [0, 4]], index=pd.Index(classes, name="true"),
                          columns=pd.Index(classes, name="predicted"))
    matrix.to_csv(tmp_path / "confusion_o3.csv")
    fig = confusion_figure({"m": matrix, "from_csv": pd.read_csv(tmp_path / "confusion_o3.csv", index_col=0)})
    assert len(fig.data) == 2
    for trace in fig.data:
        np.testing.assert_array_equal(np.asarray(trace.z), matrix.to_numpy())
        assert list(trace.x) == classes and list(trace.y) == classes
    with pytest.raises(ValueError, match="same class labels"):
        confusion_figure({"m": matrix.iloc[:, ::-1]})


def test_roc_curves_leave_out_infinite_rejection():
    roc = pd.DataFrame({"model": ["a"] * 3 + ["a"] * 3, "version": ["test"] * 3 + ["boosted"] * 3,
                        "eps_s": [0.1, 0.5, 1.0] * 2, "eps_b": [0.0, 0.1, 1.0, 0.01, 0.2, 1.0]})
    fig = roc_figure(roc)
    assert [t.name for t in fig.data] == ["a (test)", "a (boosted)"]
    np.testing.assert_allclose(fig.data[0].y, [10.0, 1.0])  # eps_b = 0 left out
    np.testing.assert_allclose(fig.data[1].y, [100.0, 5.0, 1.0])
    assert fig.data[0].line.dash == "solid" and fig.data[1].line.dash == "dash"
    assert fig.data[0].line.color == fig.data[1].line.color
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['eps_b'\]"):
        roc_figure(roc.drop(columns="eps_b"))


def test_accuracy_bars_and_offline_html(tmp_path):
    results = pd.DataFrame({"model": ["shape_mace", "pointnet"], "accuracy_aligned": [0.9, 0.95],
                            "accuracy_o3": [0.9, 0.3]})
    fig = accuracy_bars_figure(results, {"accuracy_aligned": "aligned", "accuracy_o3": "rotated"}, chance=0.1)
    assert [t.name for t in fig.data] == ["aligned", "rotated"]
    np.testing.assert_allclose(fig.data[1].y, [0.9, 0.3])
    assert list(fig.data[1].text) == ["0.90", "0.30"]
    path = write_figure_html(fig, tmp_path / "accuracy.html")
    assert "cdn.plot.ly" not in path.read_text()
    with pytest.raises(ValueError, match="at least one model"):
        parity_figure({})
    with pytest.raises(ValueError, match="lacks column"):
        accuracy_bars_figure(results, {"accuracy_so3": "rotated"})


def test_shape_clouds_show_the_same_clouds_aligned_and_transformed():
    kw = dict(num_points=16, noise=0.0, classes=("sphere", "cube"))
    aligned = make_shape_dataset(2, seed=5, rotate="none", **kw)
    o3 = make_shape_dataset(2, seed=5, rotate="o3", **kw)
    preds = {"m": pd.DataFrame({"pred_o3": ["cube", "x", "sphere", "y"]})}
    fig = shape_clouds_figure(aligned, o3, preds, count=2)
    assert len(fig.data) == 4
    np.testing.assert_allclose(fig.data[0].x, aligned.points[0, :, 0].numpy())
    np.testing.assert_allclose(fig.data[2].x, o3.points[0, :, 0].numpy())
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:2] == ["sphere (aligned)", "cube (aligned)"] and titles[2].endswith("m: cube")
    with pytest.raises(ValueError, match="same test set"):
        shape_clouds_figure(aligned, make_shape_dataset(3, seed=5, rotate="o3", **kw))


def test_jet_sample_masses():
    jets = load_jets()
    fig = jet_sample_figure(jets)
    top = fig.data[0]
    e, px, py, pz = np.asarray(jets.jet, dtype=np.float64)[np.asarray(jets.label) == 1].T
    np.testing.assert_allclose(top.x, np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)))
    assert [t.name for t in fig.data] == ["top", "top", "QCD", "QCD"]

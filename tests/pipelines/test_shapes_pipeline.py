"""workbench.pipelines.shapes.run_shapes: files and consistent metrics, the test sets are one set of shapes in three
orientations, ShapeMACE predicts the same on all three, exact resumption, bad input. Tiny runs (3 classes, 16 points,
channels 4, 6 optimizer steps per model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.data.shapes import SHAPE_CLASSES, make_shape_dataset
from workbench.pipelines.shapes import MODEL_NAMES, ShapesRunConfig, build_shape_model, predict_logits, run_shapes
from workbench.train import load_checkpoint

pytestmark = pytest.mark.unit

CLASSES = ("sphere", "cube", "helix")
# 4 training clouds per class (12) in batches of 4: 3 steps per epoch, 6 in all, per model
TINY = dict(classes=CLASSES, n_train_per_class=4, n_val_per_class=2, n_test_per_class=3, num_points=16, epochs=2,
            batch_size=4, channels=4, num_layers=1, pointnet_hidden=16, lr=0.01, seed=1, progress=False)
TOTAL_STEPS = 6
N_TEST = 9
RUN_FILES = ("metrics.json", "results.csv", "run_config.json")
MODEL_FILES = ("metrics.csv", "checkpoint.pt", "best_model.pt", "test_predictions.csv", "confusion_o3.csv")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The uninterrupted reference run."""
    return run_shapes(output_dir=tmp_path_factory.mktemp("tiny"), **TINY)


def _drop_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if "seconds" in c])


def test_tiny_run_writes_files_and_consistent_metrics(tiny_run):
    out = tiny_run.output_dir
    assert tiny_run.completed
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    for model in MODEL_NAMES:
        for name in MODEL_FILES:
            assert (out / model / name).is_file(), f"{model}/{name}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(tiny_run.metrics))
    assert metrics["classes"] == list(CLASSES)
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"], metrics["num_points"]) == (12, 6, N_TEST, 16)
    assert set(metrics["models"]) == set(MODEL_NAMES) == set(metrics["accuracy"])

    results = pd.read_csv(out / "results.csv")
    assert list(results["model"]) == list(MODEL_NAMES)
    pd.testing.assert_frame_equal(results, tiny_run.results, check_dtype=False)
    for row in results.itertuples():
        m = metrics["models"][row.model]
        assert m["steps"] == TOTAL_STEPS and m["parameters"] > 0 and m["train_seconds"] > 0
        assert m["parameters"] == sum(p.numel() for p in tiny_run.models[row.model].parameters())
        pred = pd.read_csv(out / row.model / "test_predictions.csv")
        assert len(pred) == N_TEST and list(pred["index"]) == list(range(N_TEST))
        assert list(pred["true_class"]) == [c for c in CLASSES for _ in range(3)]
        for version in ("aligned", "so3", "o3"):
            acc = m[f"accuracy_{version}"]
            assert 0.0 <= acc <= 1.0 and acc == metrics["accuracy"][row.model][version]
            assert acc == pytest.approx((pred[f"pred_{version}"] == pred["true_class"]).mean(), abs=1e-12)
            assert acc * N_TEST == pytest.approx(round(acc * N_TEST), abs=1e-9)  # a count of correct clouds
        confusion = pd.read_csv(out / row.model / "confusion_o3.csv", index_col=0)
        assert list(confusion.index) == list(confusion.columns) == list(CLASSES)
        assert confusion.to_numpy().sum() == N_TEST and (confusion.sum(axis=1) == 3).all()
        assert np.trace(confusion.to_numpy()) / N_TEST == pytest.approx(m["accuracy_o3"], abs=1e-12)
        pd.testing.assert_frame_equal(confusion, tiny_run.confusion[row.model], check_names=False, check_dtype=False,
                                      check_index_type=False, check_column_type=False)
        history = pd.read_csv(out / row.model / "metrics.csv")
        assert len(history) == 2 and {"train_accuracy", "val_accuracy"} <= set(history.columns)
    gap = metrics["models"]["shape_mace"]["accuracy_o3"] - metrics["models"]["pointnet"]["accuracy_o3"]
    assert metrics["o3_accuracy_gap"] == pytest.approx(gap, abs=1e-12)
    assert metrics["equivariant_at_least_matches_baseline_o3"] == (gap >= 0)
    comparison = pd.read_csv(out / "comparison.csv").set_index("model")
    assert comparison.loc["shape_mace", "difference_to_baseline"] == pytest.approx(gap, abs=1e-12)
    assert comparison.loc["pointnet", "ratio_to_baseline"] == 1.0 and set(comparison["baseline"]) == {"pointnet"}
    assert comparison.loc["shape_mace", "accuracy_o3"] == metrics["models"]["shape_mace"]["accuracy_o3"]


def test_test_sets_are_the_same_shapes_aligned_rotated_and_reflected(tiny_run):
    aligned, so3, o3 = (tiny_run.test_sets[v] for v in ("aligned", "so3", "o3"))
    kw = dict(num_points=16, classes=CLASSES, noise=0.02)
    # the pipeline's test sets are the dataset API's, from the test seed (3 * seed + 2)
    for version, rotate in (("aligned", "none"), ("so3", "so3"), ("o3", "o3")):
        expected = make_shape_dataset(3, seed=3 * TINY["seed"] + 2, rotate=rotate, **kw)
        assert torch.equal(tiny_run.test_sets[version].points, expected.points), version
        assert torch.equal(tiny_run.test_sets[version].labels, expected.labels), version
    assert torch.equal(aligned.labels, o3.labels) and torch.equal(aligned.labels, so3.labels)
    eye = torch.eye(3, dtype=torch.float64).expand(N_TEST, 3, 3)
    assert torch.equal(aligned.rotations, eye)
    for ds in (so3, o3):
        assert torch.allclose(ds.rotations @ ds.rotations.mT, eye, atol=1e-12)
        np.testing.assert_allclose(ds.points.double(), aligned.points.double() @ ds.rotations.mT, atol=1e-5)
        assert float((ds.points - aligned.points).abs().max()) > 0.1  # really moved
    det_so3, det_o3 = torch.linalg.det(so3.rotations), torch.linalg.det(o3.rotations)
    assert torch.allclose(det_so3, torch.ones(N_TEST, dtype=torch.float64))
    assert bool((det_o3 < 0).any()) and bool((det_o3 > 0).any()), "the o3 set must hold mirrored and proper ones"
    pred = pd.read_csv(tiny_run.output_dir / "shape_mace" / "test_predictions.csv")
    np.testing.assert_array_equal(pred["o3_det"], det_o3.round().numpy().astype(int))
    # training and validation clouds are aligned and are other shapes than the test ones
    assert torch.equal(tiny_run.train_set.rotations, torch.eye(3, dtype=torch.float64).expand(12, 3, 3))
    assert torch.equal(tiny_run.val_set.rotations, torch.eye(3, dtype=torch.float64).expand(6, 3, 3))
    assert not torch.equal(tiny_run.val_set.points[:1], tiny_run.train_set.points[:1])
    assert not torch.equal(tiny_run.train_set.points[:1], aligned.points[:1])


def test_shape_mace_predicts_the_same_on_aligned_rotated_and_reflected_clouds(tiny_run):
    m = tiny_run.metrics["models"]["shape_mace"]
    assert m["accuracy_aligned"] == m["accuracy_so3"] == m["accuracy_o3"]
    pred = tiny_run.predictions["shape_mace"]
    assert (pred["pred_aligned"] == pred["pred_so3"]).all() and (pred["pred_aligned"] == pred["pred_o3"]).all()
    assert m["max_abs_logit_change"] <= 1e-4  # float32 rounding only
    model = tiny_run.models["shape_mace"]
    logits = {v: predict_logits(model, ds.points) for v, ds in tiny_run.test_sets.items()}
    assert torch.allclose(logits["o3"], logits["aligned"], atol=1e-4, rtol=0)
    assert float(logits["aligned"].std()) > 1e-3  # not a constant output
    # the baseline is not invariant: the same check is not blind
    assert tiny_run.metrics["models"]["pointnet"]["max_abs_logit_change"] > 1e-3


def test_interrupted_and_resumed_run_equals_uninterrupted(tiny_run, tmp_path):
    first = run_shapes(output_dir=tmp_path, **{**TINY, "max_steps": 4})
    assert not first.completed and first.metrics == {} and first.results is None
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "results.csv").exists()
    for model in MODEL_NAMES:
        assert load_checkpoint(tmp_path / model / "checkpoint.pt")["step"] == 4
    resumed = run_shapes(output_dir=tmp_path, **{**TINY, "max_steps": 0})
    assert resumed.completed
    pd.testing.assert_frame_equal(_drop_seconds(pd.read_csv(tmp_path / "results.csv")),
                                  _drop_seconds(pd.read_csv(tiny_run.output_dir / "results.csv")))
    for model in MODEL_NAMES:
        for name in ("metrics.csv", "test_predictions.csv", "confusion_o3.csv"):
            pd.testing.assert_frame_equal(_drop_seconds(pd.read_csv(tmp_path / model / name)),
                                          _drop_seconds(pd.read_csv(tiny_run.output_dir / model / name)))
    # a third call on a finished run trains nothing more and reports the same
    again = run_shapes(output_dir=tmp_path, **TINY)
    assert again.metrics["accuracy"] == resumed.metrics["accuracy"] == tiny_run.metrics["accuracy"]
    assert all(again.metrics["models"][m]["steps"] == TOTAL_STEPS for m in MODEL_NAMES)


def test_one_model_only_has_no_gap(tmp_path):
    result = run_shapes(output_dir=tmp_path, **{**TINY, "models": ["pointnet"], "epochs": 1})
    assert list(result.results["model"]) == ["pointnet"] and not (tmp_path / "shape_mace").exists()
    assert result.metrics["o3_accuracy_gap"] is None
    assert result.metrics["equivariant_at_least_matches_baseline_o3"] is None


# ------------------------------------------------------------------------------------------------------ bad input


def test_unknown_class_or_model_lists_the_valid_ones(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(ValueError, match=r"unknown shape class\(es\) \['pyramid'\]; valid classes: sphere, torus, "):
        run_shapes(output_dir=run, **{**TINY, "classes": ["sphere", "pyramid"]})
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['gcn'\]; valid models: shape_mace, pointnet"):
        run_shapes(output_dir=run, **{**TINY, "models": ["shape_mace", "gcn"]})
    assert not run.exists()  # refused before anything is written
    assert ShapesRunConfig(classes="sphere, cube").classes == ("sphere", "cube")  # command-line form
    assert ShapesRunConfig().class_names == SHAPE_CLASSES


@pytest.mark.parametrize("overrides, message", [
    ({"models": []}, "models must be a non-empty list"),
    ({"models": ["pointnet", "pointnet"]}, "models must be a non-empty list of distinct"),
    ({"classes": ["cube"]}, "at least 2 classes"),
    ({"classes": ["cube", "cube"]}, "classes must be distinct"),
    ({"n_train_per_class": 0}, "n_train_per_class must be an integer >= 1"),
    ({"num_points": 3}, "num_points must be an integer >= 4"),
    ({"epochs": 2.5}, "epochs must be an integer"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"noise": float("nan")}, "noise must be a finite number >= 0"),
    ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
])
def test_bad_config_is_refused(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        run_shapes(output_dir=tmp_path / "run", **{**TINY, **overrides})
    assert not (tmp_path / "run").exists()


def test_unknown_parameter_and_changed_config_are_refused(tiny_run, tmp_path):
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) \['n_train'\]; valid: .*n_train_per_class"):
        run_shapes(output_dir=tmp_path, n_train=10)
    with pytest.raises(ValueError, match=r"another configuration \(channels: saved 4 vs now 8\)"):
        run_shapes(output_dir=Path(tiny_run.output_dir), **{**TINY, "channels": 8})


def test_baselines_invariant_features_and_augmented_pointnet(tiny_run):
    """Both new baselines run on the same split and appear in the comparison table: the invariant-feature logistic
    regression predicts the same on all three test versions; the augmented PointNet is trained on rotated and
    mirrored copies but is not invariant; run_shapes reports ShapeMACE's o3 margin over each."""
    metrics = tiny_run.metrics
    features = metrics["models"]["invariant_features"]
    assert features["accuracy_aligned"] == features["accuracy_so3"] == features["accuracy_o3"]
    assert features["max_abs_logit_change"] <= 1e-4
    assert features["parameters"] == (1 + 11 + 3 + 16) * len(CLASSES) + len(CLASSES)
    assert metrics["models"]["pointnet_augmented"]["max_abs_logit_change"] > 1e-3
    assert metrics["models"]["pointnet_augmented"]["parameters"] == metrics["models"]["pointnet"]["parameters"]
    comparison = pd.read_csv(tiny_run.output_dir / "comparison.csv").set_index("model")
    assert set(comparison.index) == set(MODEL_NAMES)
    for model in ("pointnet_augmented", "invariant_features"):
        assert comparison.loc[model, "accuracy_o3"] == metrics["models"][model]["accuracy_o3"]
        assert metrics["o3_accuracy_over"][model] == pytest.approx(
            metrics["models"]["shape_mace"]["accuracy_o3"] - metrics["models"][model]["accuracy_o3"], abs=1e-12)
    with pytest.raises(ValueError, match="needs the training clouds"):
        build_shape_model("invariant_features", 3, ShapesRunConfig())

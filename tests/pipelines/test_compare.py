"""workbench.pipelines.compare.compare_models: the model-against-baseline table of every pipeline."""

from __future__ import annotations

import math

import pytest

from workbench.pipelines.compare import COMPARISON_COLUMNS, compare_models

pytestmark = pytest.mark.unit

METRICS = {"nequip": {"test_mae": 0.2, "parameters": 1000, "train_seconds": 3.0},
           "mace": {"test_mae": 0.5, "parameters": 800},
           "schnet": {"test_mae": 0.4, "parameters": 300, "train_seconds": 1.0}}


def test_lower_is_better_ratio_difference_rank():
    table = compare_models(METRICS, "test_mae", "schnet")
    assert list(table.columns) == ["model", "test_mae", "parameters", "train_seconds", *COMPARISON_COLUMNS]
    assert list(table["model"]) == ["nequip", "mace", "schnet"]
    row = table.set_index("model")
    assert row.loc["nequip", "ratio_to_baseline"] == pytest.approx(0.5)
    assert row.loc["mace", "ratio_to_baseline"] == pytest.approx(1.25)
    assert row.loc["schnet", "ratio_to_baseline"] == 1.0
    assert row.loc["nequip", "difference_to_baseline"] == pytest.approx(-0.2)
    assert row.loc["nequip", "beats_baseline"] is True and row.loc["mace", "beats_baseline"] is False
    assert row.loc["schnet", "beats_baseline"] is None
    assert list(table["rank"]) == [1, 3, 2]
    assert math.isnan(row.loc["mace", "train_seconds"])  # a column a model lacks is missing, not invented
    assert set(table["baseline"]) == {"schnet"}


def test_higher_is_better_and_ties():
    metrics = {"shape_mace": {"accuracy_o3": 0.9}, "other": {"accuracy_o3": 0.9}, "pointnet": {"accuracy_o3": 0.3}}
    table = compare_models(metrics, "accuracy_o3", "pointnet", higher_is_better=True, columns=())
    row = table.set_index("model")
    assert row.loc["shape_mace", "difference_to_baseline"] == pytest.approx(0.6)
    assert row.loc["shape_mace", "ratio_to_baseline"] == pytest.approx(3.0)
    assert row.loc["shape_mace", "beats_baseline"] is True
    assert list(table["rank"]) == [1, 1, 3]


def test_without_baseline_and_zero_baseline():
    table = compare_models(METRICS, "test_mae")
    assert table["baseline"].isna().all() and table["ratio_to_baseline"].isna().all()
    assert table["beats_baseline"].isna().all()
    zero = compare_models({"a": {"m": 1.0}, "b": {"m": 0.0}}, "m", "b").set_index("model")
    assert zero.loc["a", "ratio_to_baseline"] == math.inf and math.isnan(zero.loc["b", "ratio_to_baseline"])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="empty"):
        compare_models({}, "test_mae")
    with pytest.raises(ValueError, match="baseline 'pointnet' is not among"):
        compare_models(METRICS, "test_mae", "pointnet")
    with pytest.raises(ValueError, match="score 'accuracy'.*'nequip' has None"):
        compare_models(METRICS, "accuracy")
    with pytest.raises(ValueError, match="'b' has nan"):
        compare_models({"a": {"m": 1.0}, "b": {"m": float("nan")}}, "m")

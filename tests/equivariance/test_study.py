"""The point-cloud Lie-derivative study behind notebooks/pipelines/lie_derivative.ipynb."""

from __future__ import annotations

import json

import pytest
import torch

from workbench.equivariance.study import StudyConfig, make_point_cloud_data, rotate_batch, run_study

pytestmark = pytest.mark.unit


def test_target_is_rotation_invariant_and_data_are_axis_aligned() -> None:
    gen = torch.Generator().manual_seed(0)
    points, target = make_point_cloud_data(8, 20, gen)
    assert points.shape == (8, 20, 3) and target.shape == (8, 1)
    rotated = rotate_batch(points, torch.Generator().manual_seed(1))
    centred = rotated - rotated.mean(1, keepdim=True)
    eig = torch.linalg.eigvalsh(centred.transpose(1, 2) @ centred / 20)[:, -1:]
    assert torch.allclose(eig, target, atol=1e-12)
    assert not torch.allclose(rotated, points)


def test_small_study_writes_tables_and_metrics(tmp_path) -> None:
    config = StudyConfig(num_points=8, num_train=64, num_test=32, epochs=2, batch_size=32, hidden=8,
                         lee_eval_size=8, models=("plain", "augmented", "pointwise"))
    result = run_study(config)
    assert len(result.lee_by_epoch) == 3 * (config.epochs + 1) * 3  # models x epochs (incl. 0) x generators
    assert set(result.summary["model"]) == {"plain", "augmented", "pointwise"}
    assert (result.summary["lee"] > 0).all()
    # the vector network's Lie derivative comes entirely from its pointwise nonlinearities
    assert result.metrics["nonlinearity_share_pointwise"] == pytest.approx(1.0, abs=1e-9)
    plain = result.lee_by_layer[result.lee_by_layer["model"] == "plain"].set_index("layer")
    assert plain.loc["0", "share"] == pytest.approx(1.0, abs=1e-9)  # the first Linear mixes coordinates
    out = result.write(tmp_path / "run")
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["lee"]) == {"plain", "augmented", "pointwise"}
    assert "augmentation_lowers_lee" in metrics
    for name in ("lee_by_epoch.csv", "lee_by_layer.csv", "summary.csv"):
        assert (out / name).stat().st_size > 0


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"hidden": 2.5}, {"models": ("plain", "cnn")},
                                    {"learning_rate": -1.0}, {"models": ()}])
def test_study_config_is_validated(kwargs) -> None:
    with pytest.raises(ValueError):
        StudyConfig(**kwargs)

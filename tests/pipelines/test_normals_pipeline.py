"""workbench.pipelines.normals.run_normals: files, the frames models' O(3) test score equals their aligned score and
their float64 equivariance error is at rounding level while the no-frames networks' is not, timing rows, bad
config. One tiny run (5 surfaces x 1 training cloud, 32 points, 2 epochs)."""

from __future__ import annotations

import json

import pytest

from workbench.pipelines.normals import MODEL_NAMES, run_normals

pytestmark = pytest.mark.unit

TINY = dict(n_train_per_surface=1, n_val_per_surface=1, n_test_per_surface=1, num_points=32, k=6, epochs=2,
            batch_size=5, mlp_hidden=16, channels=4, equivariance_clouds=1, timing_repeats=1, progress=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_normals(output_dir=tmp_path_factory.mktemp("normals"), **TINY)


def test_files_and_rows(tiny_run):
    out = tiny_run.output_dir
    for name in ("metrics.json", "results.csv", "timing.csv", "comparison.csv", "run_config.json"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(tiny_run.results["model"]) == [*MODEL_NAMES, "pca_normals"]
    assert set(metrics["frames_cost_ratio"]) == {"frames_pointnet2", "frames_mpnn"}
    assert all(r > 0 for r in metrics["frames_cost_ratio"].values())


def test_equivariant_models_score_the_same_on_rotated_clouds(tiny_run):
    rows = tiny_run.results.set_index("model")
    for name in ("frames_pointnet2", "frames_mpnn", "shape_mace"):
        assert rows.loc[name, "abs_cos_o3"] == pytest.approx(rows.loc[name, "abs_cos_aligned"], abs=1e-4)
        assert rows.loc[name, "equivariance_error_rotation"] < 1e-9
        assert rows.loc[name, "equivariance_error_reflection"] < 1e-9
    for name in ("pointnet2", "mpnn", "pointnet2_augmented", "mpnn_augmented"):
        assert rows.loc[name, "equivariance_error_rotation"] > 1e-3
        assert rows.loc[name, "lee"] > 1e-8
    assert rows.loc["frames_mpnn", "lee"] < 1e-20


def test_bad_config_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        run_normals(output_dir=tmp_path, models=["frames_gcn"])
    with pytest.raises(ValueError, match="k must be < num_points"):
        run_normals(output_dir=tmp_path, num_points=10, k=12)
    with pytest.raises(ValueError, match="frames must be"):
        run_normals(output_dir=tmp_path, frames="random")
    assert not (tmp_path / "metrics.json").exists()

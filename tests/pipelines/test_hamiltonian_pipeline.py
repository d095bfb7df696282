"""workbench.pipelines.hamiltonian.run_hamiltonian: files and rows, PhiSNet's float64 equivariance error at rounding
level while the Cartesian MLP's is not, metrics in range, the paper table, speed rows, resumption guard and bad
config. One tiny run on the shipped water conformations (2 epochs)."""

from __future__ import annotations

import json

import pytest
import torch

from workbench.pipelines.hamiltonian import MODEL_NAMES, run_hamiltonian

pytestmark = pytest.mark.unit

TINY = dict(n_train=12, n_val=4, n_test=6, channels=4, pair_channels=2, num_layers=1, mlp_hidden=16, epochs=2,
            batch_size=6, speed_repeats=1, n_energy=1, progress=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_hamiltonian(output_dir=tmp_path_factory.mktemp("hamiltonian"), **TINY)


def test_files_and_rows(tiny_run):
    out = tiny_run.output_dir
    for name in ("metrics.json", "results.csv", "comparison.csv", "paper.csv", "speed.csv", "run_config.json"):
        assert (out / name).is_file()
    assert list(tiny_run.results["model"]) == [*MODEL_NAMES, "train_mean"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_ao"] == 24 and metrics["nocc"] == 5 and metrics["n_test"] == 6
    for name in MODEL_NAMES:
        assert (out / name / "test_predictions.npz").is_file()


def test_metrics(tiny_run):
    rows = tiny_run.results.set_index("model")
    assert rows.loc["phisnet", "equivariance_error_Eh"] < 1e-9
    assert rows.loc["cartesian_mlp", "equivariance_error_Eh"] > 1e-4
    # rotated test conformations: PhiSNet's RMSE is unchanged, the frame-bound models' is not
    assert rows.loc["phisnet", "H_rmse_rotated_uEh"] == pytest.approx(rows.loc["phisnet", "H_rmse_uEh"], rel=1e-6)
    for name in ("cartesian_mlp", "train_mean"):
        assert rows.loc[name, "H_rmse_rotated_uEh"] > 2 * rows.loc[name, "H_rmse_uEh"]
    for name in rows.index:
        assert rows.loc[name, "H_mae_uEh"] > 0
        assert 0 < rows.loc[name, "psi_cosine"] <= 1 + 1e-12
    # the shipped geometries are near equilibrium: the training mean is already a fair matrix (< 0.1 Eh MAE)
    assert rows.loc["train_mean", "H_mae_uEh"] < 1e5


def test_paper_and_speed(tiny_run):
    paper = tiny_run.paper
    assert set(paper["source"]) == {"published", "this run"}
    assert paper.loc[paper["model"] == "PhiSNet (paper)", "H_mae_uEh"].item() == pytest.approx(17.59)
    speed = tiny_run.speed.set_index("model")
    assert (speed["predict_seconds_per_geometry"] > 0).all()
    if speed["pyscf_scf_seconds"].notna().all():
        assert (speed["speedup_vs_scf"] > 0).all()


def test_guard_and_bad_config(tiny_run, tmp_path):
    with pytest.raises(ValueError, match="another configuration"):
        run_hamiltonian(output_dir=tiny_run.output_dir, **{**TINY, "channels": 5})
    with pytest.raises(ValueError, match="unknown model"):
        run_hamiltonian(output_dir=tmp_path, models=["nope"])
    with pytest.raises(ValueError, match="conformations"):
        run_hamiltonian(output_dir=tmp_path, n_train=1000)
    with pytest.raises(TypeError, match="unknown parameter"):
        run_hamiltonian(output_dir=tmp_path, bogus=1)


def test_block_error_files(tiny_run):
    """Per-block test errors: every model's shares add up to one and rebuild its whole-matrix H MAE."""
    blocks = tiny_run.blocks
    assert (tiny_run.output_dir / "block_errors.csv").is_file()
    assert (tiny_run.output_dir / "block_summary.csv").is_file()
    rows = tiny_run.results.set_index("model")
    for name, t in blocks.groupby("model"):
        assert t["share"].sum() == pytest.approx(1.0)
        mae = (t["mae_uEh"] * t["entries"]).sum() / t["entries"].sum()
        assert mae == pytest.approx(rows.loc[name, "H_mae_uEh"], rel=1e-9)
    assert set(tiny_run.block_summary["kind"]) == {"on-site", "pair"}


def test_split_is_nested_for_learning_curves():
    """Runs that differ only in n_train share validation and test sets, and their training sets are nested."""
    from workbench.pipelines.hamiltonian import HamiltonianRunConfig, _split

    small = _split(100, HamiltonianRunConfig(n_train=20, n_val=10, n_test=30))
    large = _split(100, HamiltonianRunConfig(n_train=60, n_val=10, n_test=30))
    assert small["test"].tolist() == large["test"].tolist()
    assert small["val"].tolist() == large["val"].tolist()
    assert set(small["train"].tolist()) < set(large["train"].tolist())
    every = torch.cat([large["train"], large["val"], large["test"]])
    assert sorted(every.tolist()) == list(range(100))

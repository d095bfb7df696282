"""workbench.pipelines.action_angle.run_action_angle: files and consistent metrics, errors recomputed from the
saved models, prediction cost against the jump, exact resumption, bad input. Tiny runs (one trajectory of 120
samples, hidden 8, 2 epochs)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import torch

from workbench.pipelines.action_angle import MODEL_NAMES, ActionAngleRunConfig, predict, run_action_angle

pytestmark = pytest.mark.unit

JUMPS = [1, 5, 50]
TINY = dict(system="coupled_harmonic", n_oscillators=2, n_trajectories=1, n_samples=120, test_jumps=JUMPS, epochs=2,
            batch_size=64, hidden=8, n_layers=1, rollout_steps=5, timing_repeats=3, timing_batch=32,
            max_val_pairs=50, progress=False, seed=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_action_angle(output_dir=tmp_path_factory.mktemp("aa"), **TINY)


def test_tiny_run_writes_files_and_consistent_metrics(tiny_run):
    out = tiny_run.output_dir
    assert tiny_run.completed
    for name in ("metrics.json", "errors.csv", "timing.csv", "rollout.csv", "frequencies.csv", "actions.csv",
                 "comparison.csv", "run_config.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(tiny_run.metrics))
    assert metrics["sections"] == {"train": [0, 12], "val": [12, 60], "test": [60, 120]}
    errors = pd.read_csv(out / "errors.csv")
    assert len(errors) == len(MODEL_NAMES) * len(JUMPS)
    assert (errors[errors["jump"] == 1]["growth"] == 1.0).all()
    data = tiny_run.data
    for name, model in tiny_run.models.items():
        x0, jump, x1 = data.pairs("test", [50])
        mse = float(((predict(model, x0, jump) - x1) ** 2).mean())
        assert metrics["models"][name]["mse_jump_50"] == pytest.approx(mse, rel=1e-12)
        assert errors[(errors.model == name) & (errors.jump == 50)]["n_pairs"].item() == 10
        assert metrics["models"][name]["steps"] == 2 * 2  # 11 + 10 + ... + 2 = 65 training pairs: 2 batches of 64
    frequencies = pd.read_csv(out / "frequencies.csv")
    analytic = sorted(data.system.frequencies.tolist())
    assert frequencies["analytic_mean"].tolist() == pytest.approx(analytic, rel=1e-12)
    rollout = pd.read_csv(out / "rollout.csv")
    aa = rollout[rollout.model == "action_angle"]
    assert len(aa) == 5 and (aa["action_drift"] < 1e-10).all()   # one-step roll-outs keep the learned actions


def test_cost_is_flat_for_action_angle_and_linear_for_steppers(tiny_run):
    ratio = {m: tiny_run.metrics["models"][m]["time_ratio_last_over_first"] for m in MODEL_NAMES}
    assert min(ratio["euler"], ratio["hamiltonian"], ratio["neural_ode"]) > 3, ratio   # 50 steps against 1
    assert ratio["action_angle"] < min(ratio["euler"], ratio["hamiltonian"], ratio["neural_ode"])


def test_resume_ends_where_an_uninterrupted_run_ends(tiny_run, tmp_path):
    first = run_action_angle(output_dir=tmp_path, **{**TINY, "max_steps": 3})
    assert not first.completed and first.errors is None
    second = run_action_angle(output_dir=tmp_path, **TINY)
    assert second.completed
    pd.testing.assert_frame_equal(second.errors, tiny_run.errors)


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "never"
    cases = [
        ({"system": "pendulum"}, "unknown system 'pendulum'; valid systems: harmonic, coupled_harmonic, kepler, "
                                 "double_pendulum"),
        ({"test_jumps": [1, 2.5]}, "test_jumps must hold positive integers"),
        ({"train_jumps": [0, 1]}, "train_jumps must hold positive integers"),
        ({"test_jumps": "1,-2"}, "test_jumps must hold positive integers"),
        ({"test_jumps": [1, 60]}, "do not fit in the 60 test samples"),
        ({"models": ["action_angle", "lstm"]}, "unknown model"),
        ({"n_trajectories": 0}, "n_trajectories must be an integer >= 1"),
        ({"dt": float("nan")}, "dt must be a finite number"),
    ]
    for override, message in cases:
        with pytest.raises(ValueError, match=message):
            run_action_angle(output_dir=out, **{**TINY, **override})
    with pytest.raises(TypeError, match="unknown parameter"):
        run_action_angle(output_dir=out, jumps=[1])
    assert not out.exists()
    assert ActionAngleRunConfig(test_jumps="1, 2, 50").test_jumps == (1, 2, 50)


def test_a_run_folder_refuses_another_configuration(tiny_run):
    with pytest.raises(ValueError, match="another configuration"):
        run_action_angle(output_dir=tiny_run.output_dir, **{**TINY, "system": "harmonic"})


def test_non_finite_state_is_refused_by_every_model(tiny_run):
    bad = torch.full((1, 4), float("nan"), dtype=torch.float64)
    for model in tiny_run.models.values():
        with pytest.raises(ValueError, match="state must be finite"):
            model(bad, 1.0)


def test_frequency_calibration_is_recorded_and_can_be_switched_off(tiny_run, tmp_path):
    calibration = tiny_run.metrics["action_angle"]["frequency_calibration"]
    assert set(calibration) >= {"uncalibrated_mse", "uncalibrated_growth_last_over_first", "max_abs_error_before",
                                "max_abs_error_after", "max_fit_rms", "accepted", "validation_mse_before",
                                "validation_mse_after"}
    assert calibration["max_abs_error_after"] < calibration["max_abs_error_before"]
    assert calibration["accepted"] == (calibration["validation_mse_after"] <= calibration["validation_mse_before"])
    # the same finished folder evaluated without the refit: the Action-Angle errors are the recorded uncalibrated
    # ones, the baselines' are unchanged, and nothing is trained again
    shutil.copytree(tiny_run.output_dir, tmp_path / "run")
    raw = run_action_angle(output_dir=tmp_path / "run", **{**TINY, "calibrate_frequencies": False})
    assert raw.metrics["action_angle"]["frequency_calibration"] is None
    errors = raw.errors.set_index(["model", "jump"])["mse"]
    for jump, mse in calibration["uncalibrated_mse"].items():
        assert errors[("action_angle", int(jump))] == pytest.approx(mse, rel=1e-12)
    baseline = tiny_run.errors.set_index(["model", "jump"])["mse"]
    for name in ("euler", "neural_ode", "hamiltonian"):
        assert errors[name].tolist() == pytest.approx(baseline[name].tolist(), rel=1e-12)
    assert errors["action_angle"].tolist() != pytest.approx(baseline["action_angle"].tolist(), rel=1e-6)
    with pytest.raises(ValueError, match="calibrate_frequencies must be True or False"):
        run_action_angle(output_dir=tmp_path / "never", **{**TINY, "calibrate_frequencies": "yes"})

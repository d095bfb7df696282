"""workbench.pipelines.potential: a tiny run end to end (files, metrics, MD, resumption), a periodic user file
trained with stresses, and bad parameters refused before anything is written."""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pandas as pd
import pytest

from workbench.calculators import WorkbenchCalculator
from workbench.data.potential_data import potential_atoms
from workbench.pipelines.potential import PotentialRunConfig, run_potential, split_frames

pytestmark = pytest.mark.unit

TINY = dict(n_train=12, n_val=4, n_test=6, channels=4, lmax=1, num_layers=1, epochs=2, batch_size=4,
            md_steps=20, md_save_every=10, progress=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("potential")
    return run_potential(output_dir=out, models=("mace", "schnet"), **TINY), out


def test_tiny_run_writes_everything(tiny_run):
    result, out = tiny_run
    assert result.completed
    for name in ("metrics.json", "results.csv", "comparison.csv", "md_nve.csv", "md_nvt.csv", "md_nve.xyz",
                 "rdf.csv", "mace/potential.pt", "mace/energy_parity.csv", "schnet/forces_parity.csv"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 12 and metrics["elements"] == [1, 6, 8]
    for row in metrics["models"].values():
        assert np.isfinite(row["energy_mae_meV"]) and np.isfinite(row["forces_mae_meV_per_A"])
        assert row["epochs"] == 2 and row["seconds_per_epoch"] > 0
    md = metrics["md"]
    assert md["model"] == "mace" and md["nve_steps_per_second"] > 0
    assert (md["nve_failed"] is None) == (md["nve_time_ps"] == pytest.approx(0.01))
    assert 0 <= md["rdf_l1_distance"] <= 2
    # the parity table holds the test frames' reference labels
    frames = potential_atoms("ethanol")
    test = split_frames(len(frames), 12, 4, 6, 0)["test"]
    parity = pd.read_csv(out / "mace" / "energy_parity.csv")
    assert np.allclose(parity["energy_true_eV"], [frames[i].get_potential_energy() for i in test])
    assert len(pd.read_csv(out / "mace" / "forces_parity.csv")) == 6 * 9 * 3
    # the NVE trajectory is readable for the viewer and the checkpoint drives the calculator
    traj = ase.io.read(out / "md_nve.xyz", index=":")
    assert len(traj) == len(result.nve.time_ps) and len(traj[0]) == 9
    energy = WorkbenchCalculator(out / "mace" / "potential.pt").evaluate([frames[int(test[0])]])[0]["energy"]
    assert energy == pytest.approx(parity["energy_pred_eV"].iloc[0], abs=1e-3)  # float64 vs float32 training


def test_same_folder_resumes_and_changed_config_is_refused(tiny_run):
    result, out = tiny_run
    again = run_potential(output_dir=out, models=("mace", "schnet"), **TINY)
    assert again.metrics["models"]["mace"]["forces_mae_meV_per_A"] == pytest.approx(
        result.metrics["models"]["mace"]["forces_mae_meV_per_A"])
    with pytest.raises(ValueError, match="another configuration"):
        run_potential(output_dir=out, models=("mace", "schnet"), **{**TINY, "lr": 0.1})


def test_periodic_user_file_with_stress(tmp_path):
    frames = potential_atoms("copper")[:10]
    ase.io.write(tmp_path / "cu.xyz", frames, format="extxyz")
    result = run_potential(output_dir=tmp_path / "run", data_path=str(tmp_path / "cu.xyz"), models=("schnet",),
                           n_train=6, n_val=2, n_test=2, channels=4, num_layers=1, epochs=1, batch_size=3,
                           stress_weight=10.0, r_max=3.0, md_steps=10, md_save_every=5, md_temperature_K=300.0,
                           progress=False)
    assert result.completed and result.metrics["elements"] == [29]
    assert "train_stress_mae" in result.histories["schnet"].columns
    assert result.nve.pbc.all() and result.rdf["reference"].sum() > 0


@pytest.mark.parametrize("overrides, message", [
    ({"dataset": "aspirin"}, "dataset must be one of"),
    ({"data_path": "/nonexistent.xyz"}, "data_path: no extended-XYZ file"),
    ({"models": ("mace", "painn")}, "unknown model"),
    ({"md_model": "nequip"}, "md_model must be one of the trained models"),
    ({"dtype": "float16"}, "dtype must be"),
    ({"n_train": 0}, "n_train must be an integer >= 1"),
    ({"r_max": -1.0}, "r_max must be a finite number > 0"),
    ({"energy_weight": 0.0, "forces_weight": 0.0}, "cannot both be 0"),
])
def test_bad_parameters_are_refused_before_anything_is_written(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        run_potential(output_dir=tmp_path / "run", **{**TINY, **overrides})
    assert not (tmp_path / "run").exists()


def test_too_few_frames_and_unknown_override(tmp_path):
    with pytest.raises(ValueError, match="exceeds the 600 frames"):
        run_potential(output_dir=tmp_path / "run", **{**TINY, "n_train": 600})
    with pytest.raises(TypeError, match="unknown parameter"):
        run_potential(output_dir=tmp_path / "run", steps=3)
    assert PotentialRunConfig(models="nequip, schnet").models == ("nequip", "schnet")

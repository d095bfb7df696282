"""workbench.pipelines.phonon_dos.run_phonon_dos on the shipped spectra set: files and consistent metrics, the mean
baseline's numbers recomputed, the trained equivariant model invariant in float64, exact resumption, bad input.
Tiny runs (30 crystals, channels 4, 6 optimizer steps per model)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.groups import o3
from workbench.pipelines.phonon_dos import MODEL_NAMES, PhononDOSRunConfig, collate_crystals, run_phonon_dos
from workbench.scattering.phonons import average_frequency, heat_capacity
from workbench.scattering.spectra_data import load_spectra_dataset

pytestmark = pytest.mark.unit

# 30 crystals: 18 training in batches of 6 -> 3 steps per epoch, 6 in all
TINY = dict(max_structures=30, val_fraction=0.2, test_fraction=0.2, epochs=2, batch_size=6, channels=4,
            num_layers=1, mlp_hidden=8, lr=0.01, seed=1, progress=False)
TOTAL_STEPS = 6


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_phonon_dos(output_dir=tmp_path_factory.mktemp("tiny"), **TINY)


def test_tiny_run_writes_files_and_consistent_metrics(tiny_run):
    out = tiny_run.output_dir
    assert tiny_run.completed
    for name in ("metrics.json", "results.csv", "comparison.csv", "run_config.json"):
        assert (out / name).is_file(), name
    for model in MODEL_NAMES:
        assert (out / model / "test_predictions.csv").is_file() and (out / model / "test_dos.npy").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(tiny_run.metrics))
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (18, 6, 6)
    assert metrics["dataset"]["dos_bins"] == 51
    results = pd.read_csv(out / "results.csv")
    assert list(results["model"]) == list(MODEL_NAMES)
    for row in results.itertuples():
        pred = np.load(out / row.model / "test_dos.npy")
        assert pred.shape == (6, 51) and (pred >= 0).all()
        assert row.mse == pytest.approx(float(((pred - tiny_run.true_dos) ** 2).mean()), rel=1e-12)
        if row.model != "mean_dos":
            assert row.steps == TOTAL_STEPS and row.parameters > 0


def test_mean_baseline_and_derived_metrics_recomputed(tiny_run):
    data = load_spectra_dataset()
    order = np.random.default_rng(TINY["seed"]).permutation(len(data))[:30]
    train, test = order[12:], order[6:12]
    np.testing.assert_array_equal(tiny_run.test_indices, test)
    mean = data.dos[train].mean(0)
    true = data.dos[test]
    row = tiny_run.metrics["models"]["mean_dos"]
    assert row["mse"] == pytest.approx(float(((mean - true) ** 2).mean()), rel=1e-12)
    f_true = average_frequency(true, data.dos_centres)
    f_mean = average_frequency(mean, data.dos_centres)
    assert row["freq_rel_error"] == pytest.approx(float(np.mean(np.abs(f_mean - f_true) / f_true)), rel=1e-12)
    c_true = heat_capacity(true, data.dos_centres, 300.0)
    c_mean = heat_capacity(mean, data.dos_centres, 300.0)
    assert row["cv_rel_error"] == pytest.approx(float(np.mean(np.abs(c_mean - c_true) / c_true)), rel=1e-12)


def test_trained_model_is_invariant_in_float64(tiny_run):
    model = tiny_run.models["dos_mace"].double().eval()
    data = tiny_run.dataset
    items = []
    for i in tiny_run.test_indices[:3]:
        z, pos, cell = data.structure(int(i))
        items.append((torch.as_tensor(z), torch.as_tensor(pos), torch.as_tensor(cell),
                      torch.as_tensor(data.dos[int(i)])))
    q = -o3.rand_matrix(generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # rotation + reflection
    moved = []
    for z, pos, cell, dos in items:
        perm = torch.randperm(len(z), generator=torch.Generator().manual_seed(1))
        n = torch.randint(-2, 3, (len(z), 3), generator=torch.Generator().manual_seed(2)).to(pos.dtype)
        moved.append((z[perm], ((pos + n @ cell) @ q.T + 1.7)[perm], cell @ q.T, dos))
    with torch.no_grad():
        a, b = (collate_crystals(x) for x in (items, moved))
        before = model(a["z"], a["pos"], a["cell"], a["batch"], a["num_graphs"])
        after = model(b["z"], b["pos"], b["cell"], b["batch"], b["num_graphs"])
    assert float((after - before).abs().max()) <= 1e-10
    model.float()


def test_resumption_reproduces_the_uninterrupted_run(tiny_run, tmp_path):
    out = tmp_path / "resumed"
    first = run_phonon_dos(output_dir=out, max_steps=4, **TINY)
    assert not first.completed and first.results is None
    second = run_phonon_dos(output_dir=out, **TINY)
    assert second.completed
    pd.testing.assert_frame_equal(second.results.drop(columns=["train_seconds"]),
                                  tiny_run.results.drop(columns=["train_seconds"]), check_exact=False, rtol=1e-6)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        run_phonon_dos(output_dir=tmp_path / "a", models=["dos_mace", "cgcnn"])
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction"):
        run_phonon_dos(output_dir=tmp_path / "b", val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(TypeError, match="unknown parameter"):
        run_phonon_dos(output_dir=tmp_path / "c", lmaxx=2)
    with pytest.raises(FileNotFoundError, match="build-data spectra"):
        run_phonon_dos(output_dir=tmp_path / "d", data_path=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no training set"):
        run_phonon_dos(output_dir=tmp_path / "e", max_structures=2)
    assert not (tmp_path / "a").exists() and not (tmp_path / "e").exists()
    run_phonon_dos(output_dir=tmp_path / "f", max_steps=1, **TINY)
    with pytest.raises(ValueError, match="another configuration"):
        run_phonon_dos(output_dir=tmp_path / "f", **{**TINY, "channels": 8})
    assert PhononDOSRunConfig().models == MODEL_NAMES

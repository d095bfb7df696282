"""The backmapping pipeline end to end on a few shipped frames: files, table, paper values, equivariance of the
trained decoder, resumption, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.pipelines.backmapping import PAPER_ALANINE_DIPEPTIDE, BackmappingRunConfig, run_backmapping

SMALL = dict(n_frames=120, n_beads=(3, 6), epochs=1, channels=4, latent_channels=2, num_layers=1, num_samples=3,
             n_sample_frames=4, batch_size=32, progress=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("backmapping")
    return run_backmapping(output_dir=out, **SMALL), out


def test_files_and_table(run):
    result, out = run
    assert result.completed
    for name in ("metrics.json", "results.csv", "samples.npz", "run_config.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "results.csv")
    assert list(zip(table["n_beads"], table["model"])) == [(3, "cgvae"), (3, "linear"), (6, "cgvae"), (6, "linear")]
    for col in ("rmsd_heavy_recon", "rmsd_all_recon", "ged_heavy_recon", "rmsd_heavy_sample", "diversity_heavy",
                "samples_per_s"):
        assert np.isfinite(table[col]).all(), col
    assert table.loc[table.model == "linear", "diversity_heavy"].eq(0).all()
    assert (table.loc[table.model == "cgvae", "diversity_heavy"] > 0).all()
    # the paper's values sit beside ours where the issue quotes them
    row3 = table[(table.n_beads == 3) & (table.model == "cgvae")].iloc[0]
    assert row3["paper_rmsd_heavy"] == PAPER_ALANINE_DIPEPTIDE["cgvae_rmsd"][3]
    assert np.isnan(table[(table.n_beads == 6) & (table.model == "linear")].iloc[0]["paper_rmsd_heavy"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == {"train": 84, "val": 12, "test": 24}
    # the trained float32 decoder stays equivariant
    assert all(err < 1e-3 for err in metrics["decoder_equivariance_error"].values())
    samples = np.load(out / "samples.npz")
    assert samples["samples_3"].shape == (3, 22, 3) and samples["beads_6"].shape == (6, 3)
    assert set(result.ramachandran) == {"reference", "cgvae_3", "linear_3", "cgvae_6", "linear_6"}
    assert result.ramachandran["cgvae_3"].shape == (3 * 4, 2)


def test_resume_gives_same_table(run):
    result, out = run
    again = run_backmapping(output_dir=out, **SMALL)
    cols = ["rmsd_heavy_recon", "ged_heavy_recon", "rmsd_all_recon"]
    np.testing.assert_allclose(again.results[cols].to_numpy(), result.results[cols].to_numpy(), rtol=1e-6)


def test_config_errors(tmp_path, run):
    _, out = run
    with pytest.raises(ValueError, match="n_beads must be distinct integers >= 2"):
        run_backmapping(output_dir=tmp_path / "a", **{**SMALL, "n_beads": (3, 3)})
    with pytest.raises(ValueError, match=r"n_beads must be <= the 22 atoms"):
        run_backmapping(output_dir=tmp_path / "b", **{**SMALL, "n_beads": (3, 30)})
    with pytest.raises(ValueError, match="train_fraction \\+ val_fraction must be < 1"):
        BackmappingRunConfig(train_fraction=0.9, val_fraction=0.2).validate()
    with pytest.raises(ValueError, match="heavy_weight"):
        BackmappingRunConfig(heavy_weight=0.0).validate()
    with pytest.raises(ValueError, match="empty train/val/test split"):
        run_backmapping(output_dir=tmp_path / "c", **{**SMALL, "n_frames": 3})
    with pytest.raises(TypeError, match="unknown parameter"):
        run_backmapping(output_dir=tmp_path / "d", n_bead=3)
    with pytest.raises(ValueError, match="another configuration"):
        run_backmapping(output_dir=out, **{**SMALL, "beta": 0.5})
    with pytest.raises(FileNotFoundError, match="no such trajectory file"):
        run_backmapping(output_dir=tmp_path / "e", **{**SMALL, "trajectory": str(tmp_path / "none.pdb")})

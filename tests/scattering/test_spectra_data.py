"""The shipped spectra set (data/spectra, `workbench build-data spectra`): contents, conventions, one structure
recomputed from scratch, a tiny rebuild, loader errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from workbench.scattering import debye_scattering
from workbench.scattering.spectra_data import DEFAULT_SPECTRA_DIR, KINDS, build_spectra_dataset, load_spectra_dataset


@pytest.fixture(scope="module")
def shipped():
    return load_spectra_dataset()


def test_shipped_set_contents(shipped):
    assert 250 <= len(shipped) <= 400
    assert set(shipped.kinds) == set(KINDS)
    assert shipped.dos.shape == (len(shipped), 51) and shipped.dos_centres.shape == (51,)
    np.testing.assert_allclose(shipped.dos.max(1), 1.0, atol=1e-6)
    assert shipped.dos_centres[0] == pytest.approx(12.0 / 102) and shipped.dos_centres[-1] < 12.0
    width = shipped.dos_centres[1] - shipped.dos_centres[0]
    # states/THz per atom integrate to 3 modes per atom up to Gaussian tails below 0 THz
    np.testing.assert_allclose(shipped.dos_states.sum(1) * width, 3.0, atol=0.05)
    assert set(np.unique(shipped.numbers)) <= {13, 28, 29, 46, 47, 78, 79}
    m = shipped.manifest
    assert m["versions"]["phonopy"] and m["versions"]["ase"] and m["versions"]["torch"] and m["seed"] == 0
    assert (DEFAULT_SPECTRA_DIR / "spectra.npz").stat().st_size < 3e6
    assert np.isfinite(shipped.sq).all() and np.isfinite(shipped.gr).all()


def test_one_structure_recomputed(shipped):
    pytest.importorskip("phonopy")
    import ase

    from workbench.scattering.phonons import compute_phonons
    from workbench.scattering.spectra_data import _particle

    i = int(np.flatnonzero(shipped.kinds == "L1_2")[0])
    z, pos, cell = shipped.structure(i)
    atoms = ase.Atoms(numbers=z, positions=pos, cell=cell, pbc=True)
    result = compute_phonons(atoms, sigma=shipped.manifest["config"]["dos_sigma_thz"])
    np.testing.assert_allclose(result.dos_normalized, shipped.dos[i], atol=1e-6)
    numbers, cluster = _particle(atoms, shipped.manifest["config"]["particle_radius"])
    sq = debye_scattering(numbers.tolist(), torch.as_tensor(cluster), torch.as_tensor(shipped.q), biso=0.5)
    np.testing.assert_allclose(sq.structure_factor.numpy(), shipped.sq[i], rtol=1e-5, atol=1e-5)


def test_tiny_rebuild_and_loader_errors(tmp_path):
    pytest.importorskip("phonopy")
    path = build_spectra_dataset(tmp_path / "tiny", limit=2, n_random=1, variants=1, nq=20, nr=20)
    manifest = json.loads(path.read_text())
    kept = manifest["counts"]["structures"]
    assert kept + sum(manifest["counts"]["skipped_imaginary"].values()) == 2 and kept >= 1
    assert manifest["config"]["limit"] == 2
    data = load_spectra_dataset(tmp_path / "tiny")
    assert len(data) == kept and data.sq.shape == (kept, 20) and data.gr.shape == (kept, 20)
    with pytest.raises(FileNotFoundError, match="build-data spectra"):
        load_spectra_dataset(tmp_path / "missing")
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "tiny", broken)
    with open(broken / "spectra.npz", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_spectra_dataset(broken)
    with pytest.raises(ValueError, match="limit"):
        build_spectra_dataset(tmp_path / "x", limit=0)


def test_build_data_command_names_the_builder():
    import importlib

    from workbench import cli

    module, func, folder = cli.DATA_BUILDERS["spectra"]
    assert getattr(importlib.import_module(module), func) is build_spectra_dataset
    assert folder == "data/spectra" and DEFAULT_SPECTRA_DIR.parts[-2:] == ("data", "spectra")

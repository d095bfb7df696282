"""The OpenMM builder of data/cg_alanine (a few picoseconds) and the shipped manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cg import covalent_bonds, load_cg_alanine
from workbench.cg.alanine import DEFAULT_CG_ALANINE_DIR, build_cg_alanine, simulate_alanine_dipeptide
from workbench.data.manifest import sha256_file


def test_shipped_manifest_matches_files():
    manifest = json.loads((DEFAULT_CG_ALANINE_DIR / "manifest.json").read_text())
    entry = manifest["files"]["trajectory.npz"]
    assert sha256_file(DEFAULT_CG_ALANINE_DIR / entry["file"]) == entry["sha256"]
    assert entry["bytes"] < 2_000_000
    assert manifest["counts"] == {"frames": 2000, "atoms": 22, "heavy_atoms": 10, "bonds": 21}
    for key in ("openmm_version", "temperature_k", "timestep_fs", "length_ps", "stride_ps", "seed", "force_field"):
        assert key in manifest["method"], key


def test_modified_file_is_refused(tmp_path):
    for name in ("manifest.json", "trajectory.npz"):
        (tmp_path / name).write_bytes((DEFAULT_CG_ALANINE_DIR / name).read_bytes())
    data = bytearray((tmp_path / "trajectory.npz").read_bytes())
    data[-40] ^= 0xFF
    (tmp_path / "trajectory.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="build-data cg_alanine"):
        load_cg_alanine(tmp_path)
    with pytest.raises(FileNotFoundError, match="build-data cg_alanine"):
        load_cg_alanine(tmp_path / "missing")


def test_builder_runs_a_short_simulation(tmp_path):
    pytest.importorskip("openmm")
    pytest.importorskip("rdkit")
    out = build_cg_alanine(tmp_path / "ala", seed=3, length_ps=0.5, stride_ps=0.1)
    traj = load_cg_alanine(out)
    assert traj.n_frames == 5 and traj.n_atoms == 22
    assert list(traj.residue_names[[0, 6, 16]]) == ["ACE", "ALA", "NME"]
    assert {tuple(b) for b in covalent_bonds(traj.elements, traj.positions[-1]).tolist()} == \
        {tuple(b) for b in traj.bonds.tolist()}
    np.testing.assert_allclose(traj.time_ps, 10.0 + 0.1 * np.arange(1, 6))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"]["seed"] == 3 and manifest["method"]["steps_per_s"] > 0
    # the build is reproducible: the same seed gives the same file (hydrogens placed from a seeded RNG, one thread,
    # deterministic forces)
    again = build_cg_alanine(tmp_path / "again", seed=3, length_ps=0.5, stride_ps=0.1)
    assert sha256_file(again / "trajectory.npz") == sha256_file(out / "trajectory.npz")
    with pytest.raises(ValueError, match="stride_ps must be a whole number"):
        simulate_alanine_dipeptide(length_ps=1.0, stride_ps=0.0031)
    with pytest.raises(ValueError, match="length_ps must be a positive finite number"):
        simulate_alanine_dipeptide(length_ps=float("nan"))

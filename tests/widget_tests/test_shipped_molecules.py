"""Shipped molecules (data/molecules): manifest and checksums, loader, extended XYZ, invariants and the dipole."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from workbench.data import molecules as M
from workbench.data.interop import to_ase

pytestmark = pytest.mark.unit

EXPECTED = {"water": 3, "ammonia": 4, "methane": 5, "formaldehyde": 4, "ethanol": 9, "acetic_acid": 8,
            "benzene": 12, "caffeine": 24}


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_manifest_records_provenance_and_checksums() -> None:
    manifest = json.loads((M.DEFAULT_MOLECULES_DIR / "manifest.json").read_text())
    for key in ("builder", "workbench_version", "rdkit_version", "seed", "method", "files"):
        assert key in manifest
    assert manifest["builder"] == "workbench.data.molecules.build_molecules"
    assert {name: entry["n_atoms"] for name, entry in manifest["files"].items()} == EXPECTED
    assert M.available_molecules() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_molecule_loads_and_is_physical(name: str) -> None:
    mol = M.load_molecule(name)
    assert mol.n_atoms == EXPECTED[name]
    assert mol.positions.dtype == np.float64 and mol.positions.shape == (mol.n_atoms, 3)
    assert mol.charges.shape == (mol.n_atoms,)
    assert abs(mol.charges.sum()) < 1e-6  # neutral molecules: Gasteiger charges sum to zero
    np.testing.assert_allclose(mol.positions.mean(axis=0), 0.0, atol=1e-7)  # centred by the builder
    d = mol.distances()[np.triu_indices(mol.n_atoms, 1)]
    assert d.min() > 0.9 and d.min() < 1.2  # shortest bonds are X-H bonds, ~1.0-1.1 Angstrom
    assert mol.info["smiles"] == M.MOLECULE_SMILES[name]


def test_known_geometry_and_dipoles() -> None:
    water = M.load_molecule("water")
    o = water.symbols.index("O")
    oh = [np.linalg.norm(water.positions[i] - water.positions[o]) for i in range(3) if i != o]
    np.testing.assert_allclose(oh, 0.96, atol=0.03)
    assert water.formula == "H2O" and M.load_molecule("ethanol").formula == "C2H6O"
    # Symmetric molecules have no dipole; polar ones do, and it points from + to - charge consistently.
    assert np.linalg.norm(M.load_molecule("benzene").dipole()) < 1e-4
    assert np.linalg.norm(M.load_molecule("methane").dipole()) < 1e-4
    assert np.linalg.norm(M.load_molecule("formaldehyde").dipole()) > 0.3


def test_rotation_check_invariant_and_equivariant() -> None:
    rng = np.random.default_rng(1)
    for name in ("ethanol", "caffeine", "acetic_acid"):
        mol = M.load_molecule(name)
        for _ in range(3):
            R = _random_rotation(rng)
            check = M.rotation_check(mol, R)
            assert check.invariant_max_abs_change < 1e-12
            assert check.dipole_equivariance_error < 1e-12
            assert check.dipole_naive_change > 1e-3  # a random rotation does move the dipole
            metrics = check.metrics()
            assert metrics["dipole_norm_debye"] == pytest.approx(check.dipole_norm * M.E_ANGSTROM_TO_DEBYE)
            assert json.dumps(metrics)
    # A translation-free dipole: moving the molecule does not change it.
    mol = M.load_molecule("water")
    np.testing.assert_allclose(mol.with_positions(mol.positions + 5.0).dipole(), mol.dipole(), atol=1e-12)


def test_rotation_accepts_torch_and_rejects_non_rotations() -> None:
    import torch

    mol = M.load_molecule("ammonia")
    R = _random_rotation(np.random.default_rng(2))
    np.testing.assert_allclose(mol.rotated(torch.from_numpy(R)).positions, mol.positions @ R.T)
    with pytest.raises(ValueError, match=r"\[3, 3\]"):
        mol.rotated(np.eye(2))
    with pytest.raises(ValueError, match="orthogonal"):
        M.rotation_check(mol, 2 * np.eye(3))
    with pytest.raises(TypeError, match="Molecule"):
        M.rotation_check("ammonia", np.eye(3))


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match="unknown molecule 'unobtainium'.*caffeine.*water"):
        M.load_molecule("unobtainium")
    assert M.load_molecule("Acetic-Acid").name == "acetic_acid"
    with pytest.raises(TypeError, match="name"):
        M.load_molecule(3)


def test_modified_file_fails_the_checksum(tmp_path) -> None:
    root = tmp_path / "molecules"
    shutil.copytree(M.DEFAULT_MOLECULES_DIR, root)
    path = root / "water.xyz"
    path.write_text(path.read_text().replace("\nO ", "\nS ", 1))
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        M.load_molecule("water", root=root)
    assert M.load_molecule("water", root=root, verify=False).symbols[0] == "S"
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        M.load_molecule("water", root=tmp_path / "empty")


def test_extxyz_round_trip_and_ase(tmp_path) -> None:
    mol = M.load_molecule("caffeine")
    path = M.write_extxyz(mol, tmp_path / "c.xyz")
    again = M.read_extxyz(path.read_text(), name="caffeine")
    assert again.symbols == mol.symbols and again.info == mol.info
    np.testing.assert_allclose(again.positions, mol.positions, atol=1e-8)
    np.testing.assert_allclose(again.charges, mol.charges, atol=1e-8)
    ase_io = pytest.importorskip("ase.io")
    atoms = ase_io.read(M.DEFAULT_MOLECULES_DIR / "caffeine.xyz")
    np.testing.assert_allclose(atoms.positions, mol.positions)
    np.testing.assert_allclose(atoms.arrays["gasteiger_charge"], mol.charges)
    converted = to_ase(mol)
    np.testing.assert_allclose(converted.get_initial_charges(), mol.charges)
    assert converted.get_chemical_formula() == atoms.get_chemical_formula()
    with pytest.raises(ValueError, match="Properties"):
        M.read_extxyz("1\nProperties=species:S:1:pos:R:3\nH 0 0 0\n")


def test_molecule_validates_inputs() -> None:
    with pytest.raises(ValueError, match="positions must have shape"):
        M.Molecule("x", ["H", "H"], np.zeros((3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="charges must have shape"):
        M.Molecule("x", ["H", "H"], np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        M.Molecule("x", ["H"], [[0.0, np.inf, 0.0]], [0.0])
    with pytest.raises(ValueError, match="at least one atom"):
        M.Molecule("x", [], np.zeros((0, 3)), np.zeros(0))


def test_builder_reproduces_the_shipped_files(tmp_path) -> None:
    rdkit = pytest.importorskip("rdkit")
    shipped = json.loads((M.DEFAULT_MOLECULES_DIR / "manifest.json").read_text())
    if rdkit.__version__ != shipped["rdkit_version"]:
        pytest.skip(f"shipped files were built with RDKit {shipped['rdkit_version']}, this is {rdkit.__version__}")
    manifest = M.build_molecules(tmp_path, seed=shipped["seed"])
    assert manifest["files"] == shipped["files"]  # byte-identical files (same sha256)
    with pytest.raises(ValueError, match="seed"):
        M.build_molecules(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="unknown molecule"):
        M.build_molecules(tmp_path, names=["kryptonite"])

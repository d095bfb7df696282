"""Your own molecule: XYZ (plain, extended, multi-frame), SDF/MOL, PDB, CIF files, ASE Atoms and RDKit Mol.

Each file is written by the test (by ASE or RDKit, independent writers) and read back both by
workbench.data.molecules and by ASE / RDKit as references.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.data import molecules as M

ETHANOL = M.load_molecule("ethanol")


def _atoms(molecule: M.Molecule = ETHANOL):
    ase = pytest.importorskip("ase")
    return ase.Atoms(list(molecule.symbols), positions=molecule.positions)


def test_plain_xyz_as_most_programs_write_it(tmp_path: Path) -> None:
    path = tmp_path / "water.xyz"
    path.write_text("3\nwater, written by hand\nO 0.0 0.0 0.117\nh 0.757 0.0 -0.469\n1 -0.757 0.0 -0.469 extra\n")
    (mol,) = M.read_molecules(path)
    assert mol.symbols == ("O", "H", "H") and mol.name == "water"
    np.testing.assert_allclose(mol.positions[2], [-0.757, 0.0, -0.469])
    assert mol.info["charges"] == "none" and np.all(mol.charges == 0) and np.all(mol.dipole() == 0)
    assert mol.info["comment"] == "water, written by hand" and mol.info["source"] == str(path)
    assert M.load_molecule(path).symbols == mol.symbols  # a Path
    assert M.load_molecule(str(path)).symbols == mol.symbols  # a string naming a file
    assert M.Molecule.from_file(path).formula == "H2O"
    ase_io = pytest.importorskip("ase.io")  # ASE as reference (it wants symbols, not "h" or "1")
    reference = tmp_path / "water_symbols.xyz"
    reference.write_text(path.read_text().replace("\nh ", "\nH ").replace("\n1 ", "\nH "))
    assert ase_io.read(reference).get_chemical_symbols() == list(mol.symbols)
    np.testing.assert_allclose(ase_io.read(reference).positions, mol.positions)


def test_multi_frame_xyz_and_extxyz_written_by_ase(tmp_path: Path) -> None:
    ase_io = pytest.importorskip("ase.io")
    R = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    atoms = [_atoms(), _atoms(ETHANOL.rotated(R)), _atoms(ETHANOL.with_positions(ETHANOL.positions * 1.01))]
    atoms[0].set_initial_charges(ETHANOL.charges)
    for name, fmt in (("traj.xyz", "xyz"), ("traj.extxyz", "extxyz")):
        ase_io.write(tmp_path / name, atoms, format=fmt)
        frames = M.read_molecules(tmp_path / name)
        reference = ase_io.read(tmp_path / name, index=":")
        assert len(frames) == len(reference) == 3
        for frame, ref in zip(frames, reference):
            assert list(frame.symbols) == ref.get_chemical_symbols()
            np.testing.assert_allclose(frame.positions, ref.positions, atol=1e-8)
        assert [f.name for f in frames] == [f"traj[{i}]" for i in range(3)]
        assert M.Molecule.from_file(tmp_path / name, index=-1).positions[0, 0] == pytest.approx(
            1.01 * ETHANOL.positions[0, 0], abs=1e-6)
    extxyz = M.read_molecules(tmp_path / "traj.extxyz")  # ASE writes the charges of frame 0 as a column
    np.testing.assert_allclose(extxyz[0].charges, ETHANOL.charges, atol=1e-8)
    np.testing.assert_allclose(extxyz[0].dipole(), ETHANOL.dipole(), atol=1e-7)
    with pytest.raises(ValueError, match="index must be in"):
        M.Molecule.from_file(tmp_path / "traj.xyz", index=3)


def test_shipped_extxyz_reads_the_same_through_read_xyz() -> None:
    text = (M.DEFAULT_MOLECULES_DIR / "caffeine.xyz").read_text()
    (mol,) = M.read_xyz(text)
    shipped = M.load_molecule("caffeine")
    assert mol.symbols == shipped.symbols and mol.name == "caffeine"
    np.testing.assert_allclose(mol.positions, shipped.positions)
    np.testing.assert_allclose(mol.charges, shipped.charges)


@pytest.mark.parametrize("suffix", [".pdb", ".cif"])
def test_pdb_and_cif_through_ase(tmp_path: Path, suffix: str) -> None:
    ase_io = pytest.importorskip("ase.io")
    path = tmp_path / f"ethanol{suffix}"
    ase_io.write(path, _atoms())
    mol = M.Molecule.from_file(path)
    reference = ase_io.read(path)
    assert list(mol.symbols) == reference.get_chemical_symbols() and mol.name == "ethanol"
    np.testing.assert_allclose(mol.positions, reference.positions, atol=1e-6)
    np.testing.assert_allclose(mol.positions, ETHANOL.positions, atol=1e-3)  # PDB keeps 3 decimals
    assert mol.sorted_distances() == pytest.approx(ETHANOL.sorted_distances(), abs=5e-3)


def _embedded_ethanol():
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    assert AllChem.EmbedMolecule(mol, randomSeed=7) == 0
    mol.SetProp("_Name", "my_ethanol")
    return Chem, AllChem, mol


@pytest.mark.parametrize("suffix", [".sdf", ".mol"])
def test_sdf_and_mol_through_rdkit(tmp_path: Path, suffix: str) -> None:
    Chem, AllChem, mol = _embedded_ethanol()
    path = tmp_path / f"ethanol{suffix}"
    if suffix == ".mol":
        Chem.MolToMolFile(mol, str(path))
    else:
        with Chem.SDWriter(str(path)) as writer:
            writer.write(mol)
            writer.write(mol)
    frames = M.read_molecules(path)
    assert len(frames) == (2 if suffix == ".sdf" else 1)
    reference = Chem.MolFromMolFile(str(path), removeHs=False) if suffix == ".mol" else next(
        iter(Chem.SDMolSupplier(str(path), removeHs=False)))
    np.testing.assert_allclose(frames[0].positions, reference.GetConformer().GetPositions(), atol=1e-4)
    copy = Chem.Mol(reference)
    AllChem.ComputeGasteigerCharges(copy)
    np.testing.assert_allclose(frames[0].charges, [a.GetDoubleProp("_GasteigerCharge") for a in copy.GetAtoms()])
    assert frames[0].formula == "C2H6O" and frames[0].info["charges"] == "gasteiger"
    assert np.linalg.norm(frames[0].dipole()) > 0.1


def test_from_ase_and_from_rdkit_objects() -> None:
    ase_io = pytest.importorskip("ase.io")
    shipped = ase_io.read(M.DEFAULT_MOLECULES_DIR / "water.xyz")  # ASE reads the shipped charges column
    water = M.Molecule.from_ase(shipped)
    reference = M.load_molecule("water")
    np.testing.assert_allclose(water.charges, reference.charges)
    np.testing.assert_allclose(water.dipole(), reference.dipole(), atol=1e-12)
    assert water.info["charges"] == "gasteiger_charge"
    plain = M.Molecule.from_ase(_atoms(), name="mine")
    assert plain.name == "mine" and plain.info["charges"] == "none"
    with pytest.raises(TypeError, match="ase.Atoms"):
        M.Molecule.from_ase(ETHANOL)

    Chem, _, mol = _embedded_ethanol()
    converted = M.Molecule.from_rdkit(mol)
    assert converted.name == "my_ethanol" and converted.info["smiles"] == "CCO"
    np.testing.assert_allclose(converted.positions, mol.GetConformer().GetPositions())
    assert np.all(M.Molecule.from_rdkit(mol, charges="none").charges == 0)
    with pytest.raises(ValueError, match="no conformer"):
        M.Molecule.from_rdkit(Chem.MolFromSmiles("CCO"))
    with pytest.raises(ValueError, match="charges must be"):
        M.Molecule.from_rdkit(mol, charges="formal")
    with pytest.raises(TypeError, match="rdkit.Chem.Mol"):
        M.Molecule.from_rdkit("CCO")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("x\ncomment\nO 0 0 0\n", "expected the atom count"),
        ("3\ncomment\nO 0 0 0\n", "says 3 atoms"),
        ("1\ncomment\nO 0 0\n", "expected 4 columns"),
        ("1\ncomment\nQq 0 0 0\n", "'Qq' is not an element"),
        ("1\ncomment\nO 0 zero 0\n", "coordinates must be numbers"),
        ("1\ncomment\n200 0 0 0\n", "atomic number 200"),
        ("1\ncomment\nO 0 nan 0\n", "finite"),
        ("1\nProperties=species:S:1:velo:R:3\nO 0 0 0\n", "pos:R:3"),
        ("1\nProperties=species:S:1:pos:R\nO 0 0 0\n", "triples"),
    ],
)
def test_bad_xyz_files_raise_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        M.read_molecules(path)
    assert str(path) in str(info.value)


def test_bad_paths_and_names(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no molecule file"):
        M.read_molecules(tmp_path / "missing.xyz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="unknown suffix '.txt'.*\\.xyz"):
        M.read_molecules(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="unknown molecule 'unobtainium'.*water.*path to your own file"):
        M.load_molecule("unobtainium")
    with pytest.raises(FileNotFoundError):
        M.load_molecule("no/such/file.xyz")
    with pytest.raises(TypeError, match="path must be"):
        M.read_molecules(3)
    (tmp_path / "broken.sdf").write_text("not an sdf\n")
    pytest.importorskip("rdkit")
    with pytest.raises(ValueError, match="broken.sdf"):
        M.read_molecules(tmp_path / "broken.sdf")

"""MoleculeViewer: bundled 3Dmol.js asset, no network URLs in the widget code, trait validation and updates."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
import traitlets

from widgets import STYLES, MoleculeViewer, arrow, dipole_arrow
from widgets.molecule_viewer import STATIC_DIR, library_source, viewer_source
from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, load_molecule

pytestmark = pytest.mark.unit

EXTERNAL_IMPORT = re.compile(r"""(\bfrom\s*["']https?://|\bimport\s*\(\s*["']https?://|<script[^>]+src=["']https?:)""")


def test_bundled_3dmol_is_the_documented_release() -> None:
    path = STATIC_DIR / "3Dmol.es6-min.js"
    data = path.read_bytes()
    documented = re.search(r"sha256 of `3Dmol.es6-min.js`: `([0-9a-f]{64})`", (STATIC_DIR / "README.md").read_text())
    assert documented, "widgets/static/README.md must state the bundled file's sha256"
    assert hashlib.sha256(data).hexdigest() == documented.group(1)
    assert len(data) > 400_000  # the real minified build, not a placeholder
    banner = (STATIC_DIR / "3Dmol.es6-min.js.LICENSE.txt").read_text()
    assert "3dmol v2.5.5" in banner
    assert "BSD" in (STATIC_DIR / "3Dmol-LICENSE.txt").read_text()
    source = library_source()
    assert "function createViewer" in source
    assert re.search(r"export\{[^}]*\bcreateViewer\b", source), "the build must export createViewer (ES module)"


def test_widget_front_end_loads_nothing_from_the_network() -> None:
    own = viewer_source()
    assert not re.search(r"https?://", own), "the widget's own JS must not mention any http(s) URL"
    for css in STATIC_DIR.glob("*.css"):
        assert not re.search(r"https?://", css.read_text()), css
    esm = MoleculeViewer._esm
    assert esm == library_source() + "\n" + own
    assert not EXTERNAL_IMPORT.search(esm), EXTERNAL_IMPORT.search(esm)
    assert esm.rstrip().endswith("export default __workbenchMoleculeViewer;")


def test_from_molecule_sets_traits() -> None:
    mol = load_molecule("ethanol")
    viewer = MoleculeViewer.from_molecule(mol, show_dipole=True, style="stick", height=300)
    assert viewer.symbols == list(mol.symbols)
    np.testing.assert_array_equal(viewer.positions_array, mol.positions)
    assert isinstance(viewer.positions, list) and isinstance(viewer.positions[0], list)
    assert viewer.style == "stick" and viewer.height == 300
    (spec,) = viewer.arrows
    np.testing.assert_allclose(np.subtract(spec["end"], spec["start"]), 2.0 * E_ANGSTROM_TO_DEBYE * mol.dipole(),
                               atol=1e-12)
    state = viewer.get_state()
    assert state["positions"] == viewer.positions and state["symbols"] == viewer.symbols
    assert MoleculeViewer.from_molecule(mol).arrows == []


def test_positions_update_is_synced_and_observable() -> None:
    mol = load_molecule("water")
    viewer = MoleculeViewer.from_molecule(mol)
    seen = []
    viewer.observe(lambda change: seen.append(change["new"]), names="positions")
    shifted = mol.positions + np.array([1.0, 0.0, 0.0])
    viewer.positions = shifted
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], shifted)
    other = load_molecule("ammonia")
    viewer.show_molecule(other, show_dipole=True)
    assert viewer.symbols == list(other.symbols) and len(viewer.arrows) == 1


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("positions", [[0.0, 0.0]], "shape"),
        ("positions", np.zeros((2, 4)), "shape"),
        ("positions", [[0.0, np.nan, 0.0]], "finite"),
        ("style", "cartoon", "style must be one of"),
        ("arrows", [{"start": [0, 0, 0]}], "'start' and 'end'"),
        ("arrows", [{"start": [0, 0, 0], "end": [1, 2]}], "end must be 3 finite numbers"),
        ("arrows", [{"start": [0, 0, 0], "end": [1, 2, 3], "radius": -1}], "radius"),
        ("height", 10, "at least 50"),
        ("symbols", ["C", "not an element"], "element symbols"),
    ],
)
def test_invalid_traits_are_rejected(trait: str, value: object, message: str) -> None:
    viewer = MoleculeViewer(symbols=["O", "H"], positions=[[0, 0, 0], [0.96, 0, 0]])
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(viewer, trait, value)


def test_arrow_helpers_validate() -> None:
    assert arrow([0, 0, 0], [1, 0, 0])["end"] == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="start"):
        arrow([0, 0], [1, 0, 0])
    with pytest.raises(TypeError, match="color"):
        arrow([0, 0, 0], [1, 0, 0], color="")
    with pytest.raises(TypeError, match="Molecule"):
        dipole_arrow("ethanol")
    with pytest.raises(ValueError, match="scale"):
        dipole_arrow(load_molecule("water"), scale=0)
    assert set(STYLES) == {"ball_and_stick", "stick", "sphere", "line"}


def test_no_synced_trait_is_named_style() -> None:
    """ipywidgets' DOMWidgetView reads a synced ``style`` as a style-model reference (create_child_view on it threw
    "Cannot read properties of undefined (reading 'then')" in the page); the preset is synced as ``draw_style``."""
    viewer = MoleculeViewer(symbols=["O", "H"], positions=[[0, 0, 0], [0.96, 0, 0]], style="sphere")
    state = viewer.get_state()
    assert "style" not in state and state["draw_style"] == "sphere"
    viewer.style = "line"
    assert viewer.get_state()["draw_style"] == "line" and viewer.style == "line"


def test_dipole_arrow_is_scaled_in_debye_and_stands_out() -> None:
    from widgets import DIPOLE_COLOR, DIPOLE_SCALE

    mol = load_molecule("ethanol")
    spec = dipole_arrow(mol)
    length = np.linalg.norm(np.subtract(spec["end"], spec["start"]))
    debye = np.linalg.norm(mol.dipole()) * E_ANGSTROM_TO_DEBYE
    assert length == pytest.approx(DIPOLE_SCALE * debye, rel=1e-12)
    radius = np.linalg.norm(mol.positions - mol.positions.mean(axis=0), axis=1).max()
    assert length > radius, (length, radius)  # the arrow reaches out of the molecule (was ~0.7 Å inside it)
    assert spec["color"] == DIPOLE_COLOR and DIPOLE_COLOR.lower() not in ("red", "#ff0000", "white", "grey")
    assert spec["radius"] >= 0.12


def test_viewer_from_a_user_xyz_file_and_a_trajectory(tmp_path) -> None:
    path = tmp_path / "water.xyz"
    path.write_text("3\nmine\nO 0 0 0.117\nH 0.757 0 -0.469\nH -0.757 0 -0.469\n")
    viewer = MoleculeViewer.from_file(path)
    assert viewer.symbols == ["O", "H", "H"] and viewer.frames == []
    np.testing.assert_allclose(viewer.positions_array[0], [0, 0, 0.117])

    frames = "".join(f"2\nframe {i}\nH 0 0 0\nH 0 0 {0.7 + 0.1 * i}\n" for i in range(4))
    (tmp_path / "h2.xyz").write_text(frames)
    traj = MoleculeViewer.from_file(tmp_path / "h2.xyz")
    assert len(traj.frames) == 4 and traj.frame == 0
    assert traj.positions_array[1, 2] == pytest.approx(0.7)
    traj.frame = 3  # what the front end's frame slider sets
    assert traj.positions_array[1, 2] == pytest.approx(1.0)
    assert traj.get_state()["frame"] == 3
    with pytest.raises(traitlets.TraitError, match="frame must be in"):
        traj.frame = 4
    traj.show_molecule(load_molecule("water"))
    assert traj.frames == [] and traj.frame == 0


def test_viewer_from_ase_atoms_and_list_and_rdkit_mol() -> None:
    ase = pytest.importorskip("ase")
    mol = load_molecule("ethanol")
    atoms = ase.Atoms(list(mol.symbols), positions=mol.positions, charges=mol.charges)
    viewer = MoleculeViewer.from_ase(atoms, show_dipole=True)
    assert viewer.symbols == list(mol.symbols) and len(viewer.arrows) == 1
    np.testing.assert_allclose(viewer.positions_array, mol.positions)
    moved = atoms.copy()
    moved.positions += [1.0, 0.0, 0.0]
    traj = MoleculeViewer.from_ase([atoms, moved], show_dipole=True)
    assert len(traj.frames) == 2
    traj.frame = 1
    np.testing.assert_allclose(traj.positions_array, mol.positions + [1.0, 0.0, 0.0])
    np.testing.assert_allclose(traj.arrows[0]["start"], mol.positions.mean(axis=0) + [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="same atoms"):
        MoleculeViewer.from_ase([atoms, ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])])
    with pytest.raises(ValueError, match="non-empty"):
        MoleculeViewer.from_ase([])
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem

    rd = Chem.AddHs(Chem.MolFromSmiles("O"))
    AllChem.EmbedMolecule(rd, randomSeed=1)
    water = MoleculeViewer.from_rdkit(rd, show_dipole=True)
    assert water.symbols == ["O", "H", "H"] and len(water.arrows) == 1


def test_frames_trait_is_validated() -> None:
    viewer = MoleculeViewer(symbols=["H", "H"], positions=[[0, 0, 0], [0, 0, 0.74]])
    with pytest.raises(traitlets.TraitError, match=r"frames\[1\] has 3 atoms"):
        viewer.frames = [[[0, 0, 0], [0, 0, 1]], [[0, 0, 0], [0, 0, 1], [1, 0, 0]]]
    with pytest.raises(traitlets.TraitError, match="finite"):
        viewer.frames = [[[0, 0, np.nan], [0, 0, 1]]]

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
    np.testing.assert_allclose(np.subtract(spec["end"], spec["start"]), 2.0 * E_ANGSTROM_TO_DEBYE * mol.dipole(), atol=1e-12)
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

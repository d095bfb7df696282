"""Your own molecule in a real JupyterLab + Chromium: a user's XYZ file, an ASE ``Atoms`` and a trajectory render
in MoleculeViewer (canvas drawn, atom count in the widget's state), and the trajectory's frame slider works."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from browser_harness import element_colour_count, run_notebook_in_lab
from timeouts import scaled_ms

pytestmark = pytest.mark.browser

# A user's plain XYZ (as most programs write it: lower-case symbol, an atomic number, a trailing column).
WATER_XYZ = "3\nmy water\nO 0.000 0.000 0.117\nh 0.757 0.000 -0.469\n1 -0.757 0.000 -0.469 0.0\n"
# A 3-frame trajectory of a stretching H-F bond.
HF_TRAJECTORY = "".join(f"2\nstep {i}\nF 0 0 0\nH 0 0 {0.9 + 0.2 * i:.2f}\n" for i in range(3))

CELLS = [
    "import ase\n"
    "from IPython.display import display\n"
    "from widgets import MoleculeViewer\n"
    "from workbench.data.molecules import load_molecule\n"
    "ethanol = load_molecule('ethanol')\n"
    "atoms = ase.Atoms(list(ethanol.symbols), positions=ethanol.positions, charges=ethanol.charges)",
    "from_file = MoleculeViewer.from_file('user_water.xyz', height=300)\n"
    "from_ase = MoleculeViewer.from_ase(atoms, show_dipole=True, height=300)\n"
    "trajectory = MoleculeViewer.from_file('user_hf_traj.xyz', height=300)\n"
    "for v, tag in ((from_file, 'file'), (from_ase, 'ase'), (trajectory, 'trajectory')):\n"
    "    v.add_class(f'wb-test-{tag}')\n"
    "    display(v)",
]


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _drawn_viewer(guarded_page, tag: str, atoms: str):
    page = guarded_page.page
    viewer = page.locator(f".wb-test-{tag} .wb-molecule-viewer")
    viewer.wait_for(state="visible", timeout=scaled_ms(60))
    page.wait_for_function(
        "([tag, n]) => { const v = document.querySelector(`.wb-test-${tag} .wb-molecule-viewer`);"
        " return v && v.dataset.atoms === n && Number(v.dataset.renderCount) >= 1; }",
        arg=[tag, atoms], timeout=scaled_ms(30))
    assert viewer.get_attribute("data-webgl") in ("webgl2", "webgl"), f"{tag}: 3Dmol.js got no WebGL context"
    canvas = viewer.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, (tag, box)
    pixels = element_colour_count(guarded_page, canvas)
    assert pixels["colours"] > 20 and pixels["dominant_fraction"] < 0.995, f"{tag}: the view looks blank {pixels}"
    return viewer


def test_user_xyz_file_ase_atoms_and_trajectory_render(lab_server, guarded_page, tmp_path: Path) -> None:
    (lab_server.root / "user_water.xyz").write_text(WATER_XYZ)
    (lab_server.root / "user_hf_traj.xyz").write_text(HF_TRAJECTORY)
    source = tmp_path / "own_molecule.ipynb"
    _write_notebook(source)
    path = lab_server.add_notebook(source)
    state = run_notebook_in_lab(guarded_page, lab_server, path)
    assert state["errors"] == [], f"error outputs: {state['errors']}"
    assert state["executed"] == state["n_code"], state
    page = guarded_page.page

    _drawn_viewer(guarded_page, "file", "3")  # the user's water: O, H, H
    _drawn_viewer(guarded_page, "ase", "9")  # ethanol as an ase.Atoms
    trajectory = _drawn_viewer(guarded_page, "trajectory", "2")
    assert page.locator(".wb-test-file .wb-molecule-frames").is_hidden()  # one structure: no frame slider

    # The trajectory's frame slider: step to the last frame; the view redraws it and the kernel follows.
    assert trajectory.get_attribute("data-frames") == "3" and trajectory.get_attribute("data-frame") == "0"
    slider = page.locator(".wb-test-trajectory .wb-molecule-frames input[type=range]")
    assert slider.is_visible()
    before = int(trajectory.get_attribute("data-render-count"))
    slider.fill("2")  # sets the value and fires input
    page.wait_for_function(
        "(n) => { const v = document.querySelector('.wb-test-trajectory .wb-molecule-viewer');"
        " return v.dataset.frame === '2' && Number(v.dataset.renderCount) > n; }",
        arg=before, timeout=scaled_ms(30))
    assert "frame 3 / 3" in page.locator(".wb-test-trajectory .wb-molecule-frames").inner_text()

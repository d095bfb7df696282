"""Orbitals in the offline molecule viewer, in a real JupyterLab + Chromium: widgets.OrbitalViewer shows a water
orbital from the shipped PBE/def2-SVP H as +-iso isosurfaces (3Dmol's addVolumetricData on cube text) in the true and
predicted views; the isosurfaces add colour to the canvas against the same molecule drawn without them, and the
orbital selector redraws both views. Needs PySCF (the 'qc' extra) to evaluate the AOs on the grid."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from browser_harness import element_colour_count, run_notebook_in_lab
from timeouts import scaled_ms

pytestmark = pytest.mark.browser

CELLS = [
    "from IPython.display import display\n"
    "from widgets import MoleculeViewer, OrbitalViewer\n"
    "from workbench.hamiltonian import load_hamiltonians\n"
    "from workbench.hamiltonian.eigen import generalized_eigh\n"
    "from workbench.hamiltonian.orbitals import orbitals_on_grid\n"
    "d = load_hamiltonians('water')\n"
    "_, C = generalized_eigh(d.H[0], d.S[0])\n"
    "_, C2 = generalized_eigh(d.H[1], d.S[1])\n"
    "g1 = orbitals_on_grid(d.z.tolist(), d.pos[0].numpy(), C[:, 3:6].numpy(), d.basis, spacing=0.3)\n"
    "g2 = orbitals_on_grid(d.z.tolist(), d.pos[0].numpy(), C2[:, 3:6].numpy(), d.basis, spacing=0.3)\n"
    "viewer = OrbitalViewer(d.z.tolist(), d.pos[0].numpy(), g1, g2, ['3', '4 (HOMO)', '5 (LUMO)'], height=300)\n"
    "viewer.add_class('wb-test-orbitals')\n"
    "plain = MoleculeViewer(['O', 'H', 'H'], d.pos[0].numpy(), style='stick', height=300)\n"
    "plain.add_class('wb-test-plain')\n"
    "display(viewer)\n"
    "display(plain)",
]


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_orbital_isosurfaces_render_and_follow_the_selector(lab_server, guarded_page, tmp_path: Path) -> None:
    pytest.importorskip("pyscf")
    source = tmp_path / "orbitals.ipynb"
    _write_notebook(source)
    path = lab_server.add_notebook(source)
    state = run_notebook_in_lab(guarded_page, lab_server, path)
    assert state["errors"] == [], f"error outputs: {state['errors']}"
    page = guarded_page.page
    page.wait_for_function(
        "() => { const vs = document.querySelectorAll('.wb-test-orbitals .wb-molecule-viewer');"
        " return vs.length === 2 && [...vs].every(v => v.dataset.volumes === '2' && v.dataset.atoms === '3'"
        " && Number(v.dataset.renderCount) >= 1); }", timeout=scaled_ms(60))
    page.wait_for_function(
        "() => { const v = document.querySelector('.wb-test-plain .wb-molecule-viewer');"
        " return v && v.dataset.volumes === '0' && Number(v.dataset.renderCount) >= 1; }", timeout=scaled_ms(30))
    views = page.locator(".wb-test-orbitals .wb-molecule-viewer")
    for i in range(2):
        assert views.nth(i).get_attribute("data-webgl") in ("webgl2", "webgl")
    orbital = element_colour_count(guarded_page, views.nth(0).locator("canvas").first)
    plain = element_colour_count(guarded_page, page.locator(".wb-test-plain .wb-molecule-viewer canvas").first)
    assert orbital["colours"] > 20 and orbital["dominant_fraction"] < 0.995, orbital
    # the isosurfaces cover part of the white background that the bare molecule leaves
    assert orbital["dominant_fraction"] < plain["dominant_fraction"], (orbital, plain)

    before = [int(views.nth(i).get_attribute("data-render-count")) for i in range(2)]
    page.locator(".wb-test-orbitals select").select_option(label="5 (LUMO)")
    page.wait_for_function(
        "(before) => { const vs = document.querySelectorAll('.wb-test-orbitals .wb-molecule-viewer');"
        " return [...vs].every((v, i) => Number(v.dataset.renderCount) > before[i]); }",
        arg=before, timeout=scaled_ms(30))

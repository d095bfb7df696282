"""SpectraExplorer in a real JupyterLab + Chromium, offline: Cu3Au renders in 3D beside its four panels, switching
to neutrons changes the plotted S(Q), and choosing Cu colours its 24 atoms and shows its pair curves.

A screenshot of the explorer is written to ``$WORKBENCH_SCREENSHOT_DIR/spectra_explorer.png`` when that variable is
set (the pytest tmp folder otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from browser_harness import element_colour_count, run_notebook_in_lab
from timeouts import scaled_ms

pytestmark = pytest.mark.browser

CELLS = [
    "import numpy as np\n"
    "from widgets import SpectraExplorer, SpectraSettings, SpectraStructure\n"
    "fcc = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])\n"
    "cu3au = SpectraStructure(('Au', 'Cu', 'Cu', 'Cu'), fcc * 3.75, np.eye(3) * 3.75, 'Cu3Au')\n"
    "nu = np.linspace(0, 8, 51)\n"
    "dos = (nu, nu**2 * np.exp(-((nu - 5) / 1.5) ** 2))  # a user-supplied DOS for the fourth panel",
    "explorer = SpectraExplorer(cu3au, settings=SpectraSettings(supercell=2, n_q=200, n_r=300, r_max=10.0), "
    "dos=dos)\n"
    "explorer",
]

PLOT_SUM_JS = """
(prefix) => {
  const plots = Array.from(document.querySelectorAll('.workbench-spectra-explorer .js-plotly-plot'));
  const gd = plots.find((p) => ((p.layout || {}).title || {}).text?.startsWith(prefix));
  if (!gd || !gd.data || !gd.data[0].y) return null;
  return Array.from(gd.data[0].y).reduce((a, b) => a + Number(b), 0);
}
"""
STATUS_JS = ("(key) => { const s = document.querySelector('.workbench-spectra-explorer .workbench-spectra-status');"
             " return s ? s.dataset[key] : null; }")
VISIBLE_PARTIALS_JS = """
() => {
  const plots = Array.from(document.querySelectorAll('.workbench-spectra-explorer .js-plotly-plot'));
  const gd = plots.find((p) => ((p.layout || {}).title || {}).text?.startsWith('S(Q)'));
  return gd.data.filter((t) => t.name.includes('contribution') && t.visible === true).map((t) => t.name.split(' ')[0]);
}
"""


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_spectra_explorer_renders_and_radiation_changes_s_of_q(lab_server, guarded_page, tmp_path: Path) -> None:
    source = tmp_path / "spectra_explorer.ipynb"
    _write_notebook(source)
    path = lab_server.add_notebook(source)
    state = run_notebook_in_lab(guarded_page, lab_server, path)
    assert state["errors"] == [], f"error outputs: {state['errors']}"
    page = guarded_page.page

    explorer = page.locator(".workbench-spectra-explorer")
    explorer.first.wait_for(state="visible", timeout=scaled_ms(60))
    page.wait_for_function("() => document.querySelectorAll('.workbench-spectra-explorer .js-plotly-plot')"
                           ".length === 4", timeout=scaled_ms(60), polling=500)
    panels = ["S(Q)", "G(r)", "powder pattern", "phonon DOS"]
    try:
        page.wait_for_function(f"(ps) => ps.every((p) => ({PLOT_SUM_JS})(p) !== null)", arg=panels,
                               timeout=scaled_ms(90), polling=500)
    except Exception as err:
        drawn = {p: page.evaluate(PLOT_SUM_JS, p) for p in panels}
        raise AssertionError(f"not every panel was drawn: sums {drawn}; console errors "
                             f"{guarded_page.console_errors[:5]}") from err
    # the 3D view: 2 x 2 x 2 cells of Cu3Au = 32 atoms, drawn with WebGL and not blank
    viewer = explorer.locator(".wb-molecule-viewer")
    page.wait_for_function("() => { const v = document.querySelector('.workbench-spectra-explorer "
                           ".wb-molecule-viewer'); return v && v.dataset.atoms === '32' && "
                           "Number(v.dataset.renderCount) >= 1; }", timeout=scaled_ms(60), polling=500)
    assert viewer.get_attribute("data-webgl") in ("webgl2", "webgl")
    canvas = viewer.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    pixels = element_colour_count(guarded_page, canvas)
    assert pixels["colours"] > 20 and pixels["dominant_fraction"] < 0.995, f"the 3D view looks blank {pixels}"

    assert page.evaluate(STATUS_JS, "radiation") == "xray"
    xray = page.evaluate(PLOT_SUM_JS, "S(Q)")
    explorer.locator(".widget-toggle-button", has_text="neutron").click()
    page.wait_for_function(f"() => ({STATUS_JS})('radiation') === 'neutron'", timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"(before) => Math.abs(({PLOT_SUM_JS})('S(Q)') - before) > 1e-3", arg=xray,
                           timeout=scaled_ms(60), polling=500)
    assert "neutron" in page.evaluate("() => Array.from(document.querySelectorAll('.workbench-spectra-explorer "
                                      ".js-plotly-plot .gtitle')).map((t) => t.textContent).join('|')")

    # choose Cu: its 24 atoms are coloured in the view and its pair contributions appear in S(Q)
    dropdown = explorer.locator(".widget-dropdown", has=page.locator(".widget-label", has_text="highlight element"))
    dropdown.locator("select").select_option(label="Cu")
    page.wait_for_function("() => { const v = document.querySelector('.workbench-spectra-explorer "
                           ".wb-molecule-viewer'); return v && v.dataset.highlighted === '24'; }",
                           timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"() => ({VISIBLE_PARTIALS_JS})().length === 2", timeout=scaled_ms(60), polling=500)
    assert sorted(page.evaluate(VISIBLE_PARTIALS_JS)) == ["Cu-Au", "Cu-Cu"]

    folder = Path(os.environ.get("WORKBENCH_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2200})  # the whole explorer in one picture
    page.wait_for_timeout(2000)  # let the relayout and the last redraw of the 3D view land before the picture
    explorer.first.screenshot(path=str(folder / "spectra_explorer.png"))
    assert (folder / "spectra_explorer.png").stat().st_size > 10_000

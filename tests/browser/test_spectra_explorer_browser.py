"""SpectraExplorer in a real JupyterLab + Chromium, offline: Cu3Au renders in 3D beside its four panels (2 x 2
subplots of one plotly figure, each drawn in the DOM), switching to neutrons changes the plotted S(Q), and choosing
Cu colours its 24 atoms and shows its pair curves.

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
pytest.importorskip("phonopy", reason="the DOS panel is computed with phonopy (the spectra extra)")

CELLS = [
    "import numpy as np\n"
    "from widgets import SpectraExplorer, SpectraSettings, SpectraStructure\n"
    "fcc = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])\n"
    "cu3au = SpectraStructure(('Au', 'Cu', 'Cu', 'Cu'), fcc * 3.75, np.eye(3) * 3.75, 'Cu3Au')\n"
    "from ase import Atoms\n"
    "from workbench.scattering import compute_phonons\n"
    "# the fourth panel: Cu3Au's phonon DOS from phonopy with ASE's EMT (the spectra extra), about a second\n"
    "phonons = compute_phonons(Atoms('AuCu3', scaled_positions=fcc, cell=np.eye(3) * 3.75, pbc=True))\n"
    "dos = (phonons.centres, phonons.dos)",
    "explorer = SpectraExplorer(cu3au, settings=SpectraSettings(supercell=2, n_q=200, n_r=300, r_max=10.0), "
    "dos=dos)\n"
    "explorer",
]

# The explorer draws its four panels as 2 x 2 subplots of ONE plotly figure; each trace's ``meta`` names its panel.
FIGURE_JS = "document.querySelector('.workbench-spectra-explorer .js-plotly-plot')"
PLOT_SUM_JS = f"""
(panel) => {{
  const gd = {FIGURE_JS};
  const trace = gd && gd.data ? gd.data.find((t) => t.meta === panel) : null;
  if (!trace || !trace.y || !trace.y.length) return null;
  return Array.from(trace.y).reduce((a, b) => a + Number(b), 0);
}}
"""
# Drawn, not just sent: per subplot (xy = S(Q), x2y2 = G(r), x3y3 = powder, x4y4 = DOS) the number of line paths
# plotly.js has drawn in its SVG with a non-trivial path.
DRAWN_JS = """
() => ['xy', 'x2y2', 'x3y3', 'x4y4'].map((id) => Array.from(document.querySelectorAll(
  `.workbench-spectra-explorer .js-plotly-plot .cartesianlayer .subplot.${id} .scatterlayer .trace path.js-line`))
  .filter((p) => (p.getAttribute('d') || '').length > 20).length)
"""
STATUS_JS = ("(key) => { const s = document.querySelector('.workbench-spectra-explorer .workbench-spectra-status');"
             " return s ? s.dataset[key] : null; }")
VISIBLE_PARTIALS_JS = f"""
() => {FIGURE_JS}.data.filter((t) => t.meta === 'sq' && t.name.includes('contribution') && t.visible === true)
  .map((t) => t.name.split(' ')[0])
"""
TITLES_JS = ("() => Array.from(document.querySelectorAll('.workbench-spectra-explorer .js-plotly-plot "
             ".annotation-text')).map((t) => t.textContent)")


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
    # one plotly figure (not four: several FigureWidgets in one output left all but the last undrawn under load)
    page.wait_for_function("() => document.querySelectorAll('.workbench-spectra-explorer .js-plotly-plot')"
                           ".length === 1", timeout=scaled_ms(60), polling=500)
    # drawn in the DOM: S(Q) 1 line, G(r) 2 (direct and from F(Q)), powder 1, DOS 1 (pair curves start hidden)
    try:
        page.wait_for_function(f"() => {{ const n = ({DRAWN_JS})(); return n[0] >= 1 && n[1] >= 2 && n[2] >= 1 && "
                               "n[3] >= 1; }", timeout=scaled_ms(90), polling=500)
    except Exception as err:
        raise AssertionError(f"not every panel was drawn: lines per subplot {page.evaluate(DRAWN_JS)}; console "
                             f"errors {guarded_page.console_errors[:5]}") from err
    panels = ["sq", "gr", "powder", "dos"]
    drawn = {p: page.evaluate(PLOT_SUM_JS, p) for p in panels}
    assert all(v is not None for v in drawn.values()), drawn
    titles = page.evaluate(TITLES_JS)
    assert [t.split(",")[0].split(":")[0] for t in titles] == ["S(Q)", "G(r)", "powder pattern", "phonon DOS"], titles
    # the 3D view: 2 x 2 x 2 cells of Cu3Au = 32 atoms, drawn with WebGL and not blank
    viewer = explorer.locator(".wb-molecule-viewer")
    page.wait_for_function("() => { const v = document.querySelector('.workbench-spectra-explorer "
                           ".wb-molecule-viewer'); return v && v.dataset.atoms === '32' && "
                           "Number(v.dataset.renderCount) >= 1 && ['webgl2', 'webgl'].includes(v.dataset.webgl); }",
                           timeout=scaled_ms(60), polling=500)  # the GL context comes once the view has a size
    canvas = viewer.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    pixels = element_colour_count(guarded_page, canvas)
    assert pixels["colours"] > 20 and pixels["dominant_fraction"] < 0.995, f"the 3D view looks blank {pixels}"

    assert page.evaluate(STATUS_JS, "radiation") == "xray"
    xray = page.evaluate(PLOT_SUM_JS, "sq")
    explorer.locator(".widget-toggle-button", has_text="neutron").click()
    page.wait_for_function(f"() => ({STATUS_JS})('radiation') === 'neutron'", timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"(before) => Math.abs(({PLOT_SUM_JS})('sq') - before) > 1e-3", arg=xray,
                           timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"() => ({TITLES_JS})()[0].startsWith('S(Q), neutron')", timeout=scaled_ms(60),
                           polling=500)

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
    page.set_viewport_size({"width": 1400, "height": 1800})  # the whole explorer, all four panels, in one picture
    explorer.first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => {{ const n = ({DRAWN_JS})(); return n[0] >= 3 && n[1] >= 4; }}",
                           timeout=scaled_ms(60), polling=500)  # S(Q) and G(r) with the Cu pair curves
    page.wait_for_timeout(2000)  # let the relayout and the last redraw of the 3D view land before the picture
    box = explorer.first.bounding_box()
    plot = page.locator(".workbench-spectra-explorer .js-plotly-plot .main-svg").first.bounding_box()
    assert box and plot and plot["y"] + plot["height"] <= box["y"] + box["height"] + 1 and \
        plot["x"] + plot["width"] <= box["x"] + box["width"] + 1, f"the panels stick out of the explorer {box} {plot}"
    explorer.first.screenshot(path=str(folder / "spectra_explorer.png"))
    assert (folder / "spectra_explorer.png").stat().st_size > 10_000

"""PartitionExplorer in a real JupyterLab + Chromium, offline: a 500-node Delaunay graph bisected by METIS is drawn
(mesh edges, two parts and the red separator, the ND-reordered matrix and its factor), choosing k = 4 redraws four
parts, choosing spectral adds a row to the table. Fails on any request leaving 127.0.0.1 (the fixture).

A screenshot is written to ``$WORKBENCH_SCREENSHOT_DIR/partition_explorer.png`` when that variable is set (the
pytest tmp folder otherwise)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from browser_harness import run_notebook_in_lab
from timeouts import scaled_ms

pytestmark = pytest.mark.browser
pytest.importorskip("pymetis", reason="the METIS method needs the 'partition' extra")

CELLS = [
    "from widgets import PartitionExplorer\n"
    "explorer = PartitionExplorer('delaunay', 500, 'metis', 2)\n"
    "explorer",
]

FIGURE_JS = "document.querySelector('.workbench-partition-explorer .js-plotly-plot')"
# points sent to plotly.js per panel: visible part traces and their point counts, separator, matrix, factor
TRACES_JS = f"""
() => {{
  const gd = {FIGURE_JS};
  if (!gd || !gd.data) return null;
  const n = (t) => (t && t.x ? t.x.length : 0);
  const parts = gd.data.filter((t) => t.meta === 'part' && t.visible !== false && n(t) > 0).map(n);
  const get = (m) => gd.data.find((t) => t.meta === m);
  return {{parts, separator: get('separator').visible === false ? 0 : n(get('separator')),
           matrix: n(get('matrix')), factor: n(get('factor')), edges: n(get('edges'))}};
}}
"""
# drawn, not just sent: the mesh's edges as SVG line paths (one per edge: the NaN gaps split the line), and the
# WebGL canvases plotly uses for the points
DRAWN_JS = """
() => {
  const root = document.querySelector('.workbench-partition-explorer .js-plotly-plot');
  if (!root) return {edges: 0, gl: 0};
  const edges = Array.from(root.querySelectorAll('.scatterlayer .trace path.js-line'))
    .filter((p) => (p.getAttribute('d') || '').length > 5).length;
  const gl = Array.from(root.querySelectorAll('canvas')).filter((c) => c.width > 0 && c.height > 0).length;
  return {edges, gl};
}
"""
STATUS_JS = ("(key) => { const s = document.querySelector('.workbench-partition-explorer "
             ".workbench-partition-status'); return s ? s.dataset[key] : null; }")
TABLE_ROWS_JS = ("() => Array.from(document.querySelectorAll('.workbench-partition-explorer "
                 "table.workbench-partition-table tbody tr')).map((r) => r.cells[0].textContent.trim())")


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_partition_explorer_renders_and_follows_k_and_method(lab_server, guarded_page, tmp_path: Path) -> None:
    source = tmp_path / "partition_explorer.ipynb"
    _write_notebook(source)
    path = lab_server.add_notebook(source)
    state = run_notebook_in_lab(guarded_page, lab_server, path)
    assert state["errors"] == [], f"error outputs: {state['errors']}"
    page = guarded_page.page

    explorer = page.locator(".workbench-partition-explorer")
    explorer.first.wait_for(state="visible", timeout=scaled_ms(60))
    try:
        page.wait_for_function(f"() => {{ const t = ({TRACES_JS})(); const d = ({DRAWN_JS})(); return t && "
                               "t.parts.length === 2 && t.separator > 0 && t.matrix > 0 && t.factor > 0 && "
                               "d.edges >= 1000 && d.gl >= 1; }", timeout=scaled_ms(90), polling=500)
    except Exception as err:
        raise AssertionError(f"the explorer was not drawn: {page.evaluate(TRACES_JS)} {page.evaluate(DRAWN_JS)}; "
                             f"console errors {guarded_page.console_errors[:5]}") from err
    traces = page.evaluate(TRACES_JS)
    assert sum(traces["parts"]) + traces["separator"] == 500, traces
    assert traces["factor"] >= traces["matrix"], traces  # fill-in: L + U holds at least A's pattern
    assert page.evaluate(STATUS_JS, "method") == "metis" and page.evaluate(STATUS_JS, "k") == "2"
    assert page.evaluate(TABLE_ROWS_JS) == ["metis"]

    explorer.locator(".widget-toggle-button", has_text=re.compile(r"^\s*4\s*$")).click()
    page.wait_for_function(f"() => ({STATUS_JS})('k') === '4' && ({STATUS_JS})('parts') === '4'",
                           timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"() => {{ const t = ({TRACES_JS})(); return t && t.parts.length === 4 && "
                           "t.separator === 0; }", timeout=scaled_ms(60), polling=500)
    assert sum(page.evaluate(TRACES_JS)["parts"]) == 500

    dropdown = explorer.locator(".widget-dropdown", has=page.locator(".widget-label", has_text="method"))
    dropdown.locator("select").select_option(label="spectral")
    page.wait_for_function(f"() => ({STATUS_JS})('method') === 'spectral'", timeout=scaled_ms(60), polling=500)
    page.wait_for_function(f"() => ({TABLE_ROWS_JS})().length === 2", timeout=scaled_ms(60), polling=500)
    assert sorted(page.evaluate(TABLE_ROWS_JS)) == ["metis", "spectral"]

    folder = Path(os.environ.get("WORKBENCH_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    explorer.first.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    box = explorer.first.bounding_box()
    plot = page.locator(".workbench-partition-explorer .js-plotly-plot .main-svg").first.bounding_box()
    assert box and plot and plot["x"] + plot["width"] <= box["x"] + box["width"] + 1, \
        f"the panels stick out of the explorer {box} {plot}"
    explorer.first.screenshot(path=str(folder / "partition_explorer.png"))
    assert (folder / "partition_explorer.png").stat().st_size > 10_000

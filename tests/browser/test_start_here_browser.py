"""START_HERE.ipynb in a real JupyterLab + Chromium: runs clean, the 3D view and plotly render, nothing external;
a rotation slider turns the molecule, a number changes and the invariant stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import element_colour_count, run_notebook_in_lab
from timeouts import scaled_ms

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
START_HERE = REPO_ROOT / "notebooks" / "START_HERE.ipynb"


def test_start_here_renders_offline(lab_server, guarded_page) -> None:
    path = lab_server.add_notebook(START_HERE)
    state = run_notebook_in_lab(guarded_page, lab_server, path)
    page = guarded_page.page

    assert state["errors"] == [], f"error outputs: {state['errors']}"
    assert state["executed"] == state["n_code"], state

    # The 3D view: one viewer, a WebGL canvas with a real picture in it.
    viewer = page.locator(".wb-molecule-viewer")
    viewer.first.wait_for(state="visible", timeout=scaled_ms(60))
    assert viewer.count() == 1
    canvas = viewer.locator("canvas")
    assert canvas.count() >= 1, "the viewer has no canvas"
    assert viewer.get_attribute("data-atoms") == "9"  # ethanol, the default parameter
    assert viewer.get_attribute("data-webgl") in ("webgl2", "webgl"), "3Dmol.js got no WebGL context"
    box = canvas.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box
    pixels = element_colour_count(guarded_page, canvas.first)
    assert pixels["colours"] > 20, f"the 3D view looks blank: {pixels}"
    assert pixels["dominant_fraction"] < 0.995, f"the 3D view is nearly one colour: {pixels}"

    # Moving a rotation slider rotates the coordinates: the view re-renders with positions sent from the kernel,
    # a number in the readout changes (the dipole turns) and the invariant stays (sorted distances).
    readout = page.locator(".wb-rotation-readout")
    readout.first.wait_for(state="visible", timeout=scaled_ms(60))
    dipole_x = readout.first.get_attribute("data-dipole-after-x")
    shortest = float(readout.first.get_attribute("data-shortest-distance"))
    before = int(viewer.get_attribute("data-render-count"))
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(n) => Number(document.querySelector('.wb-molecule-viewer').dataset.renderCount) > n", arg=before,
        timeout=scaled_ms(20),
    )
    page.wait_for_function(
        "(old) => document.querySelector('.wb-rotation-readout').dataset.dipoleAfterX !== old", arg=dipole_x,
        timeout=scaled_ms(30),
    )
    new_x = float(readout.first.get_attribute("data-dipole-after-x"))
    assert abs(new_x - float(dipole_x)) > 1e-3, (dipole_x, new_x)
    assert float(readout.first.get_attribute("data-shortest-distance")) == pytest.approx(shortest, abs=1e-12)
    assert float(readout.first.get_attribute("data-invariant-change")) < 1e-9
    assert "D" in readout.first.inner_text()

    # Plotly: the two live figures (FigureWidgets, plotly.js from the installed package) and the explorer's.
    plots = page.locator(".js-plotly-plot")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 6", timeout=scaled_ms(60))
    assert page.locator(".js-plotly-plot .main-svg").count() >= 6
    assert page.locator(".js-plotly-plot .bars .point").count() >= 9  # 3 series x 3 components
    assert plots.count() >= 6
    page.locator(".workbench-equivariance-explorer").wait_for(state="visible", timeout=scaled_ms(60))

    # The notebook wrote its results in the server's root (output_dir defaults to runs/start_here).
    assert (lab_server.root / "runs" / "start_here" / "metrics.json").is_file()

"""IrrepsExplorer and TensorProductExplorer in a real JupyterLab + Chromium, offline.

Tutorials 03 and 04 are opened and run in the browser (no error output, no request leaving 127.0.0.1 — the
``guarded_page`` fixture fails the test otherwise); then the explorers are driven like a student would: moving
the ``beta`` rotation slider redraws the coefficient bars, picking another irrep redraws the CG heatmaps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_coverage import TUTORIALS_RUN_IN_BROWSER
from browser_harness import element_colour_count, run_notebook_in_lab
from timeouts import scaled, scaled_ms

pytestmark = pytest.mark.browser

TUTORIALS = Path(__file__).resolve().parents[2] / "notebooks" / "tutorials"

_BAR_PATHS_JS = """
() => Array.from(document.querySelectorAll('.workbench-irreps-coefficients .js-plotly-plot .bars .point path'))
           .map((p) => p.getAttribute('d'))
"""


def _number_after(anchor: str, text: str, sign: str) -> float:
    """The first number after ``anchor`` and then ``sign`` in ``text`` (e.g. "max = 1.2e-15" -> 1.2e-15)."""
    tail = text[text.index(anchor):]
    match = re.search(re.escape(sign) + r"\s*([-+0-9.eE]+)", tail)
    assert match, f"no number after {anchor!r} in {text!r}"
    return float(match.group(1))


def _run(lab_server, guarded_page, name: str) -> None:
    path = lab_server.add_notebook(TUTORIALS / name)
    state = run_notebook_in_lab(guarded_page, lab_server, path, timeout_s=scaled(180))
    assert state["errors"] == [], f"{name}: error outputs {state['errors']}"
    assert state["executed"] == state["n_code"], state


def test_irreps_explorer_slider_redraws_the_plots(lab_server, guarded_page) -> None:
    _run(lab_server, guarded_page, "03_so3_spherical_harmonics.ipynb")
    page = guarded_page.page
    explorer = page.locator(".workbench-irreps-explorer")
    explorer.wait_for(state="visible", timeout=scaled_ms(60))
    page.wait_for_function(
        "() => document.querySelectorAll('.workbench-irreps-explorer .js-plotly-plot').length === 3",
        timeout=scaled_ms(60))  # surface, bars, heatmap
    page.wait_for_function(f"() => ({_BAR_PATHS_JS})().length === 5", timeout=scaled_ms(60))  # l = 2: five bars
    surface = explorer.locator(".workbench-irreps-surface .js-plotly-plot")
    surface.scroll_into_view_if_needed()
    pixels = element_colour_count(guarded_page, surface)
    assert pixels["colours"] > 20, f"the spherical-harmonic surface looks blank: {pixels}"

    before = page.evaluate(_BAR_PATHS_JS)
    status_before = explorer.locator(".workbench-irreps-status").inner_text()
    handle = explorer.locator(".widget-slider", has=page.locator(".widget-label", has_text="beta")).locator(
        ".noUi-handle")
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(f"(old) => JSON.stringify(({_BAR_PATHS_JS})()) !== JSON.stringify(old)", arg=before,
                           timeout=scaled_ms(30))
    after = page.evaluate(_BAR_PATHS_JS)
    assert len(after) == 5 and after != before
    page.wait_for_function(
        "(old) => document.querySelector('.workbench-irreps-status').innerText !== old", arg=status_before,
        timeout=scaled_ms(30))
    status = explorer.locator(".workbench-irreps-status").inner_text()
    assert _number_after("Y_m(g", status, "=") < 1e-10, status  # the live check stays at rounding level


def test_tensor_product_explorer_irrep_choice_redraws_the_heatmaps(lab_server, guarded_page) -> None:
    _run(lab_server, guarded_page, "04_tensor_products_clebsch_gordan.ipynb")
    page = guarded_page.page
    explorer = page.locator(".workbench-tensor-product-explorer")
    explorer.wait_for(state="visible", timeout=scaled_ms(60))
    heatmaps = explorer.locator(".workbench-cg-heatmaps .js-plotly-plot g.hm")
    page.wait_for_function(
        "() => document.querySelectorAll('.workbench-cg-heatmaps .js-plotly-plot g.hm').length === 3",
        timeout=scaled_ms(60))  # 1o x 1o = 0e + 1e + 2e
    assert "1o x 1o = 0e + 1e + 2e" in explorer.locator(".workbench-decomposition").inner_text()

    dropdown = explorer.locator(".widget-dropdown", has=page.locator(".widget-label", has_text="irrep 2"))
    dropdown.locator("select").select_option("2e")
    page.wait_for_function(
        "() => (document.querySelector('.workbench-tensor-product-explorer .workbench-decomposition') || {})"
        ".innerText.includes('1o x 2e = 1o + 2o + 3o')", timeout=scaled_ms(60))
    assert heatmaps.count() == 3
    table = explorer.locator(".workbench-decomposition").inner_text()
    assert "3 x 5 = 15" in table and "OK" in table

    dropdown.locator("select").select_option("0e")
    page.wait_for_function(
        "() => document.querySelectorAll('.workbench-cg-heatmaps .js-plotly-plot g.hm').length === 1",
        timeout=scaled_ms(60))
    assert "1o x 0e = 1o" in explorer.locator(".workbench-decomposition").inner_text()
    check = explorer.locator(".workbench-intertwining").inner_text()
    assert _number_after("max", check, "=") < 1e-9, check


# Widgets each remaining tutorial must show once it ran: CSS selector -> minimum count.
RENDERED = {
    "00_api_tour.ipynb": {},
    "01_symmetry_and_groups.ipynb": {".wb-molecule-viewer canvas": 1, ".widget-slider": 3},
    "02_representations.ipynb": {".js-plotly-plot": 1},
    "05_lie_algebras.ipynb": {},
    "06_lorentz_and_su3.ipynb": {".workbench-cg-heatmaps .js-plotly-plot g.hm": 2},
    "07_equivariant_networks.ipynb": {},
    "08_lie_derivative.ipynb": {".js-plotly-plot .bars": 1},
    "10_from_structure_to_spectrum.ipynb": {".workbench-spectra-explorer .js-plotly-plot": 1,
                                            ".workbench-spectra-explorer .subplot.xy .scatterlayer .trace": 1,
                                            ".workbench-spectra-explorer .subplot.x3y3 .scatterlayer .trace": 1,
                                            ".workbench-spectra-explorer .wb-molecule-viewer canvas": 1},
}


@pytest.mark.parametrize("name", sorted(RENDERED), ids=lambda n: n.split("_")[0])
def test_tutorial_runs_and_renders_offline(lab_server, guarded_page, name: str) -> None:
    if not (TUTORIALS / name).is_file():
        pytest.fail(f"tutorial {name} is missing")
    _run(lab_server, guarded_page, name)
    page = guarded_page.page
    for selector, minimum in RENDERED[name].items():
        page.wait_for_function("([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, minimum],
                               timeout=scaled_ms(60))
    failed = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert failed.count() == 0, (f"{failed.count()} widget outputs failed to render; first: "
                                 f"{failed.first.inner_text()[:500]!r}; console errors: "
                                 f"{guarded_page.console_errors[:5]}")


def test_browser_coverage_list_is_what_these_tests_run() -> None:
    """make test skips the headless execution of exactly these tutorials (tests/browser_coverage.py)."""
    explorers = {"03_so3_spherical_harmonics.ipynb", "04_tensor_products_clebsch_gordan.ipynb"}
    assert TUTORIALS_RUN_IN_BROWSER == set(RENDERED) | explorers
    assert all((TUTORIALS / name).is_file() for name in TUTORIALS_RUN_IN_BROWSER)

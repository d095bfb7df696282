"""The harness catches a viewer whose 3Dmol.js would come from a CDN: the request is blocked, recorded, and the
view does not render. This is what keeps test_start_here_browser honest."""

from __future__ import annotations

import nbformat
import pytest
from browser_harness import run_notebook_in_lab
from timeouts import scaled_ms, timeout_factor

pytestmark = pytest.mark.browser

CDN_URL = "https://cdn.jsdelivr.net/npm/3dmol@2.5.5/build/3Dmol.es6-min.js"

CDN_VIEWER_CELL = f'''
from widgets.molecule_viewer import MoleculeViewer, viewer_source
from workbench.data.molecules import load_molecule

class CdnMoleculeViewer(MoleculeViewer):
    """The real viewer code, but with 3Dmol.js imported from a CDN instead of the bundled copy."""
    _esm = 'import {{ createViewer }} from "{CDN_URL}";\\n' + viewer_source()

CdnMoleculeViewer.from_molecule(load_molecule("water"))
'''

# Control in the same page: the bundled viewer still renders there.
BUNDLED_VIEWER_CELL = '''
from widgets import MoleculeViewer
MoleculeViewer.from_molecule(load_molecule("ammonia"))
'''


def test_external_script_is_blocked_and_reported(lab_server, guarded_page) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (CDN_VIEWER_CELL, BUNDLED_VIEWER_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (lab_server.root / "cdn_viewer.ipynb").write_text(nbformat.writes(nb))

    state = run_notebook_in_lab(guarded_page, lab_server, "cdn_viewer.ipynb")
    assert state["errors"] == [], state  # the kernel side is fine; the failure is in the browser
    page = guarded_page.page
    for _ in range(round(80 * timeout_factor())):  # the import comes when the view renders: 20 s
        if any(CDN_URL in entry for entry in guarded_page.external):
            break
        page.wait_for_timeout(250)

    assert any(CDN_URL in entry for entry in guarded_page.external), guarded_page.external
    # Only the control (ammonia, 4 atoms) rendered; the CDN viewer (water, 3 atoms) never got a view.
    page.locator(".wb-molecule-viewer canvas").first.wait_for(state="visible", timeout=scaled_ms(60))
    page.wait_for_timeout(scaled_ms(1))
    views = page.locator(".wb-molecule-viewer")
    assert views.count() == 1, "the CDN viewer rendered despite the block"
    assert views.get_attribute("data-atoms") == "4"
    guarded_page.allow_external = True  # expected here: this test proves the guard catches it
    guarded_page.allow_page_errors = True
    # the blocked import also surfaces as an uncaught error in the page (the failed fetch of the module, or
    # anywidget's failed model initialisation, or both): the page-error guard sees it too
    signs = ("Failed to fetch dynamically imported module", "[anywidget] Failed to initialize model")
    for _ in range(round(80 * timeout_factor())):
        if any(sign in e for e in guarded_page.page_errors for sign in signs):
            break
        page.wait_for_timeout(250)
    assert any(sign in e for e in guarded_page.page_errors for sign in signs), guarded_page.page_errors

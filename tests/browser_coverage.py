"""Which notebooks the browser tests execute in full (every code cell run in a real JupyterLab kernel, failing on
any error output): ``make test``'s parallel phase skips their headless papermill execution
(``-m "not browser_covered"``), since its browser phase runs them anyway; ``make test-fast`` and a plain
``pytest`` still execute them headlessly. tests/browser/test_teaching_widgets.py checks this list against what it
runs."""

TUTORIALS_RUN_IN_BROWSER = frozenset({
    "00_api_tour.ipynb",
    "01_symmetry_and_groups.ipynb",
    "02_representations.ipynb",
    "03_so3_spherical_harmonics.ipynb",
    "04_tensor_products_clebsch_gordan.ipynb",
    "05_lie_algebras.ipynb",
    "06_lorentz_and_su3.ipynb",
    "07_equivariant_networks.ipynb",
    "08_lie_derivative.ipynb",
    "10_from_structure_to_spectrum.ipynb",
})

"""Plotly figures of the invariant and the equivariant vector; offline renderer and offline HTML files."""

from __future__ import annotations

import re

import numpy as np
import plotly.io as pio
import pytest

from widgets import dipole_figure, distances_figure, rotation_matrix, use_offline_plotly, write_figure_html
from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, load_molecule, rotation_check

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def check():
    return rotation_check(load_molecule("ethanol"), rotation_matrix(0.7, 1.1, -0.4))


def test_offline_renderer_is_the_jupyterlab_mimetype(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pio.renderers, "default", "browser")
    assert use_offline_plotly() == "plotly_mimetype"
    assert pio.renderers.default == "plotly_mimetype"
    assert "connected" not in pio.renderers.default and "cdn" not in pio.renderers.default


def test_figures_show_the_computed_numbers(check) -> None:
    fig = distances_figure(check)
    before, after = fig.data
    np.testing.assert_array_equal(before.y, check.distances_before)
    np.testing.assert_array_equal(after.y, check.distances_after)
    assert len(before.y) == 9 * 8 // 2
    fig = dipole_figure(check)
    mu, mu_rotated_mol, rotated_mu = (np.asarray(t.y) for t in fig.data)
    np.testing.assert_allclose(mu, E_ANGSTROM_TO_DEBYE * check.dipole_before)
    np.testing.assert_allclose(mu_rotated_mol, rotated_mu, atol=1e-12)
    assert np.abs(mu - mu_rotated_mol).max() > 0.1  # the dipole moved: not invariant
    with pytest.raises(TypeError, match="RotationCheck"):
        distances_figure({"distances": []})


def test_html_uses_a_local_plotly_js(check, tmp_path) -> None:
    path = write_figure_html(dipole_figure(check), tmp_path / "figs" / "dipole.html")
    html = path.read_text()
    assert '<script charset="utf-8" src="plotly.min.js"></script>' in html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)
    assert "cdn.plot.ly" not in html and "mathjax" not in html.lower().replace("mathjaxconfig", "")
    local = tmp_path / "figs" / "plotly.min.js"
    assert local.stat().st_size > 1_000_000  # the real plotly.js, copied from the installed package
    with pytest.raises(ValueError, match=".html"):
        write_figure_html(dipole_figure(check), tmp_path / "x.png")

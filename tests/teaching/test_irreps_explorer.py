"""The numbers IrrepsExplorer shows: rotated spherical harmonics through Wigner D, and the widget wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from widgets import irreps_explorer as ie

pytestmark = pytest.mark.unit

ANGLES = (0.3, 1.2, -0.7)


def test_sphere_points_are_unit_vectors_on_a_closed_grid() -> None:
    points = ie.sphere_points(10)
    assert points.shape == (10, 20, 3)
    np.testing.assert_allclose(np.linalg.norm(points, axis=-1), 1.0, atol=1e-15)
    np.testing.assert_allclose(points[:, 0], points[:, -1], atol=1e-12)  # seam duplicated
    np.testing.assert_allclose(points[0, :, 2], 1.0)  # north pole row
    np.testing.assert_allclose(points[-1, :, 2], -1.0)


@pytest.mark.parametrize("l", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("parity", [False, True])
def test_rotating_through_wigner_D_equals_rotating_the_argument(l: int, parity: bool) -> None:
    for m in range(-l, l + 1):
        view = ie.harmonic_view(l, m, "integral", *ANGLES, parity=parity, resolution=12)
        assert view.check_error < 1e-10, (l, m, view.check_error)
        # D(g) is orthogonal, so the coefficient vector of a rotated unit-norm basis function has norm 1
        assert np.linalg.norm(view.coefficients) == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(view.wigner_D @ view.wigner_D.T, np.eye(2 * l + 1), atol=1e-12)


def test_degree_one_is_the_vector_representation() -> None:
    R = ie.rotation_matrix(*ANGLES)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(R) == pytest.approx(1.0)
    # 1o components are (x, y, z) = m = -1, 0, 1, and D(R) = R
    for m, column in zip((-1, 0, 1), range(3)):
        view = ie.harmonic_view(1, m, "component", *ANGLES)
        np.testing.assert_allclose(view.coefficients, R[:, column], atol=1e-12)
        inverted = ie.harmonic_view(1, m, "component", *ANGLES, parity=True)
        np.testing.assert_allclose(inverted.coefficients, -R[:, column], atol=1e-12)
        assert view.irrep == "1o"


@pytest.mark.parametrize("l", [0, 1, 2, 3, 4])
def test_parity_multiplies_by_minus_one_to_the_l(l: int) -> None:
    plain = ie.group_element_wigner_D(l, *ANGLES)
    inverted = ie.group_element_wigner_D(l, *ANGLES, parity=True)
    np.testing.assert_allclose(inverted, (-1) ** l * plain, atol=0)
    assert ie.harmonic_view(l, 0, parity=True).irrep == f"{l}{'e' if l % 2 == 0 else 'o'}"


def test_identity_leaves_the_harmonic_alone() -> None:
    view = ie.harmonic_view(3, -2, "norm")
    expected = np.zeros(7)
    expected[1] = 1.0
    np.testing.assert_allclose(view.coefficients, expected, atol=1e-14)
    direct = ie.spherical_harmonic_values(3, view.points, "norm")[..., 1]
    np.testing.assert_allclose(view.values, direct, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(view.surface, axis=-1), np.abs(direct), atol=1e-14)


def test_the_check_catches_a_wrong_wigner_D() -> None:
    """Using D^T instead of D (the classic mistake) must give a large error, so the check is meaningful."""
    l, m = 2, 1
    D = ie.group_element_wigner_D(l, *ANGLES)
    points = ie.sphere_points(16)
    basis = ie.spherical_harmonic_values(l, points, "component")
    R = ie.rotation_matrix(*ANGLES)
    direct = ie.spherical_harmonic_values(l, points @ R, "component")[..., m + l]
    right = basis @ ie.rotated_coefficients(D, m)
    wrong = basis @ ie.rotated_coefficients(D.T, m)
    assert np.max(np.abs(right - direct)) < 1e-10
    assert np.max(np.abs(wrong - direct)) > 0.1


@pytest.mark.parametrize("l", [0, 1, 2, 4])
def test_normalizations(l: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    norm = ie.spherical_harmonic_values(l, x, "norm")
    np.testing.assert_allclose(np.linalg.norm(norm, axis=-1), 1.0, atol=1e-12)
    component = ie.spherical_harmonic_values(l, x, "component")
    np.testing.assert_allclose(np.sum(component**2, axis=-1), 2 * l + 1, atol=1e-10)
    integral = ie.spherical_harmonic_values(l, x, "integral")
    np.testing.assert_allclose(np.sum(integral**2, axis=-1), (2 * l + 1) / (4 * math.pi), atol=1e-10)
    # scaling the input does not matter (the points are projected on the sphere)
    np.testing.assert_allclose(ie.spherical_harmonic_values(l, 3.0 * x, "norm"), norm, atol=1e-12)


def test_spherical_harmonics_match_e3nn() -> None:
    pytest.importorskip("e3nn")
    from e3nn import o3 as e3nn_o3

    x = np.random.default_rng(1).normal(size=(50, 3))
    for l in range(5):
        for normalization in ie.NORMALIZATIONS:
            ours = ie.spherical_harmonic_values(l, x, normalization)
            theirs = e3nn_o3.spherical_harmonics(l, torch.from_numpy(x), True, normalization=normalization)
            np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(l=-1, m=0), ValueError, "l must be in"),
        (dict(l=1.5, m=0), TypeError, "l must be an int"),
        (dict(l=2, m=3), ValueError, "-l <= m <= l"),
        (dict(l=2, m=0, normalization="unit"), ValueError, "normalization must be one of"),
        (dict(l=2, m=0, alpha=float("nan")), ValueError, "alpha must be finite"),
        (dict(l=2, m=0, beta="0.3"), TypeError, "beta must be a real number"),
        (dict(l=2, m=0, parity="yes"), TypeError, "parity must be a bool"),
        (dict(l=2, m=0, resolution=2), ValueError, "resolution"),
    ],
)
def test_bad_input_is_rejected_clearly(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ie.harmonic_view(**kwargs)


def test_bad_points_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        ie.spherical_harmonic_values(1, np.ones((4, 2)))
    with pytest.raises(ValueError, match="non-zero"):
        ie.spherical_harmonic_values(1, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        ie.spherical_harmonic_values(1, np.array([[np.inf, 0, 0]]))
    with pytest.raises(ValueError, match="square"):
        ie.rotated_coefficients(np.ones((3, 2)), 0)


def test_widget_follows_its_controls() -> None:
    pytest.importorskip("ipywidgets")
    pytest.importorskip("plotly")
    explorer = ie.IrrepsExplorer(l=2, m=1, resolution=10)
    bars = explorer.coefficients_figure.data[0]
    assert len(bars.y) == 5
    np.testing.assert_allclose(bars.y, [0, 0, 0, 1, 0], atol=1e-14)

    explorer.controls["beta"].value = 0.9  # rotate: the coefficients and the surface change
    assert explorer.view.check_error < 1e-10
    np.testing.assert_allclose(explorer.coefficients_figure.data[0].y, explorer.view.coefficients)
    assert np.max(np.abs(np.asarray(explorer.coefficients_figure.data[0].y) - [0, 0, 0, 1, 0])) > 0.1
    np.testing.assert_allclose(np.asarray(explorer.wigner_figure.data[0].z), explorer.view.wigner_D)
    shown = explorer.outputs["coefficients"].outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert shown["data"][0]["type"] == "bar"  # the Output area holds the redrawn figure as plotly JSON

    explorer.controls["l"].value = 0  # m is clamped into the new range
    assert (explorer.controls["m"].min, explorer.controls["m"].max, explorer.controls["m"].value) == (0, 0, 0)
    assert len(explorer.coefficients_figure.data[0].y) == 1
    explorer.controls["l"].value = 3
    assert explorer.controls["m"].max == 3
    assert np.asarray(explorer.wigner_figure.data[0].z).shape == (7, 7)

    before = np.asarray(explorer.wigner_figure.data[0].z).copy()
    explorer.controls["parity"].value = True
    np.testing.assert_allclose(np.asarray(explorer.wigner_figure.data[0].z), -before, atol=1e-14)
    assert "3o" in explorer.status.value
    with pytest.raises(ValueError, match="l_max"):
        ie.IrrepsExplorer(l=5, l_max=4)

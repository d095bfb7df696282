"""rotation_matrix / RotationSliders: the e3nn Y-X-Y Euler convention and live updates of a linked viewer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from widgets import MoleculeViewer, RotationSliders, rotation_matrix
from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, load_molecule

pytestmark = pytest.mark.unit


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@pytest.mark.parametrize("angles", [(0.7, 1.1, -0.4), (0.0, 0.0, 0.0), (-3.0, 2.5, 1.2), (math.pi, 0.3, -math.pi)])
def test_rotation_matrix_is_y_x_y(angles: tuple[float, float, float]) -> None:
    a, b, g = angles
    R = rotation_matrix(a, b, g)
    assert R.dtype == np.float64 and R.shape == (3, 3)
    np.testing.assert_allclose(R, _ry(a) @ _rx(b) @ _ry(g), atol=1e-14)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-14)


def test_rotation_matrix_matches_e3nn() -> None:
    pytest.importorskip("e3nn")
    import torch
    from e3nn import o3

    rng = np.random.default_rng(0)
    for a, b, g in rng.uniform(-math.pi, math.pi, size=(5, 3)):
        ours = rotation_matrix(float(a), float(b), float(g))
        theirs = o3.angles_to_matrix(*(torch.tensor(float(x), dtype=torch.float64) for x in (a, b, g)))
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-14)


def test_rotation_matrix_rejects_bad_angles() -> None:
    with pytest.raises(TypeError, match="alpha"):
        rotation_matrix("0.1", 0.0, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        rotation_matrix(0.0, 0.0, float("nan"))
    with pytest.raises(TypeError, match="beta"):
        rotation_matrix(0.0, True, 0.0)


def test_sliders_drive_callbacks_and_a_linked_viewer() -> None:
    mol = load_molecule("ethanol")
    viewer = MoleculeViewer.from_molecule(mol, show_dipole=True)
    sliders = RotationSliders(0.7, 1.1, -0.4)
    assert sliders.angles == pytest.approx((0.7, 1.1, -0.4))
    seen = []
    sliders.observe(seen.append)
    sliders.link(viewer, mol)
    R0 = rotation_matrix(0.7, 1.1, -0.4)
    np.testing.assert_allclose(viewer.positions_array, mol.positions @ R0.T, atol=1e-12)

    sliders.beta.value = -0.5
    R1 = rotation_matrix(0.7, -0.5, -0.4)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[-1], R1, atol=1e-15)
    np.testing.assert_allclose(viewer.positions_array, mol.positions @ R1.T, atol=1e-12)
    (spec,) = viewer.arrows  # the dipole arrow turned with the molecule
    np.testing.assert_allclose(np.subtract(spec["end"], spec["start"]), 2.0 * E_ANGSTROM_TO_DEBYE * R1 @ mol.dipole(),
                               atol=1e-12)

    sliders.angles = (0.0, 0.0, 0.0)
    np.testing.assert_allclose(viewer.positions_array, mol.positions, atol=1e-12)


def test_sliders_validate() -> None:
    with pytest.raises(ValueError, match="step"):
        RotationSliders(step=0)
    sliders = RotationSliders()
    with pytest.raises(TypeError, match="callable"):
        sliders.observe(42)
    with pytest.raises(TypeError, match="MoleculeViewer"):
        sliders.link("viewer", load_molecule("water"))
    with pytest.raises(ValueError, match=r"\[-pi, pi\]"):
        sliders.angles = (4.0, 0.0, 0.0)
    wrapped = RotationSliders(2 * math.pi + 0.5)  # out-of-range start angles wrap; the rotation is the same
    np.testing.assert_allclose(wrapped.matrix, rotation_matrix(0.5, 0.0, 0.0), atol=1e-12)


def test_rotation_demo_updates_numbers_and_plots_with_the_sliders() -> None:
    from widgets import RotationDemo
    from workbench.data.molecules import rotation_check

    mol = load_molecule("ethanol")
    demo = RotationDemo(mol, 0.7, 1.1, -0.4)
    R0 = rotation_matrix(0.7, 1.1, -0.4)
    np.testing.assert_allclose(demo.viewer.positions_array, mol.positions @ R0.T, atol=1e-12)
    reference = rotation_check(mol, R0)
    np.testing.assert_allclose(demo.check.dipole_after, reference.dipole_after, atol=1e-14)
    readout, dipole_y = demo.readout.value, np.array(demo.dipole_figure.data[1].y)
    distances_y = np.array(demo.distances_figure.data[1].y)
    assert "wb-rotation-readout" in readout and demo.metrics()["beta"] == pytest.approx(1.1)

    demo.sliders.beta.value = -0.5  # the equivariant turns ...
    R1 = rotation_matrix(0.7, -0.5, -0.4)
    np.testing.assert_allclose(demo.viewer.positions_array, mol.positions @ R1.T, atol=1e-12)
    np.testing.assert_allclose(demo.check.dipole_after, R1 @ mol.dipole(), atol=1e-12)
    np.testing.assert_allclose(demo.dipole_figure.data[1].y, E_ANGSTROM_TO_DEBYE * R1 @ mol.dipole(), atol=1e-12)
    assert np.abs(np.array(demo.dipole_figure.data[1].y) - dipole_y).max() > 0.1
    assert demo.readout.value != readout and f"{E_ANGSTROM_TO_DEBYE * (R1 @ mol.dipole())[0]:.6e}" in \
        demo.readout.value
    # ... the invariant stays
    np.testing.assert_allclose(demo.distances_figure.data[1].y, distances_y, atol=1e-12)
    assert demo.check.invariant_max_abs_change < 1e-12
    assert demo.metrics()["beta"] == pytest.approx(-0.5)
    with pytest.raises(TypeError, match="Molecule"):
        RotationDemo("ethanol")

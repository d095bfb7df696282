"""The EquivarianceExplorer's numbers and its widget wiring (no browser)."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.equivariance import PointMLP, SmallCNN, so3_on_points

pytestmark = pytest.mark.unit

explorer_module = pytest.importorskip("widgets.equivariance_explorer")
DT = torch.float64


def test_slider_parameters_reproduce_the_euler_rotation_and_the_boost() -> None:
    from workbench.groups.o3 import angles_to_matrix

    theta = explorer_module.slider_parameters("so3", {"alpha": 0.4, "beta": -1.2, "gamma": 2.5}, 3)
    expected = angles_to_matrix(*(torch.tensor(v, dtype=DT) for v in (0.4, -1.2, 2.5)))
    assert torch.allclose(so3_on_points().matrix(theta), expected, atol=1e-12)
    boost = explorer_module.slider_parameters("lorentz", {"rapidity": 0.8, "theta": math.pi / 2, "phi": 0.0}, 6)
    assert torch.allclose(boost, torch.tensor([0, 0, 0, 0.8, 0, 0], dtype=DT), atol=1e-15)


def test_explorer_state_error_is_zero_at_identity_and_nonzero_after_rotation() -> None:
    torch.manual_seed(0)
    model = PointMLP(6, 16).double()
    sample = torch.randn(6, 3, dtype=DT)
    _, rho_in, rho_out = explorer_module.group_representations("so3")
    at_identity = explorer_module.explorer_state(model, sample, rho_in, rho_out, torch.zeros(3, dtype=DT))
    assert at_identity.relative_error == 0.0
    rotated = explorer_module.explorer_state(model, sample, rho_in, rho_out, torch.tensor([0.0, 0.9, 0.0]))
    assert rotated.relative_error > 1e-3
    assert set(rotated.lie_norms) == {"rot_x", "rot_y", "rot_z"}
    assert sum(rotated.layer_norms.values()) > 0
    assert rotated.transformed_input.shape == (6, 3)


def test_explorer_state_equivariant_vector_output() -> None:
    sample = torch.randn(5, 3, dtype=DT)
    f = lambda p: p * (p * p).sum(-1, keepdim=True)
    _, rho_in, rho_out = explorer_module.group_representations("so3", so3_on_points())
    state = explorer_module.explorer_state(f, sample, rho_in, rho_out, torch.tensor([0.3, -0.7, 1.9]))
    assert state.relative_error <= 1e-12
    assert max(state.lie_norms.values()) <= 1e-8


def test_widget_reacts_to_sliders_for_points_and_images() -> None:
    pytest.importorskip("ipywidgets")
    torch.manual_seed(1)
    explorer = explorer_module.EquivarianceExplorer(PointMLP(6, 16).double(), torch.randn(6, 3, dtype=DT), "so3")
    assert explorer.state.relative_error == 0.0
    explorer.controls["beta"].value = 1.0
    assert explorer.state.relative_error > 1e-3
    assert f"{explorer.state.relative_error:.3e}" in explorer.output_figure.layout.title.text
    image = explorer_module.EquivarianceExplorer(SmallCNN(1, 3, 4).double(), torch.randn(1, 10, 10, dtype=DT),
                                                 "image")
    image.controls["angle"].value = 0.5
    assert image.state.relative_error > 0
    assert len(image.layer_figure.data[0].x) == len(image.state.layer_norms) > 0


@pytest.mark.parametrize("group, sample", [("so4", torch.zeros(3, 3, dtype=DT)),
                                           ("so3", torch.zeros(3, 4, dtype=DT)),
                                           ("image", torch.zeros(8, 8, dtype=DT))])
def test_explorer_rejects_bad_group_or_sample(group, sample) -> None:
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError):
        explorer_module.EquivarianceExplorer(lambda z: z.sum((-1, -2)), sample, group)

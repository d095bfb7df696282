"""Per-layer attribution: contributions sum to the total, and land on the symmetry-breaking layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from workbench.equivariance import (
    UNATTRIBUTED,
    PointMLP,
    PointNet,
    SmallCNN,
    VectorFeatureNet,
    chain_layers,
    euclidean_on_points,
    layerwise_lee,
    layerwise_lie_derivative,
    lie_derivative,
    rigid_on_images,
    so3_on_points,
)

pytestmark = pytest.mark.unit

DT = torch.float64

CASES = {
    "mlp": (lambda: PointMLP(6, 16).double(), lambda: torch.randn(3, 6, 3, dtype=DT), so3_on_points()),
    "pointnet": (lambda: PointNet(16).double(), lambda: torch.randn(3, 6, 3, dtype=DT), euclidean_on_points()),
    "vector-net": (lambda: VectorFeatureNet(8).double(), lambda: torch.randn(3, 6, 3, dtype=DT), so3_on_points()),
    "cnn": (lambda: SmallCNN(2, 3, 8).double(), lambda: torch.randn(2, 2, 8, 8, dtype=DT), rigid_on_images()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_contributions_sum_to_total(case: str) -> None:
    torch.manual_seed(0)
    make_model, make_x, rho = CASES[case]
    model, x = make_model().eval(), make_x()
    for gen in rho.generator_names:
        frame, contributions, total = layerwise_lie_derivative(model, x, rho, None, gen, return_tensors=True)
        assert torch.allclose(total, lie_derivative(model, x, rho, None, gen).detach(), rtol=1e-12, atol=1e-14)
        assert total.norm() > 0
        summed = torch.stack(list(contributions.values())).sum(0)
        assert float((summed - total).norm() / total.norm()) <= 1e-6
        assert frame.attrs["sum_error"] <= 1e-6
        assert list(frame["layer"])[:-1] == chain_layers(model)
        assert frame["layer"].iloc[-1] == UNATTRIBUTED
        assert frame["share"].sum() == pytest.approx(1.0, abs=1e-9)


def test_vector_network_attributes_everything_to_pointwise_nonlinearities() -> None:
    torch.manual_seed(1)
    model = VectorFeatureNet(8).double()
    x = torch.randn(4, 7, 3, dtype=DT)
    frame = layerwise_lie_derivative(model, x, so3_on_points(), None, "rot_x")
    by_module = frame.groupby("module")["norm"].sum()
    assert by_module["ComponentwiseNonlinearity"] > 1e-3
    for equivariant in ("VectorLinear", "CenterPoints", "MeanOverPoints", "VectorNorms", "Linear", "SiLU"):
        assert by_module[equivariant] <= 1e-10, equivariant


def test_cnn_translation_attribution_uses_physical_units_at_every_resolution() -> None:
    """On a smooth image, bias-free 1x1 convolutions and 2x2 average pooling commute with a translation measured
    in input pixels, provided the pooled map's pixels count as 2 units long; nearly all of the (tiny) total comes
    from interpolation, and no layer gets a spurious share from the change of resolution."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 1, bias=False), nn.AvgPool2d(2), nn.Conv2d(4, 2, 1, bias=False)).double()
    r = torch.arange(32, dtype=DT) - 15.5
    x = torch.exp(-(r[:, None] ** 2 + (r[None, :] - 2) ** 2) / (2 * 4.0**2))[None, None]
    rho = rigid_on_images(("translation_x",))
    # the output is at half resolution: its pixels are 2 input pixels long
    frame = layerwise_lie_derivative(model, x, rho, rho.at_spacing(2.0), "translation_x").set_index("layer")
    assert frame.loc["0", "norm"] <= 1e-10 and frame.loc["2", "norm"] <= 1e-10
    assert frame.loc["1", "share"] == pytest.approx(1.0, abs=1e-9)  # only resampling error is left, in the pool
    wrong = layerwise_lie_derivative(model, x, rho, rho, "translation_x")  # output pixels taken as 1 unit long
    assert frame.attrs["total_norm"] <= 0.1 * wrong.attrs["total_norm"]
    assert frame.attrs["sum_error"] <= 1e-6


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        h = x + torch.tanh(self.inner(x))  # the skip connection is outside any listed layer
        return self.head(h).sum(-2)


def test_operations_outside_the_listed_layers_are_reported_as_unattributed() -> None:
    torch.manual_seed(3)
    model = Residual().double()
    x = torch.randn(2, 5, 3, dtype=DT)
    with pytest.raises(ValueError, match="layers"):
        chain_layers(model)
    frame = layerwise_lie_derivative(model, x, so3_on_points(), None, "rot_z", layers=["inner", "head"])
    assert frame.set_index("layer").loc[UNATTRIBUTED, "norm"] > 1e-3
    assert frame["share"].sum() == pytest.approx(1.0, abs=1e-9)


def test_layerwise_lee_stacks_generators_and_validates_layers() -> None:
    model = PointNet(8).double()
    x = torch.randn(2, 4, 3, dtype=DT)
    frame = layerwise_lee(model, x, so3_on_points())
    assert set(frame["generator"]) == {"rot_x", "rot_y", "rot_z"}
    assert len(frame) == 3 * (len(chain_layers(model)) + 1)
    with pytest.raises(ValueError, match="unknown"):
        layerwise_lie_derivative(model, x, so3_on_points(), None, 0, layers=["nope"])
    with pytest.raises(TypeError):
        layerwise_lie_derivative(lambda z: z, x, so3_on_points())

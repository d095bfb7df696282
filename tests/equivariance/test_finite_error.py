"""Finite-transform equivariance error over random group elements."""

from __future__ import annotations

import pytest
import torch

from workbench.equivariance import (
    PointMLP,
    SmallCNN,
    VectorFeatureNet,
    equivariance_error,
    lorentz_on_four_vectors,
    rigid_on_images,
    so3_on_points,
    transform_pair,
)

pytestmark = pytest.mark.unit

DT = torch.float64


def test_equivariant_models_have_float64_error_below_1e9() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 9, 3, dtype=DT)
    rho = so3_on_points()
    err = equivariance_error(lambda p: p * p.norm(dim=-1, keepdim=True), x, rho, rho, 32)
    assert err.max_relative <= 1e-9
    err = equivariance_error(VectorFeatureNet(8, nonlinearity="norm").double(), x, rho, None, 32)
    assert err.max_relative <= 1e-9
    p = torch.randn(2, 3, 4, dtype=DT)
    mass = lambda q: torch.einsum("bia,a,bia->bi", q, torch.tensor([1.0, -1, -1, -1], dtype=DT), q)
    err = equivariance_error(mass, p, lorentz_on_four_vectors(max_rapidity=2.0), None, 16)
    assert err.max_relative <= 1e-9


def test_non_equivariant_models_have_large_error_and_statistics_are_consistent() -> None:
    torch.manual_seed(1)
    err = equivariance_error(PointMLP(9, 32).double(), torch.randn(3, 9, 3, dtype=DT), so3_on_points(), None, 20)
    assert err.mean_relative > 1e-2
    summary = err.summary()
    assert summary["n_elements"] == 20
    assert summary["max_relative"] >= summary["median_relative"] >= 0
    assert summary["max_relative"] >= summary["mean_relative"]
    frame = err.to_frame()
    assert list(frame.columns) == ["theta_0", "theta_1", "theta_2", "absolute", "relative"]
    assert len(frame) == 20


def test_explicit_group_elements_and_identity_give_zero() -> None:
    model = SmallCNN(1, 2, 4).double()
    x = torch.randn(1, 1, 8, 8, dtype=DT)
    err = equivariance_error(model, x, rigid_on_images(), None, torch.zeros(2, 3, dtype=DT))
    assert err.max_absolute == 0.0
    lhs, rhs = transform_pair(model, x, rigid_on_images(), None, torch.tensor([0.3, 0.0, 0.0], dtype=DT))
    assert lhs.shape == rhs.shape == (1, 2)


@pytest.mark.parametrize("samples, error", [(0, ValueError), (torch.zeros(2, 2), ValueError), ("10", TypeError)])
def test_equivariance_error_validates_group_samples(samples, error) -> None:
    with pytest.raises(error):
        equivariance_error(lambda z: z, torch.zeros(2, 3, dtype=DT), so3_on_points(), None, samples)

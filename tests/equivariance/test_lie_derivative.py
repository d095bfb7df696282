"""Lie derivative by forward-mode AD: agrees with finite differences, vanishes exactly for equivariant maps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from workbench.equivariance import (
    PointMLP,
    PointNet,
    SmallCNN,
    VectorFeatureNet,
    euclidean_on_points,
    lie_derivative,
    lie_derivatives,
    local_equivariance_error,
    lorentz_on_four_vectors,
    o3_irreps,
    rigid_on_images,
    so3_on_points,
)

pytestmark = pytest.mark.unit

DT = torch.float64


def finite_difference(f, x, rho_in, rho_out, generator, h=1e-6):
    """Central difference of t -> rho_out(exp(-tA)) f(rho_in(exp(tA)) x) at t = 0."""
    e = rho_in.direction(generator).to(DT)

    def curve(t):
        y = f(rho_in.act(x, t * e))
        return y if rho_out is None else rho_out.act(y, -t * e)

    with torch.no_grad():
        return (curve(h) - curve(-h)) / (2 * h)


def rel(a, b):
    return float((a - b).detach().norm() / b.detach().norm())


class FourMomentumMLP(nn.Module):
    """Non-invariant MLP on a set of 4-momenta (B, N, 4) -> (B, 1)."""

    def __init__(self, n: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(4 * n, 32), nn.Tanh(), nn.Linear(32, 1))

    def forward(self, p):
        return self.net(p)


def minkowski_invariants(p):
    """(B, N, 4) -> (B, N, N) pairwise Minkowski products: Lorentz invariant."""
    eta = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=p.dtype)
    return torch.einsum("bia,a,bja->bij", p, eta, p)


CASES = {
    "mlp-rotation": (lambda: PointMLP(8, 32).double(), lambda: torch.randn(3, 8, 3, dtype=DT), so3_on_points()),
    "pointnet-e3": (lambda: PointNet(32).double(), lambda: torch.randn(3, 8, 3, dtype=DT),
                    euclidean_on_points(scaling=True)),
    "lorentz-mlp": (lambda: FourMomentumMLP(5).double(), lambda: torch.randn(3, 5, 4, dtype=DT),
                    lorentz_on_four_vectors()),
    "cnn-image": (lambda: SmallCNN(1, 4, 8).double(), lambda: torch.randn(2, 1, 12, 12, dtype=DT),
                  rigid_on_images()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lie_derivative_matches_finite_differences(case: str) -> None:
    torch.manual_seed(0)
    make_model, make_x, rho_in = CASES[case]
    model, x = make_model().eval(), make_x()
    for gen in rho_in.generator_names:
        ad = lie_derivative(model, x, rho_in, None, gen)
        fd = finite_difference(model, x, rho_in, None, gen)
        assert ad.shape == model(x).shape
        assert ad.norm() > 0, (case, gen)
        assert rel(ad, fd) <= 1e-4, (case, gen, rel(ad, fd))


def test_equivariant_output_representation_and_finite_difference() -> None:
    """A vector-valued (1o -> 1o) non-equivariant map, with a non-trivial output action."""
    torch.manual_seed(1)
    rho = so3_on_points()
    w = torch.randn(3, 3, dtype=DT)
    f = lambda x: torch.tanh(x @ w.T) + x * (x * x).sum(-1, keepdim=True)
    x = torch.randn(6, 3, dtype=DT)
    for gen in rho.generator_names:
        ad = lie_derivative(f, x, rho, rho, gen)
        fd = finite_difference(f, x, rho, rho, gen)
        assert rel(ad, fd) <= 1e-4


def test_equivariant_maps_have_zero_lie_derivative_in_float64() -> None:
    torch.manual_seed(2)
    rho = so3_on_points()
    x = torch.randn(4, 10, 3, dtype=DT)
    # x |x|^2 is exactly rotation equivariant; ||x|| and the norm-gated vector network are invariant
    f = lambda p: p * (p * p).sum(-1, keepdim=True)
    for gen in rho.generator_names:
        assert lie_derivative(f, x, rho, rho, gen).abs().max() <= 1e-8
    model = VectorFeatureNet(8, nonlinearity="norm").double()
    lee = local_equivariance_error(model, x, rho)
    assert (lee["lie_norm"] <= 1e-8).all()
    assert (lee["output_norm"] > 1e-2).all()
    # Lorentz invariants of a set of 4-momenta: zero for boosts and rotations
    p = torch.randn(2, 4, 4, dtype=DT)
    derivs = lie_derivatives(minkowski_invariants, p, lorentz_on_four_vectors())
    assert set(derivs) == {"rot_x", "rot_y", "rot_z", "boost_x", "boost_y", "boost_z"}
    assert max(float(d.abs().max()) for d in derivs.values()) <= 1e-8


def test_e3nn_tensor_product_is_equivariant_under_o3_irreps_action() -> None:
    e3nn_o3 = pytest.importorskip("e3nn.o3")
    torch.manual_seed(3)
    tp = e3nn_o3.FullyConnectedTensorProduct("2x0e+2x1o+1x2e", "2x0e+2x1o+1x2e", "3x0e+2x1o+2x2e+1x1e").double()
    x = torch.randn(5, tp.irreps_in1.dim, dtype=DT)
    rho_in, rho_out = o3_irreps(str(tp.irreps_in1)), o3_irreps(str(tp.irreps_out))
    f = lambda z: tp(z, z)
    for gen in rho_in.generator_names:
        d = lie_derivative(f, x, rho_in, rho_out, gen)
        # e3nn stores its Clebsch-Gordan tables in float32, so its float64 error floor is ~1e-7
        assert d.abs().max() <= 1e-6 * max(1.0, float(f(x).detach().abs().max()))
    # the same map with the output action deliberately wrong (invariant) is not equivariant
    assert lie_derivative(f, x, rho_in, None, "rot_y").abs().max() > 1e-3


def test_mlp_lie_derivative_is_clearly_nonzero() -> None:
    torch.manual_seed(4)
    x = torch.randn(16, 8, 3, dtype=DT)
    lee = local_equivariance_error(PointMLP(8, 64).double(), x, so3_on_points())
    assert list(lee.index) == ["rot_x", "rot_y", "rot_z"]
    assert (lee["relative"] > 1e-2).all()
    assert (lee["lee"] > 0).all()
    assert (lee["n_samples"] == 16).all()


def test_lee_is_the_mean_squared_norm_over_outputs_and_batched_equals_per_sample() -> None:
    torch.manual_seed(5)
    model = PointNet(16, out_features=3).double()
    x = torch.randn(4, 6, 3, dtype=DT)
    rho = so3_on_points()
    batched = local_equivariance_error(model, x, rho, generators=["rot_z"])
    per_sample = local_equivariance_error(model, list(x), rho, generators=["rot_z"])
    d = lie_derivative(model, x, rho, None, "rot_z")
    expected = float((d.norm(dim=1) ** 2 / 3).mean())
    assert batched.loc["rot_z", "lee"] == pytest.approx(expected, rel=1e-12)
    assert per_sample.loc["rot_z", "lee"] == pytest.approx(expected, rel=1e-10)
    assert batched.loc["rot_z", "mean_abs"] == pytest.approx(float(d.detach().abs().mean()), rel=1e-12)


def test_float32_model_gives_float32_derivative() -> None:
    model = PointNet(8)
    x = torch.randn(2, 5, 3)
    d = lie_derivative(model, x, so3_on_points(), None, 2)
    assert d.dtype == torch.float32 and d.shape == (2, 1)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"x": torch.zeros(2, 3, dtype=torch.int64)}, TypeError),
        ({"x": torch.full((2, 3), float("nan"), dtype=DT)}, ValueError),
        ({"rho_in": "so3"}, TypeError),
        ({"rho_out": lorentz_on_four_vectors()}, ValueError),
        ({"generator": "boost_x"}, ValueError),
    ],
)
def test_lie_derivative_validates_arguments(kwargs, error) -> None:
    args = {"f": lambda z: z, "x": torch.zeros(2, 3, dtype=DT), "rho_in": so3_on_points(), "rho_out": None,
            "generator": 0}
    args.update(kwargs)
    with pytest.raises(error):
        lie_derivative(**args)

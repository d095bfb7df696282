"""workbench.nn layers and the study's equivariant model: Lie derivative <= 1e-8 in float64."""

from __future__ import annotations

import pytest
import torch

from workbench.equivariance import lie_derivative, local_equivariance_error, o3_irreps, so3_on_points

pytestmark = pytest.mark.unit

DT = torch.float64
wnn = pytest.importorskip("workbench.nn")


def _layer(name: str):
    layer = getattr(wnn, name, None)
    if layer is None:
        pytest.skip(f"workbench.nn does not export {name} yet")
    return layer


def _max_lie(f, x, rho_in, rho_out) -> float:
    return max(float(lie_derivative(f, x, rho_in, rho_out, g).detach().abs().max()) for g in rho_in.generator_names)


def test_linear_and_gate_are_equivariant() -> None:
    torch.manual_seed(0)
    irreps_in, irreps_mid = "4x0e+2x1o+1x2e", "2x0e+3x0e+2x1o+1x2e"
    linear = _layer("Linear")(irreps_in, irreps_mid).double()
    gate = _layer("Gate")("2x0e", [torch.tanh], "3x0e", [torch.sigmoid], "2x1o+1x2e").double()
    x = torch.randn(6, o3_irreps(irreps_in).dim, dtype=DT)
    f = lambda z: gate(linear(z))
    assert _max_lie(f, x, o3_irreps(irreps_in), o3_irreps("2x0e+2x1o+1x2e")) <= 1e-8
    assert float(f(x).abs().max()) > 1e-2


def test_tensor_product_and_spherical_harmonics_are_equivariant() -> None:
    torch.manual_seed(1)
    sh = _layer("SphericalHarmonics")("1x0e+1x1o+1x2e+1x3o", normalize=True).double()
    tp = _layer("FullyConnectedTensorProduct")("1x0e+1x1o+1x2e+1x3o", "1x0e+1x1o+1x2e+1x3o",
                                               "2x0e+2x1o+2x2e+1x1e").double()
    pts = torch.randn(7, 3, dtype=DT)
    assert _max_lie(sh, pts, so3_on_points(), o3_irreps("1x0e+1x1o+1x2e+1x3o")) <= 1e-8
    f = lambda p: tp(sh(p), sh(p))
    assert _max_lie(f, pts, so3_on_points(), o3_irreps("2x0e+2x1o+2x2e+1x1e")) <= 1e-8


def test_study_equivariant_model_has_zero_lee() -> None:
    for name in ("SphericalHarmonics", "Linear", "Gate", "FullyConnectedTensorProduct"):
        _layer(name)
    from workbench.equivariance.study import StudyConfig, build_study_model

    torch.manual_seed(2)
    model = build_study_model("equivariant", StudyConfig(hidden=8))
    x = torch.randn(3, 10, 3, dtype=DT)
    lee = local_equivariance_error(model, x, so3_on_points())
    assert (lee["lie_norm"] <= 1e-8).all()
    assert (lee["output_norm"] > 1e-3).all()

"""Gate, NormActivation, EquivariantLayerNorm, EquivariantDropout, SphericalHarmonics, radial bases."""

from __future__ import annotations

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import Irreps, o3
from workbench.nn import (
    BesselBasis,
    EquivariantDropout,
    EquivariantLayerNorm,
    Gate,
    GaussianBasis,
    NormActivation,
    PolynomialCutoff,
    RadialMLP,
    SphericalHarmonics,
)

pytestmark = pytest.mark.unit


def _check_o3(module, irreps_in, irreps_out, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, b = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    x = torch.randn(n, a.dim, generator=g)
    for _ in range(5):
        R = random_o3(g)
        assert rel_err(module(x @ a.D_from_matrix(R).T), module(x) @ b.D_from_matrix(R).T) <= 1e-9


def test_gate_equivariance_and_shape(float64_default):
    gate = Gate("4x0e+2x0o", [torch.nn.functional.silu, torch.tanh], "3x0e", torch.sigmoid, "2x1o+1x2e")
    assert str(gate.irreps_out) == "4x0e+2x0o+2x1o+1x2e"
    _check_o3(gate, gate.irreps_in, gate.irreps_out)
    with pytest.raises(ValueError, match="irreps_gates"):
        Gate("1x0e", None, "2x0e", torch.sigmoid, "1x1o")
    with pytest.raises(ValueError, match="only scalars"):
        Gate("1x1o", None, "1x0e", torch.sigmoid, "1x1o")
    with pytest.raises(ValueError, match="odd activation"):
        Gate("1x0o", torch.sigmoid, "1x0e", torch.sigmoid, "1x1o")


def test_gate_lorentz(lorentz, float64_default):
    gate = Gate(
        Irreps(lorentz, "2x(0,0)"),
        torch.tanh,
        Irreps(lorentz, "2x(0,0)"),
        torch.tanh,
        Irreps(lorentz, "2x(1/2,1/2)"),
        group=lorentz,
    )
    a = Irreps(lorentz, "4x(0,0)+2x(1/2,1/2)")
    b = Irreps(lorentz, "2x(0,0)+2x(1/2,1/2)")
    g = torch.Generator().manual_seed(0)
    x = a.randn(3, -1, generator=g)
    x[:, :4] = x[:, :4].real.to(x.dtype)  # invariant scalars may be complex too; keep them generic
    for _ in range(3):
        el = lorentz.random_element(g)
        assert rel_err(gate(x @ a.matrix(el).T), gate(x) @ b.matrix(el).T) <= 1e-9


def test_norm_activation(float64_default):
    act = NormActivation("2x0e+3x1o+1x2e", torch.sigmoid, bias=True)
    _check_o3(act, "2x0e+3x1o+1x2e", "2x0e+3x1o+1x2e")
    x = torch.zeros(2, 2 + 9 + 5, requires_grad=True)
    act(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_layer_norm(float64_default):
    ln = EquivariantLayerNorm("4x0e+3x1o+2x2e")
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.normal_()
    _check_o3(ln, "4x0e+3x1o+2x2e", "4x0e+3x1o+2x2e")
    ln2 = EquivariantLayerNorm("8x0e", affine=False)
    y = ln2(torch.randn(3, 8) * 5 + 2)
    assert torch.allclose(y.mean(-1), torch.zeros(3), atol=1e-9)
    assert torch.allclose(y.pow(2).mean(-1), torch.ones(3), atol=1e-4)


def test_dropout(float64_default):
    drop = EquivariantDropout("4x0e+4x1o", p=0.5)
    drop.train()
    torch.manual_seed(0)
    x = torch.randn(100, 16)
    y = drop(x)
    vec = y[:, 4:].reshape(100, 4, 3)
    zero = (vec == 0).all(-1)
    kept = (vec != 0).all(-1)
    assert bool((zero | kept).all())  # whole copies dropped
    assert 0.3 < float(zero.float().mean()) < 0.7
    R = random_o3(torch.Generator().manual_seed(1))
    D = o3.Irreps("4x0e+4x1o").D_from_matrix(R)
    torch.manual_seed(3)
    a = drop(x @ D.T)
    torch.manual_seed(3)
    assert rel_err(a, drop(x) @ D.T) <= 1e-9
    drop.eval()
    assert torch.equal(drop(x), x)
    with pytest.raises(ValueError, match="p must be"):
        EquivariantDropout("1x0e", p=1.0)


def test_spherical_harmonics_module(float64_default):
    pytest.importorskip("e3nn")
    import e3nn.o3

    sh = SphericalHarmonics(3)
    x = torch.randn(10, 3)
    assert rel_err(sh(x), e3nn.o3.spherical_harmonics([0, 1, 2, 3], x, True, normalization="component")) <= 1e-10
    assert sh(torch.zeros(0, 3)).shape == (0, 16)
    with pytest.raises(ValueError, match="shape"):
        sh(torch.randn(4, 2))


def test_radial_bases():
    r = torch.linspace(0.1, 6.0, 50, dtype=torch.float64)
    bessel = BesselBasis(5.0, 8).double()(r)
    assert bessel.shape == (50, 8)
    expected = (2 / 5.0) * torch.sin(3 * torch.pi * r / 5.0) / r
    assert torch.allclose(bessel[:, 2], expected)
    cut = PolynomialCutoff(5.0, p=6)(r)
    assert float(cut[0]) > 0.99 and bool((cut[r >= 5.0] == 0).all())
    near = torch.tensor([4.999], dtype=torch.float64)
    assert float(PolynomialCutoff(5.0)(near)) < 1e-9
    gauss = GaussianBasis(0.0, 5.0, 11).double()(r)
    assert gauss.shape == (50, 11) and float(gauss.max()) <= 1.0
    mlp = RadialMLP([8, 16, 4])
    assert mlp(bessel.float()).shape == (50, 4)
    with pytest.raises(ValueError, match="r_max"):
        BesselBasis(0.0)
    with pytest.raises(ValueError, match=r"x must have shape \[\.\.\., 8\], got \(3, 7\)"):
        mlp(torch.randn(3, 7))


def test_complex_constant_tables_follow_dtype_casts(lorentz) -> None:
    """Lorentz tables are complex: .double()/.to(float64) give complex128 (not complex64, not real), .float() back."""
    import warnings

    from workbench.nn import FullyConnectedTensorProduct

    tp = FullyConnectedTensorProduct("2x(1/2,1/2)", "1x(1/2,1/2)", "2x(0,0)+1x(1,1)", group=lorentz)
    names = [n for n, b in tp.named_buffers() if b.is_complex()]
    assert names
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cast, expected in ((tp.double, torch.complex128), (tp.float, torch.complex64),
                               (lambda: tp.to(torch.float64), torch.complex128)):
            cast()
            for n in names:
                buf = tp.get_buffer(n)
                assert buf.dtype == expected
                owner, _, leaf = n.rpartition(".")
                assert torch.equal(buf, tp.get_submodule(owner)._constant_masters[leaf].to(expected))


def test_every_layer_exposes_its_irreps_as_groups_irreps():
    """One vocabulary: irreps_in/irreps_out (irreps_in1/irreps_in2 for tensor products) are groups.Irreps."""
    from workbench import nn as wnn
    from workbench.groups import Irreps

    h = "2x0e+1x1o"
    layers = [wnn.Linear(h, "1x0e+1x1o"), wnn.Gate.from_irreps(h), wnn.NormActivation(h),
              wnn.EquivariantLayerNorm(h), wnn.EquivariantDropout(h, 0.1), wnn.SphericalHarmonics(2),
              wnn.SymmetricContraction("2x0e+2x1o", "2x0e+2x1o", correlation=2, num_elements=1),
              wnn.EquivariantConvolution(h, h, lmax=1, r_max=3.0)]
    for layer in layers:
        assert isinstance(layer.irreps_in, Irreps) and isinstance(layer.irreps_out, Irreps), type(layer).__name__
    tp = wnn.FullyConnectedTensorProduct(h, "0e+1o", "1x0e+1x1o")
    assert all(isinstance(i, Irreps) for i in (tp.irreps_in1, tp.irreps_in2, tp.irreps_out))

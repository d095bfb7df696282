from __future__ import annotations

import pytest
import torch

from workbench.kernels import spherical_harmonics, spherical_harmonics_reference
from workbench.kernels.spherical_harmonics import _SphericalHarmonicsFunction

pytestmark = pytest.mark.kernels

NORMALIZATIONS = ["component", "norm", "integral"]


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("normalize", [True, False])
def test_reference_matches_e3nn(normalization, normalize):
    o3 = pytest.importorskip("e3nn.o3")
    x = torch.randn(40, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ls = [0, 1, 2, 3, 4, 5, 6]
    ours = spherical_harmonics_reference(ls, x, normalize, normalization)
    theirs = o3.spherical_harmonics(ls, x, normalize, normalization=normalization)
    assert torch.allclose(ours, theirs, atol=1e-10 * (1 if normalize else 100), rtol=1e-10)


def test_reference_matches_workbench_o3():
    from workbench.groups.o3 import spherical_harmonics as o3_sh

    x = torch.randn(30, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours = spherical_harmonics_reference([0, 1, 2, 3, 4, 5, 6], x, True, "component")
    assert torch.allclose(ours, o3_sh([0, 1, 2, 3, 4, 5, 6], x, True, normalization="component"), atol=1e-10)


@pytest.mark.parametrize(("ls", "normalize", "normalization"), [
    ([0, 1, 2, 3, 4, 5, 6], True, "component"),
    ([2, 0, 5], False, "integral"),
    ("0e+1o+2e+3o", True, "norm"),
])
def test_kernel_matches_reference_float32(ls, normalize, normalization):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(70, 3, generator=gen)  # 70 > one block of 64: masked tail
    x[0] = 0.0  # clamped norm in the normalize case
    xk = x.clone().requires_grad_()
    xr = x.clone().requires_grad_()
    yk = spherical_harmonics(ls, xk, normalize, normalization, backend="triton")
    yr = spherical_harmonics_reference(ls, xr, normalize, normalization)
    assert yk.shape == yr.shape
    # tolerances are relative to the largest magnitude (floor 1): unnormalized Y^5 of randn vectors reach ~100
    assert (yk - yr).abs().max() <= 1e-5 * max(1.0, yr.abs().max().item())
    g = torch.randn(yk.shape, generator=gen)
    (gk,) = torch.autograd.grad(yk, xk, g)
    (gr,) = torch.autograd.grad(yr, xr, g)
    assert (gk - gr).abs().max() <= 3e-4 * max(1.0, gr.abs().max().item())


def test_double_backward_float64():
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    f = lambda v: _SphericalHarmonicsFunction.apply(v, (0, 1, 2, 3), True, "component")
    assert torch.autograd.gradcheck(f, (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(f, (x,), fast_mode=True)


def test_bad_inputs():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="vectors must have shape"):
        spherical_harmonics(2, torch.randn(4, 2))
    with pytest.raises(ValueError, match="normalization"):
        spherical_harmonics(2, x, normalization="unit")
    with pytest.raises(ValueError, match="every l"):
        spherical_harmonics([1, 11], x)
    with pytest.raises(TypeError, match="vectors must have dtype torch.float32 or torch.float64"):
        spherical_harmonics(1, x.to(torch.int64))
    with pytest.raises(TypeError, match="normalize must be a bool"):
        spherical_harmonics(1, x, normalize=1)

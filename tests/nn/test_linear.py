"""Linear: e3nn parity (weights and biases), equivariance (O(3), Lorentz), compile, errors."""

from __future__ import annotations

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import Irreps, o3
from workbench.nn import Linear

pytestmark = pytest.mark.unit

IN, OUT = "3x0e+2x1o+2x0e+1x2e", "4x0e+3x1o+2x2e+1x1e"


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("path_normalization", ["element", "path"])
def test_e3nn_parity(biases, path_normalization):
    pytest.importorskip("e3nn")
    import e3nn.o3

    ref = e3nn.o3.Linear(IN, OUT, biases=biases, path_normalization=path_normalization)
    ours = Linear(IN, OUT, biases=biases, path_normalization=path_normalization)
    assert ours.weight_numel == ref.weight_numel and ours.bias_numel == ref.bias_numel
    with torch.no_grad():
        ours.weight.copy_(ref.weight)
        if biases:
            ref.bias.normal_()
            ours.bias.copy_(ref.bias)
    x = o3.Irreps(IN).randn(7, -1)
    assert rel_err(ours(x), ref(x)) <= 1e-6


def test_e3nn_parity_external_weights():
    pytest.importorskip("e3nn")
    import e3nn.o3

    ref = e3nn.o3.Linear(IN, OUT, shared_weights=False)
    ours = Linear(IN, OUT, shared_weights=False)
    x = o3.Irreps(IN).randn(5, -1)
    w = torch.randn(5, ref.weight_numel)
    assert rel_err(ours(x, w), ref(x, w)) <= 1e-6


def test_o3_equivariance(float64_default):
    lin = Linear(IN, OUT, biases=True)
    with torch.no_grad():
        lin.bias.normal_()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, o3.Irreps(IN).dim, generator=g)
    for _ in range(5):
        R = random_o3(g)
        lhs = lin(x @ o3.Irreps(IN).D_from_matrix(R).T)
        rhs = lin(x) @ o3.Irreps(OUT).D_from_matrix(R).T
        assert rel_err(lhs, rhs) <= 1e-9


def test_lorentz_equivariance(lorentz, float64_default):
    a = Irreps(lorentz, "3x(0,0)+2x(1/2,1/2)+(1,0)")
    b = Irreps(lorentz, "2x(0,0)+4x(1/2,1/2)+2x(1,0)")
    lin = Linear(a, b, group=lorentz)
    g = torch.Generator().manual_seed(1)
    x = a.randn(3, -1, generator=g)
    for _ in range(5):
        el = lorentz.random_element(g)
        assert rel_err(lin(x @ a.matrix(el).T), lin(x) @ b.matrix(el).T) <= 1e-9
    with pytest.raises(TypeError, match="complex"):
        lin(torch.randn(3, a.dim))


def test_compile_and_dtypes():
    lin = Linear("4x0e+2x1o", "3x0e+3x1o", biases=True)
    x = torch.randn(6, 10)
    compiled = torch.compile(lin, backend="eager", fullgraph=True)
    assert torch.allclose(compiled(x), lin(x), atol=1e-6)
    assert lin.double()(x.double()).dtype == torch.float64


def test_bad_inputs():
    lin = Linear("4x0e+2x1o", "3x0e+3x1o")
    with pytest.raises(ValueError, match=r"x must have shape \[\.\.\., 10\] \(4x0e\+2x1o\)"):
        lin(torch.randn(3, 9))
    with pytest.raises(ValueError, match="weight must have shape"):
        lin(torch.randn(3, 10), torch.randn(5))
    with pytest.raises(ValueError, match="bias"):
        Linear("1x1o", "1x1o", biases=[True])
    with pytest.raises(ValueError, match="valid O\\(3\\) irreps"):
        Linear("4xq", "1x0e")

"""TensorProduct: e3nn parity in every mode and weight setting, equivariance (O(3), Lorentz), autograd, errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import Irreps, o3
from workbench.nn import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
    TensorProduct,
)

pytestmark = pytest.mark.unit

IN1, IN2, OUT = "3x0e+2x1o+2x2e", "2x0e+1x1o+1x2e", "2x0e+2x1o+3x2e+1x1e"
UVUV_OUT = "6x0e+6x1o+4x1e+6x2e"


def instructions(mode: str, in1=IN1, in2=IN2, out=OUT) -> list[tuple]:
    a, b, c = o3.Irreps(in1), o3.Irreps(in2), o3.Irreps(out)
    res = []
    for i1, (m1, r1) in enumerate(a):
        for i2, (m2, r2) in enumerate(b):
            for io, (mo, ro) in enumerate(c):
                ok = {
                    "uvw": True,
                    "uvu": m1 == mo,
                    "uvv": m2 == mo,
                    "uuw": m1 == m2,
                    "uuu": m1 == m2 == mo,
                    "uvuv": m1 * m2 == mo,
                }[mode]
                if ro in r1 * r2 and ok:
                    res.append((i1, i2, io, mode, True))
    return res


SETTINGS = [("internal", True, True), ("external-shared", False, True), ("external-batch", False, False)]


@pytest.mark.parametrize("mode", ["uvw", "uvu", "uvv", "uuw", "uuu", "uvuv"])
@pytest.mark.parametrize("setting", SETTINGS, ids=[s[0] for s in SETTINGS])
def test_e3nn_parity_all_modes(mode, setting):
    e3o = pytest.importorskip("e3nn.o3")

    _, internal, shared = setting
    out = UVUV_OUT if mode == "uvuv" else OUT
    in2 = "2x0e+2x1o+2x2e" if mode in ("uuw", "uuu") else IN2
    in1 = "2x0e+2x1o+2x2e" if mode in ("uuw", "uuu") else IN1
    ins = instructions(mode, in1, in2, out)
    assert ins, mode
    kw = dict(internal_weights=internal, shared_weights=shared)
    ref = e3o.TensorProduct(in1, in2, out, ins, **kw)
    ours = TensorProduct(in1, in2, out, ins, **kw)
    assert ours.weight_numel == ref.weight_numel
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(9, o3.Irreps(in1).dim, generator=g)
    x2 = torch.randn(9, o3.Irreps(in2).dim, generator=g)
    if internal:
        with torch.no_grad():
            ours.weight.copy_(ref.weight)
        a, b = ref(x1, x2), ours(x1, x2)
    else:
        w = torch.randn((ref.weight_numel,) if shared else (9, ref.weight_numel), generator=g)
        a, b = ref(x1, x2, w), ours(x1, x2, w)
    assert a.shape == b.shape
    assert rel_err(b, a) <= 1e-6


@pytest.mark.parametrize("norms", [("component", "element"), ("norm", "path"), ("none", "none")])
def test_e3nn_parity_normalizations_and_path_weights(norms):
    e3o = pytest.importorskip("e3nn.o3")

    ins = [i + (0.5 + k,) for k, i in enumerate(instructions("uvw"))]
    kw = dict(irrep_normalization=norms[0], path_normalization=norms[1], in1_var=[1, 2, 3], out_var=[1, 1, 2, 1])
    ref, ours = e3o.TensorProduct(IN1, IN2, OUT, ins, **kw), TensorProduct(IN1, IN2, OUT, ins, **kw)
    with torch.no_grad():
        ours.weight.copy_(ref.weight)
    x1, x2 = o3.Irreps(IN1).randn(4, -1), o3.Irreps(IN2).randn(4, -1)
    assert rel_err(ours(x1, x2), ref(x1, x2)) <= 1e-6


@pytest.mark.parametrize("cls", ["FullyConnectedTensorProduct", "ElementwiseTensorProduct", "FullTensorProduct"])
def test_e3nn_parity_subclasses(cls):
    e3o = pytest.importorskip("e3nn.o3")

    ours_cls = {
        "FullyConnectedTensorProduct": FullyConnectedTensorProduct,
        "ElementwiseTensorProduct": ElementwiseTensorProduct,
        "FullTensorProduct": FullTensorProduct,
    }[cls]
    if cls == "FullyConnectedTensorProduct":
        args = (IN1, IN2, OUT)
    else:
        args = ("2x0e+3x1o", "3x1e+2x2o")
    ref, ours = getattr(e3o, cls)(*args), ours_cls(*args)
    assert str(ours.irreps_out) == str(ref.irreps_out)
    if ref.weight_numel:
        with torch.no_grad():
            ours.weight.copy_(ref.weight)
    x1, x2 = ref.irreps_in1.randn(5, -1), ref.irreps_in2.randn(5, -1)
    assert rel_err(ours(x1, x2), ref(x1, x2)) <= 1e-6


@pytest.mark.parametrize("mode", ["uvw", "uvu"])  # the general path and the specialised uvu path chunk differently
def test_chunked_evaluation_matches_single_block(mode):
    ins = instructions(mode, "8x0e+8x1o+8x2e", "0e+1o+2e+3o", "8x0e+8x1o+8x2e")
    tp = TensorProduct("8x0e+8x1o+8x2e", "0e+1o+2e+3o", "8x0e+8x1o+8x2e", ins, shared_weights=False)
    x1, x2 = o3.Irreps("8x0e+8x1o+8x2e").randn(300, -1), o3.Irreps("0e+1o+2e+3o").randn(300, -1)
    w = torch.randn(300, tp.weight_numel)
    full = tp(x1, x2, w)
    if mode == "uvu":
        assert "uvu" in tp.plans
        tp.plans["uvu"].plan = replace(tp.plans["uvu"].plan, rows=32)
    else:
        assert "uvu" not in tp.plans
        tp.plans["grouped"].plan = replace(tp.plans["grouped"].plan, chunk_rows=32)
    assert torch.allclose(tp(x1, x2, w), full, atol=1e-5)


@pytest.mark.parametrize("mode", ["uvw", "uvu", "uuu", "uvuv"])
def test_o3_equivariance_float64(mode, float64_default):
    out = UVUV_OUT if mode == "uvuv" else OUT
    in1 = "2x0e+2x1o+2x2e" if mode == "uuu" else IN1
    in2 = "2x0e+2x1o+2x2e" if mode == "uuu" else IN2
    ins = instructions(mode, in1, in2, out)
    tp = TensorProduct(in1, in2, out, ins)
    g = torch.Generator().manual_seed(1)
    a, b, c = o3.Irreps(in1), o3.Irreps(in2), o3.Irreps(out)
    x1, x2 = torch.randn(6, a.dim, generator=g), torch.randn(6, b.dim, generator=g)
    for _ in range(5):
        R = random_o3(g)
        lhs = tp(x1 @ a.D_from_matrix(R).T, x2 @ b.D_from_matrix(R).T)
        rhs = tp(x1, x2) @ c.D_from_matrix(R).T
        assert rel_err(lhs, rhs) <= 1e-9


def test_lorentz_tensor_product_equivariance(lorentz, float64_default):
    a = Irreps(lorentz, "2x(0,0)+2x(1/2,1/2)")
    b = Irreps(lorentz, "(0,0)+(1/2,1/2)")
    c = Irreps(lorentz, "2x(0,0)+2x(1/2,1/2)+(1,1)+(1,0)+(0,1)")
    for tp in (
        FullyConnectedTensorProduct(a, b, c, group=lorentz),
        TensorProduct(a, b, a, [(1, 1, 0, "uvu", True), (1, 0, 1, "uvu", True), (0, 1, 1, "uvu", True)], group=lorentz),
    ):
        g = torch.Generator().manual_seed(2)
        x1, x2 = a.randn(4, -1, generator=g), b.randn(4, -1, generator=g)
        assert x1.is_complex()
        for _ in range(5):
            el = lorentz.random_element(g)
            lhs = tp(x1 @ a.matrix(el).T, x2 @ b.matrix(el).T)
            rhs = tp(x1, x2) @ tp.irreps_out.matrix(el).T
            assert rel_err(lhs, rhs) <= 1e-9


def test_lorentz_requires_complex_features(lorentz):
    a = Irreps(lorentz, "(1/2,1/2)")
    tp = FullyConnectedTensorProduct(a, a, Irreps(lorentz, "(0,0)"), group=lorentz)
    with pytest.raises(TypeError, match="complex"):
        tp(torch.randn(2, 4), torch.randn(2, 4))


def test_double_backward(float64_default):
    ins = instructions("uvu", "2x0e+2x1o", "0e+1o", "2x0e+2x1o")
    tp = TensorProduct("2x0e+2x1o", "0e+1o", "2x0e+2x1o", ins, shared_weights=False)
    x1 = torch.randn(3, 8, requires_grad=True)
    x2 = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(3, tp.weight_numel, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, b, c: tp(a, b, c), (x1, x2, w))


@pytest.mark.parametrize("rows", [None, 32])  # one block, and the chunked path that fills a preallocated output
@pytest.mark.parametrize("mode", ["uvw", "uvu"])
def test_forward_mode_jvp_equals_central_difference(mode, rows, float64_default):
    """torch.func.jvp (what the Lie derivative uses) runs through every evaluator with autograd off; the uvu path
    must not write into preallocated outputs then (out= refuses forward-mode tangents)."""
    irreps = "8x0e+8x1o+8x2e"
    tp = TensorProduct(irreps, "0e+1o+2e", irreps, instructions(mode, irreps, "0e+1o+2e", irreps),
                       shared_weights=False)
    if rows is not None:
        key = "uvu" if mode == "uvu" else "grouped"
        field = "rows" if mode == "uvu" else "chunk_rows"
        tp.plans[key].plan = replace(tp.plans[key].plan, **{field: rows})
    x1, x2 = o3.Irreps(irreps).randn(100, -1), o3.Irreps("0e+1o+2e").randn(100, -1)
    w = torch.randn(100, tp.weight_numel)
    dx1, dx2 = torch.randn_like(x1), torch.randn_like(x2)
    with torch.no_grad():
        _, tangent = torch.func.jvp(lambda a, b: tp(a, b, w), (x1, x2), (dx1, dx2))
        h = 1e-5
        central = (tp(x1 + h * dx1, x2 + h * dx2, w) - tp(x1 - h * dx1, x2 - h * dx2, w)) / (2 * h)
    assert rel_err(tangent, central) <= 1e-8


def test_float32_and_float64_dtypes():
    ins = instructions("uvw")
    tp = TensorProduct(IN1, IN2, OUT, ins)
    x1, x2 = o3.Irreps(IN1).randn(3, -1), o3.Irreps(IN2).randn(3, -1)
    y32 = tp(x1, x2)
    tp64 = tp.double()
    y64 = tp64(x1.double(), x2.double())
    assert y32.dtype == torch.float32 and y64.dtype == torch.float64
    assert torch.allclose(y32.double(), y64, atol=1e-5)


def test_compile_uvu():
    ins = instructions("uvu", "4x0e+4x1o", "0e+1o", "4x0e+4x1o")
    tp = TensorProduct("4x0e+4x1o", "0e+1o", "4x0e+4x1o", ins, shared_weights=False)
    x1, x2 = torch.randn(5, 16), torch.randn(5, 4)
    w = torch.randn(5, tp.weight_numel)
    compiled = torch.compile(tp, backend="eager", fullgraph=True)
    assert torch.allclose(compiled(x1, x2, w), tp(x1, x2, w), atol=1e-6)


def test_bad_inputs():
    ins = instructions("uvu", "4x0e+4x1o", "0e+1o", "4x0e+4x1o")
    tp = TensorProduct("4x0e+4x1o", "0e+1o", "4x0e+4x1o", ins, shared_weights=False)
    with pytest.raises(ValueError, match="irreps_in1"):
        tp(torch.randn(5, 15), torch.randn(5, 4), torch.randn(5, tp.weight_numel))
    with pytest.raises(ValueError, match="irreps_in2"):
        tp(torch.randn(5, 16), torch.randn(5, 3), torch.randn(5, tp.weight_numel))
    with pytest.raises(ValueError, match="weight has shape"):
        tp(torch.randn(5, 16), torch.randn(5, 4), torch.randn(5, tp.weight_numel + 1))
    with pytest.raises(ValueError, match="weight is required"):
        tp(torch.randn(5, 16), torch.randn(5, 4))
    with pytest.raises(ValueError, match="does not occur"):
        TensorProduct("1x0e", "1x0e", "1x1o", [(0, 0, 0, "uvw", True)])
    with pytest.raises(ValueError, match="mode"):
        TensorProduct("1x0e", "1x0e", "1x0e", [(0, 0, 0, "abc", True)])
    with pytest.raises(ValueError, match="valid O\\(3\\) irreps"):
        TensorProduct("1x0q", "1x0e", "1x0e", [])


def test_empty_batch():
    ins = instructions("uvu", "4x0e+4x1o", "0e+1o", "4x0e+4x1o")
    tp = TensorProduct("4x0e+4x1o", "0e+1o", "4x0e+4x1o", ins, shared_weights=False)
    out = tp(torch.randn(0, 16), torch.randn(0, 4), torch.randn(0, tp.weight_numel))
    assert out.shape == (0, 16)


@pytest.mark.parametrize("group", ["O(3)", "Lorentz"])
def test_gathered_equals_the_product_of_gathered_rows(group):
    """TensorProduct.gathered couples each row once and weighs per index; same numbers as gathering first."""
    from workbench.groups import Irreps, by_name
    from workbench.nn.convolution import edge_tensor_product

    g = by_name(group)
    if group == "O(3)":
        irreps_in, irreps_edge, irreps_out = "4x0e+4x1o", "0e+1o+2e", "4x0e+4x1o+4x2e"
        dtype = torch.float64
    else:
        irreps_in, irreps_edge, irreps_out = "3x(0,0)+3x(1/2,1/2)", "(0,0)+(1/2,1/2)", "3x(0,0)+3x(1/2,1/2)"
        dtype = torch.complex128
    tp = edge_tensor_product(Irreps(g, irreps_in), Irreps(g, irreps_edge), Irreps(g, irreps_out),
                             sum_paths=group != "O(3)")
    gen = torch.Generator().manual_seed(0)
    n, e = 7, 30
    x1 = torch.randn(n, tp.irreps_in1.dim, dtype=dtype, generator=gen)
    x2 = torch.randn(n, tp.irreps_in2.dim, dtype=dtype, generator=gen)
    w = torch.randn(e, tp.weight_numel, dtype=torch.float64, generator=gen)
    index = torch.randint(0, n, (e,), generator=gen)
    expected = tp(x1[index], x2[index], w)
    assert torch.allclose(tp.gathered(x1, x2, w, index), expected, atol=1e-12, rtol=1e-12)
    assert ("grouped" in tp.plans) == (group == "Lorentz")  # the Lorentz product takes the couple-once path
    if group == "Lorentz":
        with pytest.raises(ValueError, match="gathered needs"):
            tp.gathered(x1, x2[:3], w, index)

from __future__ import annotations

import pytest
import torch

from workbench.kernels import UVUTensorProductFunction, uvu_spec, uvu_tensor_product, uvu_tensor_product_reference

pytestmark = pytest.mark.kernels

# (irreps_in1, irreps_in2, irreps_out, instructions or None): shared outputs, one output per path, mul2 > 1,
# unused inputs, an output no path reaches
CONFIGS = [
    ("3x0e+2x1o+2x2e", "0e+1o+2e+3o", "3x0e+2x1o+2x2e+2x3o", None),
    ("2x0e+3x1o", "0e+1o+2e", "2x1o+3x1o+3x1e+2x0e", [(0, 1, 0), (1, 0, 1), (1, 1, 2), (0, 0, 3)]),
    ("2x1o+1x2e", "2x0e+1x1e", "2x1o+1x2e+2x1o", [(0, 0, 0), (1, 1, 1), (0, 1, 2)]),
    ("2x0e+2x1o+1x3o", "0e+1o", "2x0e+2x1e+4x0o", [(1, 1, 0)]),
]


def _inputs(spec, rows, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(rows, d, generator=gen, dtype=dtype)
            for d in (spec.dim_in1, spec.dim_in2, spec.weight_numel)]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize(("irrep_norm", "path_norm"), [("component", "element"), ("norm", "path")])
def test_reference_matches_e3nn(config, irrep_norm, path_norm):
    o3 = pytest.importorskip("e3nn.o3")
    i1, i2, io, ins = config
    spec = uvu_spec(i1, i2, io, ins, irrep_normalization=irrep_norm, path_normalization=path_norm)
    e3nn_ins = [(p.i_in1, p.i_in2, p.i_out, "uvu", True) for p in spec.paths]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn stores its CG constants in the default dtype
    try:
        tp = o3.TensorProduct(i1, i2, io, e3nn_ins, irrep_normalization=irrep_norm, path_normalization=path_norm,
                              internal_weights=False, shared_weights=False)
    finally:
        torch.set_default_dtype(previous)
    assert tp.weight_numel == spec.weight_numel
    x1, x2, w = _inputs(spec, 9, torch.float64, 0)
    assert torch.allclose(uvu_tensor_product_reference(spec, x1, x2, w), tp(x1, x2, w), atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_kernel_matches_reference_float32(config):
    spec = uvu_spec(*config[:3], config[3])
    rows = 11  # not a multiple of the row block: masked tail
    inputs = _inputs(spec, rows, torch.float32, 1)
    xk = [t.clone().requires_grad_() for t in inputs]
    xr = [t.clone().requires_grad_() for t in inputs]
    out_k = uvu_tensor_product(*xk, spec, backend="triton")
    out_r = uvu_tensor_product_reference(spec, *xr)
    scale = max(1.0, out_r.abs().max().item())
    assert (out_k - out_r).abs().max() <= 1e-5 * scale
    g = torch.randn(out_r.shape, generator=torch.Generator().manual_seed(2))
    for gk, gr in zip(torch.autograd.grad(out_k, xk, g), torch.autograd.grad(out_r, xr, g)):
        assert (gk - gr).abs().max() <= 3e-4 * max(1.0, gr.abs().max().item())


def test_channel_tiles_and_float64():
    # multiplicity 40 > one 32-channel tile: two tiles, partial grad-x2 sums across tiles
    spec = uvu_spec("40x0e+40x1o", "0e+1o", "40x0e+40x1o")
    inputs = _inputs(spec, 3, torch.float64, 3)
    xk = [t.clone().requires_grad_() for t in inputs]
    out = uvu_tensor_product(*xk, spec, backend="triton")
    assert torch.allclose(out, uvu_tensor_product_reference(spec, *inputs), atol=1e-12)
    g = torch.randn_like(out)
    xr = [t.clone().requires_grad_() for t in inputs]
    for gk, gr in zip(torch.autograd.grad(out, xk, g),
                      torch.autograd.grad(uvu_tensor_product_reference(spec, *xr), xr, g)):
        assert torch.allclose(gk, gr, atol=1e-12)


def test_double_backward_gradcheck_float64():
    spec = uvu_spec("2x0e+1x1o", "0e+1o", "2x0e+1x1o")
    inputs = [t.requires_grad_() for t in _inputs(spec, 3, torch.float64, 4)]
    f = lambda a, b, c: UVUTensorProductFunction.apply(a, b, c, spec)
    assert torch.autograd.gradcheck(f, inputs, fast_mode=True)
    assert torch.autograd.gradgradcheck(f, inputs, fast_mode=True)


def test_empty_rows_and_backend_torch_on_cpu():
    spec = uvu_spec("2x0e", "0e", "2x0e")
    x1, x2, w = _inputs(spec, 0, torch.float32, 5)
    assert uvu_tensor_product(x1, x2, w, spec, backend="triton").shape == (0, 2)
    x1, x2, w = _inputs(spec, 4, torch.float32, 5)
    assert torch.equal(uvu_tensor_product(x1, x2, w, spec), uvu_tensor_product_reference(spec, x1, x2, w))


def test_bad_inputs():
    with pytest.raises(ValueError, match="mul_out == mul_in1"):
        uvu_spec("2x0e", "0e", "3x0e", [(0, 0, 0)])
    with pytest.raises(ValueError, match="parity or triangle"):
        uvu_spec("2x1o", "1o", "2x1o", [(0, 0, 0)])
    with pytest.raises(ValueError, match="out of range"):
        uvu_spec("2x0e", "0e", "2x0e", [(0, 1, 0)])
    with pytest.raises(ValueError, match="irreps_in1"):
        uvu_spec("2y0e", "0e", "2x0e")
    with pytest.raises(ValueError, match="path_normalization"):
        uvu_spec("2x0e", "0e", "2x0e", path_normalization="fan")
    spec = uvu_spec("2x0e+1x1o", "0e+1o", "2x0e+1x1o")
    x1, x2, w = _inputs(spec, 4, torch.float32, 6)
    with pytest.raises(ValueError, match="weight must have shape"):
        uvu_tensor_product(x1, x2, w[:, :-1], spec)
    with pytest.raises(ValueError, match="same number of rows"):
        uvu_tensor_product(x1, x2[:3], w, spec)
    with pytest.raises(TypeError, match="UVUSpec"):
        uvu_tensor_product(x1, x2, w, "2x0e")

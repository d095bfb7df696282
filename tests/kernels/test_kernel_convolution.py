from __future__ import annotations

import pytest
import torch

from workbench.kernels import (
    FusedConvolutionFunction,
    fused_convolution,
    fused_convolution_reference,
    prepare_graph,
    uvu_spec,
)

pytestmark = pytest.mark.kernels


def _problem(spec, nodes, edges, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(nodes, spec.dim_in1, generator=gen, dtype=dtype)
    vec = torch.randn(edges, 3, generator=gen, dtype=dtype)
    w = torch.randn(edges, spec.weight_numel, generator=gen, dtype=dtype)
    edge_index = torch.randint(0, nodes - 1, (2, edges), generator=gen)  # the last node has no edges
    edge_index[1, : edges // 3] = 0  # a node with many incoming edges: segments longer than one block
    return x, vec, w, edge_index


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize(("config", "normalize", "normalization"), [
    (("3x0e+2x1o+1x2e", "0e+1o+2e+3o", "3x0e+2x1o+1x2e+1x3o"), True, "component"),
    (("2x0e+2x1o", "0e+1o+2e", "2x0e+2x1o+2x2e+2x1e"), False, "integral"),
])
def test_kernel_matches_reference_float32(deterministic, config, normalize, normalization):
    spec = uvu_spec(*config)
    inputs = _problem(spec, 7, 40, torch.float32, 0)
    xk = [t.clone().requires_grad_() for t in inputs[:3]]
    xr = [t.clone().requires_grad_() for t in inputs[:3]]
    kwargs = dict(normalize=normalize, normalization=normalization)
    out_k = fused_convolution(*xk, inputs[3], spec, deterministic=deterministic, backend="triton", **kwargs)
    out_r = fused_convolution_reference(*xr, inputs[3], spec, **kwargs)
    assert (out_k - out_r).abs().max() <= 1e-5 * max(1.0, out_r.abs().max().item())
    assert torch.all(out_k[-1] == 0)
    g = torch.randn(out_r.shape, generator=torch.Generator().manual_seed(1))
    for gk, gr in zip(torch.autograd.grad(out_k, xk, g), torch.autograd.grad(out_r, xr, g)):
        assert (gk - gr).abs().max() <= 3e-4 * max(1.0, gr.abs().max().item())


def test_deterministic_is_reproducible_and_graph_reusable():
    spec = uvu_spec("40x0e+40x1o", "0e+1o", "40x0e+40x1o")  # two channel tiles
    x, vec, w, edge_index = _problem(spec, 5, 30, torch.float32, 2)
    graph = prepare_graph(edge_index, 5)
    first = fused_convolution(x, vec, w, graph, spec, deterministic=True, backend="triton")
    second = fused_convolution(x, vec, w, graph, spec, deterministic=True, backend="triton")
    assert torch.equal(first, second)
    reference = fused_convolution_reference(x, vec, w, edge_index, spec)
    assert (first - reference).abs().max() <= 1e-5 * max(1.0, reference.abs().max().item())


def test_reference_matches_e3nn_composition():
    o3 = pytest.importorskip("e3nn.o3")
    irreps = ("2x0e+2x1o", "0e+1o+2e", "2x0e+2x1o+2x2e")
    spec = uvu_spec(*irreps)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tp = o3.TensorProduct(*irreps, [(p.i_in1, p.i_in2, p.i_out, "uvu", True) for p in spec.paths],
                              internal_weights=False, shared_weights=False)
    finally:
        torch.set_default_dtype(previous)
    x, vec, w, edge_index = _problem(spec, 6, 25, torch.float64, 3)
    sh = o3.spherical_harmonics("0e+1o+2e", vec, True, normalization="component")
    expected = torch.zeros(6, spec.dim_out, dtype=torch.float64).index_add(
        0, edge_index[1], tp(x[edge_index[0]], sh, w))
    assert torch.allclose(fused_convolution_reference(x, vec, w, edge_index, spec), expected, atol=1e-12)


@pytest.mark.parametrize("deterministic", [False, True])
def test_double_backward_gradcheck_float64(deterministic):
    spec = uvu_spec("1x0e+1x1o", "0e+1o", "1x0e+1x1o")
    x, vec, w, edge_index = _problem(spec, 3, 4, torch.float64, 4)
    graph = prepare_graph(edge_index, 3)
    inputs = [t.requires_grad_() for t in (x, vec, w)]
    f = lambda a, b, c: FusedConvolutionFunction.apply(a, b, c, spec, graph, True, "component", deterministic)
    assert torch.autograd.gradcheck(f, inputs, fast_mode=True)
    assert torch.autograd.gradgradcheck(f, inputs, fast_mode=True)


def test_empty_edges_give_zeros():
    spec = uvu_spec("2x0e+1x1o", "0e+1o", "2x0e+1x1o")
    x = torch.randn(3, spec.dim_in1)
    for deterministic in (False, True):
        out = fused_convolution(x, torch.zeros(0, 3), torch.zeros(0, spec.weight_numel),
                                torch.zeros(2, 0, dtype=torch.int64), spec, deterministic=deterministic,
                                backend="triton")
        assert out.shape == (3, spec.dim_out) and torch.all(out == 0)


def test_bad_inputs():
    spec = uvu_spec("2x0e+1x1o", "0e+1o", "2x0e+1x1o")
    x, vec, w, edge_index = _problem(spec, 4, 6, torch.float32, 5)
    with pytest.raises(ValueError, match="must lie in 0..3"):
        fused_convolution(x, vec, w, edge_index + 4, spec)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        fused_convolution(x, vec, w, edge_index[0], spec)
    with pytest.raises(ValueError, match="one row per edge"):
        fused_convolution(x, vec[:-1], w, edge_index, spec)
    with pytest.raises(ValueError, match="spherical harmonics"):
        fused_convolution(x, vec, w, edge_index, uvu_spec("2x0e+1x1o", "0e+1e", "2x0e+1x1e"))
    with pytest.raises(TypeError, match="edge_index must have dtype torch.int32 or torch.int64"):
        prepare_graph(edge_index.float(), 4)

"""workbench.nn layers dispatch to the Triton kernels (``backend="triton"``) with the same numbers as torch."""

from __future__ import annotations

import pytest
import torch

from workbench.kernels import resolve_backend
from workbench.nn import EquivariantConvolution, SphericalHarmonics

pytestmark = pytest.mark.kernels


def _graph(n: int = 7, e: int = 20, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    pos = 2.0 * torch.randn(n, 3, generator=gen)
    src = torch.randint(0, n, (e,), generator=gen)
    dst = (src + torch.randint(1, n, (e,), generator=gen)) % n  # no self-loops: no zero-length edges
    return pos, torch.stack([src, dst])


def test_auto_is_torch_on_cpu_and_triton_needs_a_device_or_the_interpreter() -> None:
    assert resolve_backend("auto", torch.zeros(1)) == "torch"
    assert resolve_backend("triton", torch.zeros(1)) == "triton"  # the interpreter is on in these tests
    with pytest.raises(ValueError, match="backend must be one of"):
        SphericalHarmonics(2, backend="cuda")


@pytest.mark.parametrize("normalization", ["component", "integral"])
def test_spherical_harmonics_module_backends_agree(normalization: str) -> None:
    x = torch.randn(11, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    ref_mod = SphericalHarmonics("0e+1o+2e+3o", normalization=normalization, backend="torch")
    tri_mod = SphericalHarmonics("0e+1o+2e+3o", normalization=normalization, backend="triton")
    ref, tri = ref_mod(x), tri_mod(x)
    assert (tri - ref).abs().max() <= 1e-5 * max(1.0, float(ref.abs().max()))
    g = torch.randn_like(ref)
    (gr,) = torch.autograd.grad(ref, x, g)
    (gt,) = torch.autograd.grad(tri, x, g)
    assert (gt - gr).abs().max() <= 3e-4 * max(1.0, float(gr.abs().max()))


@pytest.mark.parametrize("deterministic", [False, True])
def test_convolution_backends_agree_forward_and_backward(deterministic: bool) -> None:
    torch.manual_seed(0)
    conv = EquivariantConvolution("4x0e+2x1o", "4x0e+2x1o+1x2e", lmax=2, r_max=6.0, backend="torch",
                                  deterministic=deterministic)
    pos, edge_index = _graph()
    x = torch.randn(pos.shape[0], conv.irreps_in.dim, generator=torch.Generator().manual_seed(2))
    pos.requires_grad_(True)
    ref = conv(x, pos, edge_index)
    conv.backend = "triton"
    tri = conv(x, pos, edge_index)
    assert (tri - ref).abs().max() <= 1e-5 * max(1.0, float(ref.abs().max()))
    g = torch.randn_like(ref)
    conv.backend = "torch"
    grads_ref = torch.autograd.grad(conv(x, pos, edge_index), [pos, *conv.parameters()], g)
    conv.backend = "triton"
    grads_tri = torch.autograd.grad(conv(x, pos, edge_index), [pos, *conv.parameters()], g)
    for a, b in zip(grads_tri, grads_ref):
        assert (a - b).abs().max() <= 3e-4 * max(1.0, float(b.abs().max()))


def test_convolution_double_backward_through_the_kernel_path() -> None:
    """Forces need d/dpos of the energy and its gradient w.r.t. the weights (double backward)."""
    torch.manual_seed(0)
    conv = EquivariantConvolution("2x0e+1x1o", "2x0e", lmax=1, r_max=6.0, backend="triton").double()
    pos, edge_index = _graph(n=5, e=10)
    pos = pos.double().requires_grad_(True)
    x = torch.randn(5, conv.irreps_in.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    energy = conv(x, pos, edge_index).sum()
    (forces,) = torch.autograd.grad(energy, pos, create_graph=True)
    loss = (forces**2).sum()
    grads_tri = torch.autograd.grad(loss, list(conv.parameters()))
    conv.backend = "torch"
    energy = conv(x, pos, edge_index).sum()
    (forces_ref,) = torch.autograd.grad(energy, pos, create_graph=True)
    grads_ref = torch.autograd.grad((forces_ref**2).sum(), list(conv.parameters()))
    assert torch.allclose(forces, forces_ref, atol=1e-10)
    for a, b in zip(grads_tri, grads_ref):
        assert torch.allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("shared", [False, True])
def test_tensor_product_backends_agree(shared: bool) -> None:
    from workbench.nn import TensorProduct

    irreps1, irreps2, irreps_out = "3x0e+2x1o+1x2e", "0e+1o+2e", "3x0e+2x1o+1x2e+1x1e"
    from workbench.groups import o3

    a, b, c = o3.Irreps(irreps1), o3.Irreps(irreps2), o3.Irreps(irreps_out)
    ins = [(i1, i2, io, "uvu", True) for i1, (m1, r1) in enumerate(a) for i2, (_, r2) in enumerate(b)
           for io, (mo, ro) in enumerate(c) if mo == m1 and ro in r1 * r2]
    torch.manual_seed(0)
    tp = TensorProduct(a, b, c, ins, shared_weights=shared, internal_weights=shared, backend="torch")
    x1 = torch.randn(9, a.dim, requires_grad=True)
    x2 = torch.randn(9, b.dim, requires_grad=True)
    w = None if shared else torch.randn(9, tp.weight_numel, requires_grad=True)
    ref = tp(x1, x2, w)
    tp.backend = "triton"
    tri = tp(x1, x2, w)
    assert (tri - ref).abs().max() <= 1e-5 * max(1.0, float(ref.abs().max()))
    inputs = [x1, x2] + ([tp.weight] if shared else [w])
    g = torch.randn_like(ref)
    for a_, b_ in zip(torch.autograd.grad(tri, inputs, g), torch.autograd.grad(ref, inputs, g)):
        assert (a_ - b_).abs().max() <= 3e-4 * max(1.0, float(b_.abs().max()))


def test_tensor_product_triton_rejects_products_the_kernel_does_not_cover() -> None:
    from workbench.nn import FullyConnectedTensorProduct

    with pytest.raises(ValueError, match="backend='triton' covers O\\(3\\) products"):
        FullyConnectedTensorProduct("2x0e+1x1o", "0e+1o", "2x0e+1x1o", backend="triton")

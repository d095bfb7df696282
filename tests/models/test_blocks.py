"""models.blocks.MACELayer: keyword-only construction, composed convolution, errors, scalar readout."""

from __future__ import annotations

import functools

import pytest
import torch

from workbench.groups import o3
from workbench.models.blocks import MACELayer
from workbench.nn import EquivariantConvolution

pytestmark = pytest.mark.unit


def _conv(**kw):
    return functools.partial(EquivariantConvolution, irreps_out=o3.Irreps.natural(4, 2), lmax=2, r_max=3.0,
                             radial_hidden=(8,), **kw)


def test_mace_layer_equivariant_and_reads_out_scalars(float64_default):
    layer = MACELayer(irreps_in="4x0e+4x1o", irreps_out="4x0e+4x1o", convolution=_conv(), correlation=2,
                      num_elements=3)
    assert isinstance(layer.conv, EquivariantConvolution) and layer.irreps_a == o3.Irreps.natural(4, 2)
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(6, 3, generator=g)
    h = torch.randn(6, layer.irreps_in.dim, generator=g)
    attrs = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).double()
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 3]])
    out = layer(h, attrs, pos, edge_index)
    R = o3.rand_matrix(generator=g, dtype=torch.float64)
    moved = layer(h @ layer.irreps_in.D_from_matrix(R).T, attrs, pos @ R.T, edge_index)
    assert (moved - out @ layer.irreps_out.D_from_matrix(R).T).abs().max() <= 1e-9 * out.abs().max()
    assert torch.equal(layer.scalars(out), out[:, :4])
    with pytest.raises(ValueError, match=rf"h must have shape \[\.\.\., {layer.irreps_out.dim}\]"):
        layer.scalars(out[:, :5])


def test_mace_layer_options_and_errors(float64_default):
    torch.manual_seed(0)
    plain = MACELayer(irreps_in="4x0e", irreps_out="4x0e", convolution=_conv(), correlation=2,
                      self_connection="linear", normalize_atomic_basis=True, eps=1e-30)
    g = torch.Generator().manual_seed(1)
    pos, h = torch.randn(4, 3, generator=g), torch.randn(4, 4, generator=g)
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    ones = torch.ones(4, 1)
    extra = torch.randn(4, plain.irreps_a.dim, generator=g)
    base = plain(h, ones, pos, edge_index)
    assert not torch.allclose(plain(h, ones, pos, edge_index, extra_basis=extra), base)
    # the RMS normalization makes A scale-free: scaling the convolution output does not change the layer
    with torch.no_grad():
        plain.conv.linear.weight.mul_(3.0)
    assert torch.allclose(plain(h, ones, pos, edge_index), base, atol=1e-10)
    with pytest.raises(ValueError, match="extra_basis must have shape"):
        plain(h, ones, pos, edge_index, extra_basis=extra[:, :3])
    with pytest.raises(TypeError):
        MACELayer("4x0e", "4x0e", _conv(), 2)  # keyword-only
    with pytest.raises(ValueError, match="self_connection must be one of"):
        MACELayer(irreps_in="4x0e", irreps_out="4x0e", convolution=_conv(), correlation=2, self_connection="x")
    with pytest.raises(ValueError, match="irreps_in =="):
        MACELayer(irreps_in="4x0e", irreps_out="4x0e", convolution=lambda irreps: _conv()("2x0e"), correlation=2)
    with pytest.raises(TypeError, match="convolution must be a callable"):
        MACELayer(irreps_in="4x0e", irreps_out="4x0e", convolution=3, correlation=2)
    with pytest.raises(ValueError, match="num_elements"):
        MACELayer(irreps_in="4x0e", irreps_out="4x0e", convolution=_conv(), correlation=2, num_elements=0)

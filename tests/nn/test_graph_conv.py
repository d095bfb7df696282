"""radius_graph (batched, periodic) and EquivariantConvolution (equivariance, errors, empty graphs, compile)."""

from __future__ import annotations

import itertools

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import o3
from workbench.nn import EquivariantConvolution, radius_graph, scatter_sum

pytestmark = pytest.mark.unit


def _brute(pos, r_max, batch, cell=None, reps=0):
    pairs = set()
    n = len(pos)
    shifts = [torch.zeros(3, dtype=pos.dtype)]
    if cell is not None:
        shifts = [torch.tensor(s, dtype=pos.dtype) @ cell for s in itertools.product(range(-reps, reps + 1), repeat=3)]
    for i in range(n):
        for j in range(n):
            if batch[i] != batch[j]:
                continue
            for s in shifts:
                if i == j and bool((s == 0).all()):
                    continue
                if float(torch.linalg.norm(pos[i] - pos[j] + s)) < r_max:
                    pairs.add((j, i, tuple(round(float(v), 6) for v in s)))
    return pairs


def test_radius_graph_batched_matches_brute_force(float64_default):
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(30, 3, generator=g) * 3
    batch = torch.tensor([0] * 10 + [1] * 12 + [2] * 8)
    ei, shifts = radius_graph(pos, 1.2, batch)
    got = {(int(a), int(b), tuple(round(float(v), 6) for v in s)) for a, b, s in zip(ei[0], ei[1], shifts)}
    assert got == _brute(pos, 1.2, batch)
    assert ei.dtype == torch.long and ei.shape[0] == 2


def test_radius_graph_periodic(float64_default):
    g = torch.Generator().manual_seed(1)
    cell = torch.tensor([[2.0, 0.0, 0.0], [0.3, 2.2, 0.0], [0.1, 0.2, 2.5]])
    pos = torch.rand(6, 3, generator=g) @ cell
    ei, shifts = radius_graph(pos, 2.4, cell=cell, pbc=torch.tensor([True, True, True]))
    got = {(int(a), int(b), tuple(round(float(v), 6) for v in s)) for a, b, s in zip(ei[0], ei[1], shifts)}
    assert got == _brute(pos, 2.4, torch.zeros(6), cell=cell, reps=3)
    vec = pos[ei[1]] - pos[ei[0]] + shifts
    assert bool((vec.norm(dim=-1) < 2.4).all())


def test_radius_graph_errors():
    with pytest.raises(ValueError, match="pos"):
        radius_graph(torch.randn(4, 2), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        radius_graph(torch.tensor([[0.0, 0.0, float("nan")]]), 1.0)
    with pytest.raises(ValueError, match="r_max"):
        radius_graph(torch.randn(4, 3), -1.0)
    with pytest.raises(ValueError, match="cell is required"):
        radius_graph(torch.randn(4, 3), 1.0, pbc=torch.tensor([True, False, False]))
    ei, sh = radius_graph(torch.zeros(0, 3), 1.0)
    assert ei.shape == (2, 0) and sh.shape == (0, 3)


def _conv():
    return EquivariantConvolution("4x0e+4x1o", "4x0e+4x1o+2x2e", lmax=2, r_max=2.0, radial_hidden=(16,))


def test_convolution_equivariance(float64_default):
    conv = _conv()
    g = torch.Generator().manual_seed(2)
    pos = torch.randn(12, 3, generator=g)
    ei, _ = radius_graph(pos, 2.0)
    assert ei.shape[1] > 0
    a, b = o3.Irreps("4x0e+4x1o"), o3.Irreps("4x0e+4x1o+2x2e")
    x = torch.randn(12, a.dim, generator=g)
    out = conv(x, pos, ei)
    for _ in range(5):
        R = random_o3(g)
        t = torch.randn(3, generator=g)
        assert rel_err(conv(x @ a.D_from_matrix(R).T, pos @ R.T + t, ei), out @ b.D_from_matrix(R).T) <= 1e-9


def test_convolution_periodic_and_scatter(float64_default):
    conv = _conv()
    cell = torch.eye(3) * 2.5
    pos = torch.rand(5, 3, generator=torch.Generator().manual_seed(3)) * 2.5
    ei, shifts = radius_graph(pos, 2.0, cell=cell, pbc=torch.tensor([True, True, True]))
    x = o3.Irreps("4x0e+4x1o").randn(5, -1)
    y = conv(x, pos, ei, shifts)
    assert y.shape == (5, conv.irreps_out.dim) and torch.isfinite(y).all()
    assert torch.equal(
        scatter_sum(torch.ones(4, 2), torch.tensor([0, 2, 2, 0]), 3), torch.tensor([[2.0] * 2, [0.0] * 2, [2.0] * 2])
    )


def test_convolution_empty_graph_and_errors():
    conv = _conv()
    x, pos = torch.randn(4, 16), torch.randn(4, 3)
    out = conv(x, pos, torch.zeros(2, 0, dtype=torch.long))
    assert out.shape == (4, conv.irreps_out.dim) and bool((out == 0).all())
    with pytest.raises(ValueError, match="edge_index has entries"):
        conv(x, pos, torch.tensor([[0, 1], [1, 4]]))
    with pytest.raises(ValueError, match="shape \\[2, E\\]"):
        conv(x, pos, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="x must have shape"):
        conv(torch.randn(4, 15), pos, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="zero-length"):
        conv(x, torch.zeros(4, 3), torch.tensor([[0], [1]]))


def test_convolution_double_backward_forces(float64_default):
    conv = EquivariantConvolution("2x0e+1x1o", "2x0e", lmax=1, r_max=3.0, radial_hidden=(4,))
    pos = torch.randn(4, 3, generator=torch.Generator().manual_seed(4)).requires_grad_(True)
    ei, _ = radius_graph(pos.detach(), 3.0)
    x = torch.randn(4, 5, dtype=torch.float64)
    energy = conv(x, pos, ei).sum()
    forces = -torch.autograd.grad(energy, pos, create_graph=True)[0]
    forces.pow(2).sum().backward()
    assert conv.radial.weights[0].grad is not None and torch.isfinite(conv.radial.weights[0].grad).all()


def test_convolution_compile():
    conv = _conv()
    pos = torch.randn(8, 3)
    ei, _ = radius_graph(pos, 2.0)
    x = torch.randn(8, 16)
    compiled = torch.compile(conv, backend="eager")
    assert torch.allclose(compiled(x, pos, ei), conv(x, pos, ei), atol=1e-5)


def test_convolution_any_group_with_given_edge_features(lorentz, float64_default):
    """group=Lorentz, irreps_edge given, edge_attr/edge_scalars passed in: equivariant under random boosts."""
    from workbench.groups import Irreps

    conv = EquivariantConvolution(Irreps(lorentz, "2x(0,0)+2x(1/2,1/2)"), Irreps(lorentz, "3x(0,0)+2x(1/2,1/2)"),
                                  num_basis=3, radial_hidden=(8,), group=lorentz,
                                  irreps_edge=Irreps(lorentz, "(0,0)+(1/2,1/2)"))
    assert conv.sh is None and conv.irreps_edge == Irreps(lorentz, "(0,0)+(1/2,1/2)")
    g = torch.Generator().manual_seed(0)
    x = conv.irreps_in.randn(5, -1, generator=g)
    y = conv.irreps_edge.randn(7, -1, generator=g)
    s = torch.randn(7, 3, generator=g)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0, 2], [1, 2, 3, 4, 0, 0, 4]])
    out = conv(x, None, edge_index, edge_attr=y, edge_scalars=s)
    assert out.shape == (5, conv.irreps_out.dim) and out.abs().max() > 0
    for _ in range(3):
        el = lorentz.random_element(g)
        d_in, d_e, d_out = (r.matrix(el) for r in (conv.irreps_in, conv.irreps_edge, conv.irreps_out))
        moved = conv(x @ d_in.T.to(x.dtype), None, edge_index, edge_attr=y @ d_e.T.to(y.dtype), edge_scalars=s)
        assert rel_err(moved, out @ d_out.T.to(out.dtype)) <= 1e-9
    with pytest.raises(ValueError, match="irreps_edge is required"):
        EquivariantConvolution(Irreps(lorentz, "(0,0)"), Irreps(lorentz, "(0,0)"), group=lorentz)
    with pytest.raises(ValueError, match="pass both edge_attr"):
        conv(x, None, edge_index, edge_attr=y)
    with pytest.raises(ValueError, match="edge_scalars must have shape"):
        conv(x, None, edge_index, edge_attr=y, edge_scalars=s[:, :2])


def test_convolution_hooks_are_overridable(float64_default):
    """A subclass that overrides one hook (here: mean aggregation) keeps the rest; the fused path is skipped."""

    class MeanConvolution(EquivariantConvolution):
        def aggregate(self, messages, edge_index, num_nodes):
            total = super().aggregate(messages, edge_index, num_nodes) * self.avg_num_neighbors
            count = torch.zeros(num_nodes, dtype=messages.dtype).index_add(0, edge_index[1],
                                                                           torch.ones_like(messages[:, 0]))
            return total / count.clamp(min=1)[:, None]

    torch.manual_seed(0)
    base = EquivariantConvolution("2x0e+1x1o", "2x0e+1x1o", lmax=1, r_max=3.0, radial_hidden=(4,))
    torch.manual_seed(0)
    mean = MeanConvolution("2x0e+1x1o", "2x0e+1x1o", lmax=1, r_max=3.0, radial_hidden=(4,))
    assert not mean._fusable() and base._fusable()
    g = torch.Generator().manual_seed(1)
    pos = torch.randn(4, 3, generator=g)
    x = torch.randn(4, base.irreps_in.dim, generator=g)
    edge_index = torch.tensor([[0, 2, 3, 0], [1, 1, 1, 2]])  # node 1 receives 3 messages, node 2 one
    mids = {}
    base.linear.register_forward_hook(lambda m, i, o: mids.__setitem__("base", i[0]))
    mean.linear.register_forward_hook(lambda m, i, o: mids.__setitem__("mean", i[0]))
    base(x, pos, edge_index), mean(x, pos, edge_index)
    assert torch.allclose(mids["mean"][1] * 3, mids["base"][1] * base.avg_num_neighbors)
    assert torch.allclose(mids["mean"][2], mids["base"][2] * base.avg_num_neighbors)
    R = random_o3(g)
    a, b = o3.Irreps("2x0e+1x1o"), o3.Irreps("2x0e+1x1o")
    assert rel_err(mean(x @ a.D_from_matrix(R).T, pos @ R.T, edge_index),
                   mean(x, pos, edge_index) @ b.D_from_matrix(R).T) <= 1e-9

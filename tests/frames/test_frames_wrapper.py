"""FrameMessagePassing makes unrelated existing architectures O(3)-equivariant without changing their code: the
project's EquivariantConvolution (fed vectors as if they were scalars) and a stock torch_geometric PointNetConv and
EdgeConv; each unwrapped fails the same test; with identity frames the wrapper computes the module itself."""

from __future__ import annotations

import pytest
import torch

from workbench.frames import FrameMessagePassing, LearnedFrames, PCAFrames, TensorReps, knn_graph
from workbench.frames.mpnn import EdgeMLPConv
from workbench.nn import EquivariantConvolution

pytestmark = pytest.mark.unit
TOL = 1e-9


def _orthogonal(det: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.sign(torch.linalg.det(q)) == det else -q


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(0)
    pos = torch.randn(1, 30, 3, dtype=torch.float64)
    return pos[0], knn_graph(pos, 6)


def _check(layer, reps_in, reps_out, graph, frames_from, equivariant: bool):
    pos, ei = graph
    wrapped = FrameMessagePassing(layer, reps_in, reps_out)
    x = torch.randn(pos.shape[0], wrapped.reps_in.dim, dtype=torch.float64)
    with torch.no_grad():
        out = wrapped(x, pos, ei, frames_from(pos, ei).matrix)
        plain = layer(x, pos, ei) if wrapped.positions else layer(x, ei)
        for det in (1.0, -1.0):
            q = _orthogonal(det, 3)
            qn = q.expand(pos.shape[0], 3, 3)
            gx = torch.einsum("nij,nj->ni", wrapped.reps_in.matrix(qn), x)
            expect = torch.einsum("nij,nj->ni", wrapped.reps_out.matrix(qn), out)
            got = wrapped(gx, pos @ q.T, ei, frames_from(pos @ q.T, ei).matrix)
            assert (got - expect).abs().max() <= TOL * expect.abs().max()
            # the unwrapped module is not equivariant on the same input
            plain_g = layer(gx, pos @ q.T, ei) if wrapped.positions else layer(gx, ei)
            plain_expect = torch.einsum("nij,nj->ni", wrapped.reps_out.matrix(qn), plain)
            assert ((plain_g - plain_expect).abs().max() > 1e-3 * plain_expect.abs().max()) == (not equivariant)


def test_project_convolution_in_frames(graph):
    """EquivariantConvolution with irreps '4x0e' is fed a scalar and a vector ('1x0+1x1') as four scalars: plain it
    is not equivariant for that input, in frames it is."""
    torch.manual_seed(1)
    conv = EquivariantConvolution("4x0e", "4x0e", lmax=2, r_max=3.0).double()
    _check(conv, "1x0+1x1", "1x0+1x1", graph, PCAFrames(), equivariant=False)


def test_own_mpnn_layer_in_learned_frames(graph):
    torch.manual_seed(2)
    reps = TensorReps("2x0+1x1+1x2")
    _check(EdgeMLPConv(reps.dim, reps.dim, 16).double(), reps, reps, graph, LearnedFrames().double(), False)


def test_stock_pyg_pointnetconv_in_frames(graph):
    pyg = pytest.importorskip("torch_geometric.nn")
    torch.manual_seed(3)
    local = torch.nn.Sequential(torch.nn.Linear(4 + 3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16))
    glob = torch.nn.Linear(16, 4)
    layer = pyg.PointNetConv(local, glob).double()
    _check(layer, "1x0+1x1", "1x0+1x1", graph, LearnedFrames().double(), equivariant=False)


def test_stock_pyg_edgeconv_without_positions(graph):
    pyg = pytest.importorskip("torch_geometric.nn")
    torch.manual_seed(4)
    layer = pyg.EdgeConv(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)),
                         aggr="max").double()
    assert not FrameMessagePassing(layer, "1x0+1x1", "1x0+1x1").positions
    _check(layer, "1x0+1x1", "1x0+1x1", graph, PCAFrames(), equivariant=False)


def test_identity_frames_compute_the_module_itself(graph):
    pos, ei = graph
    torch.manual_seed(5)
    layer = EdgeMLPConv(4, 4, 16).double()
    x = torch.randn(pos.shape[0], 4, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64).expand(pos.shape[0], 3, 3)
    wrapped = FrameMessagePassing(layer, "1x0+1x1", "1x0+1x1")
    assert torch.allclose(wrapped(x, pos, ei, eye), layer(x, pos, ei), atol=1e-12)


def test_wrapper_rejects_bad_input(graph):
    pos, ei = graph
    wrapped = FrameMessagePassing(EdgeMLPConv(4, 4, 8).double(), "1x0+1x1", "1x0+1x1")
    x = torch.randn(pos.shape[0], 4, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64).expand(pos.shape[0], 3, 3)
    with pytest.raises(ValueError, match="x must have shape"):
        wrapped(x[:, :3], pos, ei, eye)
    with pytest.raises(ValueError, match="frames"):
        wrapped(x, pos, ei, eye[:3])
    bad = pos.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="pos"):
        wrapped(x, bad, ei, eye)
    with pytest.raises(ValueError, match="reps_out"):
        FrameMessagePassing(EdgeMLPConv(4, 5, 8).double(), "1x0+1x1", "1x0+1x1")(x, pos, ei, eye)
    with pytest.raises(ValueError, match="cannot parse reps"):
        TensorReps("1xq")
    with pytest.raises(ValueError, match="needs d=3"):
        TensorReps("1x1o", d=4)

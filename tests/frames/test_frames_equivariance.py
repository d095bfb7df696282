"""Exact O(3) equivariance of every Tensor-Frames model in float64 under rotations AND reflections (<= 1e-9), the
same networks without frames failing the same test, permutation equivariance, and O(d) frames for d = 2, 4, 5."""

from __future__ import annotations

import pytest
import torch

from workbench.frames import (
    FramesMPNN,
    FramesPointNet2,
    LearnedFrames,
    PCAFrames,
    ShapeMACENormals,
    TensorReps,
    gram_schmidt_frames,
    knn_graph,
)
from workbench.groups import o3

pytestmark = pytest.mark.unit
TOL = 1e-9


def _orthogonal(d: int, det: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.sign(torch.linalg.det(q)) != det:
        q[:, 0] = -q[:, 0]
    return q


@pytest.fixture(scope="module")
def clouds():
    return torch.randn(2, 40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


MODELS = {
    "frames_pointnet2_learned": lambda: FramesPointNet2("learned", k=8, k2=12, mlp_hidden=16),
    "frames_pointnet2_pca": lambda: FramesPointNet2("pca", k=8, k2=12, mlp_hidden=16),
    "frames_mpnn_learned": lambda: FramesMPNN("learned", k=8, num_layers=2, mlp_hidden=16),
    "frames_mpnn_pca": lambda: FramesMPNN("pca", k=8, num_layers=2, mlp_hidden=16),
}


def _error(model, x, q) -> float:
    with torch.no_grad():
        return float((model(x @ q.T) - model(x) @ q.T).abs().max() / model(x).abs().max())


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("det", [1.0, -1.0], ids=["rotation", "reflection"])
def test_frames_models_exactly_o3_equivariant(name, det, clouds):
    torch.manual_seed(0)
    model = MODELS[name]().double().eval()
    for seed in range(3):
        assert _error(model, clouds, _orthogonal(3, det, seed)) <= TOL
    assert model.last_degenerate == 0  # generic clouds never take the fallback


@pytest.mark.parametrize("cls", [FramesPointNet2, FramesMPNN])
@pytest.mark.parametrize("det", [1.0, -1.0], ids=["rotation", "reflection"])
def test_same_networks_without_frames_fail(cls, det, clouds):
    torch.manual_seed(0)
    model = cls("none", k=8).double().eval()
    assert _error(model, clouds, _orthogonal(3, det, 1)) > 1e-2


def test_shape_mace_peer_equivariant(clouds):
    torch.manual_seed(0)
    model = ShapeMACENormals(channels=4, num_layers=2).double().eval()
    for det in (1.0, -1.0):
        assert _error(model, clouds, _orthogonal(3, det, 2)) <= TOL


@pytest.mark.parametrize("name", sorted(MODELS))
def test_frames_models_permutation_equivariant(name, clouds):
    torch.manual_seed(0)
    model = MODELS[name]().double().eval()
    perm = torch.randperm(clouds.shape[1], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(model(clouds[:, perm]), model(clouds)[:, perm], atol=1e-10, rtol=0)


@pytest.mark.parametrize("d", [2, 3, 4, 5])
@pytest.mark.parametrize("predictor", ["learned", "pca"])
def test_frames_follow_o_d(d, predictor):
    """Frames transform as F -> F g^T for g in O(d), reflections included; rank-2 tensors change frame exactly."""
    torch.manual_seed(0)
    x = torch.randn(1, 30, d, dtype=torch.float64)
    ei = knn_graph(x, 2 * d + 2)
    pred = LearnedFrames(d).double() if predictor == "learned" else PCAFrames()
    f = pred(x[0], ei)
    assert not bool(f.degenerate.any())
    assert torch.allclose(f.matrix @ f.matrix.mT, torch.eye(d, dtype=torch.float64).expand_as(f.matrix), atol=1e-12)
    for det in (1.0, -1.0):
        g = _orthogonal(d, det, 7)
        f2 = pred(x[0] @ g.T, ei)
        assert (f2.matrix - f.matrix @ g.T).abs().max() <= TOL
        reps = TensorReps("2x0+1x1+1x2+1x1p", d)
        feats = torch.randn(30, reps.dim, dtype=torch.float64)
        rho_g = reps.matrix(g.expand(30, d, d))
        local = reps.transform(feats, f.matrix)
        assert torch.allclose(reps.transform(torch.einsum("nij,nj->ni", rho_g, feats), f2.matrix), local, atol=1e-10)


def test_without_orientation_frames_miss_reflections():
    """SO(d) frames (orientation=False) follow rotations only: the handedness sign is what makes reflections work."""
    v = torch.randn(6, 4, 3, dtype=torch.float64)
    g = _orthogonal(3, -1.0, 0)
    so = gram_schmidt_frames(v, orientation=False)
    assert (gram_schmidt_frames(v @ g.T, orientation=False).matrix - so.matrix @ g.T).abs().max() > 0.1
    full = gram_schmidt_frames(v)
    assert (gram_schmidt_frames(v @ g.T).matrix - full.matrix @ g.T).abs().max() <= TOL
    assert set(torch.linalg.det(full.matrix).round().tolist()) <= {1.0, -1.0}


def test_tensor_reps_irreps_match_wigner_d():
    """O(3) irreps segments use the group's Wigner D (with parity); Cartesian rank 2 is R (x) R."""
    f = torch.stack([_orthogonal(3, 1.0, 0), _orthogonal(3, -1.0, 1)])
    reps = TensorReps(o3.Irreps("1x0e+1x1o+1x2e+1x1e"))
    assert torch.allclose(reps.matrix(f), o3.Irreps("1x0e+1x1o+1x2e+1x1e").D_from_matrix(f), atol=1e-12)
    cart = TensorReps("1x2")
    kron = torch.stack([torch.kron(m, m) for m in f])
    assert torch.allclose(cart.matrix(f), kron, atol=1e-12)
    pseudo = TensorReps("1x1p").matrix(f)
    assert torch.allclose(pseudo, f * torch.linalg.det(f)[:, None, None], atol=1e-12)
    # change_frame = rho(F_to) rho(F_from)^T
    x = torch.randn(2, reps.dim, dtype=torch.float64)
    expected = torch.einsum("nij,nkj,nk->ni", reps.matrix(f.flip(0)), reps.matrix(f), x)
    assert torch.allclose(reps.change_frame(x, f, f.flip(0)), expected, atol=1e-12)

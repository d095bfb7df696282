"""Bad input to the frames: too few neighbours or points, coincident points, collinear and planar neighbourhoods,
non-finite coordinates. Each gives a clear error or the documented fallback (flagged), never NaN."""

from __future__ import annotations

import pytest
import torch

from workbench.frames import FramesMPNN, FramesPointNet2, LearnedFrames, PCAFrames, gram_schmidt_frames, knn_graph

pytestmark = pytest.mark.unit


def test_too_few_points_for_k_neighbours():
    with pytest.raises(ValueError, match="need at least 9"):
        knn_graph(torch.randn(1, 5, 3), 8)
    with pytest.raises(ValueError, match="need at least 17"):
        FramesMPNN(k=16)(torch.randn(1, 10, 3))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        knn_graph(torch.randn(1, 5, 3), 0)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_coordinates_raise(value):
    x = torch.randn(2, 20, 3)
    x[1, 7, 2] = value
    with pytest.raises(ValueError, match="cloud 1 point 7"):
        FramesPointNet2(k=4)(x)
    with pytest.raises(ValueError, match="finite"):
        LearnedFrames()(x.reshape(-1, 3), knn_graph(torch.randn(2, 20, 3), 4))


def test_candidates_fewer_than_d_raise():
    with pytest.raises(ValueError, match="m >= d"):
        gram_schmidt_frames(torch.randn(4, 2, 3))


@pytest.mark.parametrize("predictor", [LearnedFrames, PCAFrames])
def test_degenerate_neighbourhoods_fall_back_flagged(predictor):
    """Collinear points (no second axis), all-coincident clouds (no axis at all) and a node without edges take the
    fallback: finite orthogonal frames, flagged; a generic neighbourhood is not flagged."""
    torch.manual_seed(0)
    line = torch.linspace(-1, 1, 10, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 2.0, -0.5]],
                                                                                  dtype=torch.float64)
    same = torch.ones(10, 3, dtype=torch.float64)
    generic = torch.randn(10, 3, dtype=torch.float64)
    pos = torch.stack([line, same, generic])  # three clouds of 10 points
    ei = knn_graph(pos, 4)
    ei = ei[:, ei[1] != 29]  # node 29 receives nothing
    pred = predictor().double() if predictor is LearnedFrames else predictor()
    frames = pred(pos.reshape(-1, 3), ei)
    assert torch.isfinite(frames.matrix).all()
    eye = torch.eye(3, dtype=torch.float64).expand(30, 3, 3)
    assert torch.allclose(frames.matrix @ frames.matrix.mT, eye, atol=1e-12)
    assert frames.degenerate[:20].all() and frames.degenerate[29]
    assert not frames.degenerate[20:29].any()


def test_coincident_points_in_a_model_give_finite_outputs_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(1, 24, 3, dtype=torch.float64)
    x[0, 5] = x[0, 6] = x[0, 7]  # three coincident points
    for model in (FramesMPNN("learned", k=6, num_layers=2), FramesPointNet2("learned", k=6, k2=8)):
        model = model.double()
        x_req = x.clone().requires_grad_(True)
        out = model(x_req)
        assert torch.isfinite(out).all()
        out.square().sum().backward()
        assert torch.isfinite(x_req.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_all_points_coincident_is_a_clear_error():
    with pytest.raises(ValueError, match="same position"):
        FramesMPNN(k=4)(torch.ones(1, 10, 3))

"""Group actions: generators, finite elements, image resampling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from workbench.equivariance import (
    ImageAction,
    euclidean_on_points,
    lorentz_generators_vector,
    lorentz_on_four_vectors,
    o3_irreps,
    random_rotation_parameters,
    so3_generators_vector,
    so3_on_points,
)
from workbench.equivariance.resampling import resample

pytestmark = pytest.mark.unit

DT = torch.float64


def test_so3_generators_rotate_counterclockwise_about_z() -> None:
    rot = so3_on_points().matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=DT))
    x = torch.tensor([1.0, 0.0, 0.0], dtype=DT)
    assert torch.allclose(rot @ x, torch.tensor([0.0, 1.0, 0.0], dtype=DT), atol=1e-14)
    gens = so3_generators_vector()
    # [L_x, L_y] = L_z
    assert torch.allclose(gens[0] @ gens[1] - gens[1] @ gens[0], gens[2])


def test_random_rotations_are_rotations_with_angles_up_to_pi() -> None:
    theta = random_rotation_parameters(200, torch.Generator().manual_seed(1))
    assert theta.norm(dim=1).max() <= math.pi + 1e-12
    mats = torch.stack([so3_on_points().matrix(t) for t in theta])
    eye = torch.eye(3, dtype=DT).expand(200, 3, 3)
    assert torch.allclose(mats @ mats.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(mats), torch.ones(200, dtype=DT))
    # Haar: the mean of R is 0 (a biased sampler, e.g. small angles only, fails this)
    assert mats.mean(0).abs().max() < 0.15


def test_lorentz_generators_preserve_minkowski_metric_and_boost_formula() -> None:
    eta = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=DT))
    for g in lorentz_generators_vector():
        assert torch.allclose(g.T @ eta + eta @ g, torch.zeros(4, 4, dtype=DT))
    rep = lorentz_on_four_vectors()
    rapidity = 0.7
    p = torch.tensor([2.0, 0.3, -0.4, 1.1], dtype=DT)
    boosted = rep.act(p, torch.tensor([0, 0, 0, rapidity, 0, 0], dtype=DT))
    ch, sh = math.cosh(rapidity), math.sinh(rapidity)
    expected = torch.tensor([ch * 2.0 + sh * 0.3, sh * 2.0 + ch * 0.3, -0.4, 1.1], dtype=DT)
    assert torch.allclose(boosted, expected, atol=1e-13)
    theta = rep.sample_parameters(5, torch.Generator().manual_seed(0))
    for t in theta:
        q = rep.act(p, t)
        assert torch.allclose(q @ eta @ q, p @ eta @ p, atol=1e-12)


def test_o3_irreps_generators_match_e3nn() -> None:
    e3nn_o3 = pytest.importorskip("e3nn.o3")
    irreps = "2x0e+1x1o+1x2e"
    rep = o3_irreps(irreps)
    theta = torch.tensor([0.3, -1.1, 0.7], dtype=DT)
    ours = rep.matrix(theta)
    rot = so3_on_points().matrix(theta)
    theirs = e3nn_o3.Irreps(irreps).D_from_matrix(rot)
    assert torch.allclose(ours, theirs.to(DT), atol=1e-10)


def test_affine_action_composes_rotation_translation_and_scaling() -> None:
    rep = euclidean_on_points(scaling=True)
    assert rep.generator_names == ("rot_x", "rot_y", "rot_z", "trans_x", "trans_y", "trans_z", "scale")
    x = torch.randn(5, 3, dtype=DT)
    shifted = rep.act(x, torch.tensor([0, 0, 0, 1.5, 0, -2.0, 0], dtype=DT))
    assert torch.allclose(shifted, x + torch.tensor([1.5, 0.0, -2.0], dtype=DT))
    scaled = rep.act(x, torch.tensor([0, 0, 0, 0, 0, 0, math.log(2.0)], dtype=DT))
    assert torch.allclose(scaled, 2 * x)


def test_resample_matches_grid_sample() -> None:
    torch.manual_seed(0)
    img = torch.randn(2, 3, 9, 11, dtype=DT)
    rows = torch.rand(7, 5, dtype=DT) * 10 - 0.5
    cols = torch.rand(7, 5, dtype=DT) * 12 - 0.5
    grid = torch.stack([cols / 10 * 2 - 1, rows / 8 * 2 - 1], dim=-1)[None].expand(2, 7, 5, 2)
    for mode in ("bicubic", "bilinear"):
        ours = resample(img, rows, cols, mode=mode)
        ref = F.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=True)
        assert torch.allclose(ours, ref, atol=1e-12), mode


def test_image_rotation_by_quarter_turn_is_exact_and_counterclockwise() -> None:
    img = torch.zeros(1, 7, 7, dtype=DT)
    img[0, 3, 6] = 1.0  # right middle
    rep = ImageAction(("rotation",))
    out = rep.act(img, torch.tensor([math.pi / 2], dtype=DT))
    assert torch.allclose(out, torch.rot90(img, 1, dims=(-2, -1)), atol=1e-12)
    assert out[0, 0, 3] == pytest.approx(1.0, abs=1e-12)  # moved to the top middle
    moved = ImageAction(("translation_x",)).act(img, torch.tensor([-2.0], dtype=DT))
    assert moved[0, 3, 4] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: so3_on_points().act(torch.zeros(4, 2, dtype=DT), torch.zeros(3, dtype=DT)), ValueError),
        (lambda: so3_on_points().act(torch.zeros(4, 3, dtype=DT), torch.zeros(2, dtype=DT)), ValueError),
        (lambda: so3_on_points().act(torch.zeros(4, 3, dtype=torch.int64), torch.zeros(3)), TypeError),
        (lambda: so3_on_points().direction("rot_w"), ValueError),
        (lambda: so3_on_points().direction(5), ValueError),
        (lambda: ImageAction(("shear",)), ValueError),
        (lambda: ImageAction(interpolation="nearest"), ValueError),
        (lambda: o3_irreps("3xfoo"), ValueError),
        (lambda: euclidean_on_points(False, False, False), ValueError),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, error) -> None:
    with pytest.raises(error):
        call()


def test_lorentz_generators_agree_with_workbench_groups() -> None:
    groups = pytest.importorskip("workbench.groups")
    theirs = torch.as_tensor(groups.Lorentz().vector_representation().generators, dtype=DT)
    assert torch.allclose(theirs, lorentz_generators_vector(), atol=1e-12)
    # the same algebra coordinates give the same 4x4 matrix through SL(2, C)
    coords = torch.tensor([0.3, -0.5, 0.8, 0.4, 0.1, -0.7], dtype=DT)
    lam = groups.Lorentz().vector_matrix(groups.Lorentz().exp(coords))
    assert torch.allclose(lorentz_on_four_vectors().matrix(coords), lam.to(DT), atol=1e-10)

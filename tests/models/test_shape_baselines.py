"""workbench.models.shape_features and augmentation: invariant features against analytic cases (a sphere's inertia
eigenvalues, a rod, a cube's distance histogram), their O(3)/translation/permutation/scale invariance, the logistic
regression on them, and random O(3) augmentation (Haar, train mode only)."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.models.augmentation import RandomO3Augmentation, random_orthogonal_matrices
from workbench.models.shape_features import InvariantFeatureClassifier, inertia_eigenvalues, shape_invariant_features

pytestmark = pytest.mark.unit


def _fibonacci_sphere(n: int, radius: float) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1 - 2 * i / n
    phi = math.pi * (1 + 5**0.5) * i
    rho = (1 - z**2).sqrt()
    return radius * torch.stack([rho * torch.cos(phi), rho * torch.sin(phi), z], dim=1)


def test_inertia_eigenvalues_analytic():
    sphere = _fibonacci_sphere(4000, 1.5)[None]
    torch.testing.assert_close(inertia_eigenvalues(sphere), torch.full((1, 3), 2 * 1.5**2 / 3, dtype=torch.float64),
                               rtol=1e-3, atol=0)
    rod = torch.stack([torch.linspace(-1, 1, 1001, dtype=torch.float64), torch.zeros(1001, dtype=torch.float64),
                       torch.zeros(1001, dtype=torch.float64)], dim=1)[None] + 3.0  # off-centre: about the centroid
    eig = inertia_eigenvalues(rod)[0]
    assert float(eig[0]) == pytest.approx(0.0, abs=1e-12)
    assert float(eig[1]) == pytest.approx(float(eig[2])) and float(eig[2]) == pytest.approx(1 / 3, rel=1e-2)


def test_features_are_invariant_and_describe_shapes():
    g = torch.Generator().manual_seed(0)
    points = torch.randn(5, 40, 3, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.3])
    feats = shape_invariant_features(points)
    assert feats.shape == (5, 1 + 11 + 3 + 16)
    q = random_orthogonal_matrices(5, True, generator=g)
    assert bool((torch.linalg.det(q) < 0).any())
    perm = torch.randperm(40, generator=g)
    moved = (points[:, perm] @ q.mT) * 2.5 + torch.tensor([1.0, -2.0, 0.5])
    expected = feats.clone()
    expected[:, 0] += math.log(2.5)  # log r_rms is the one scale-dependent feature
    torch.testing.assert_close(shape_invariant_features(moved), expected, rtol=1e-9, atol=1e-9)
    # a sphere: all radial quantiles 1, equal inertia eigenvalues (1/3 each after normalization)
    sphere = shape_invariant_features(_fibonacci_sphere(500, 2.0)[None])[0]
    torch.testing.assert_close(sphere[1:12], torch.ones(11, dtype=torch.float64), atol=1e-3, rtol=0)  # centroid ~ 0
    torch.testing.assert_close(sphere[12:15], torch.full((3,), 1 / 3, dtype=torch.float64), rtol=1e-2, atol=0)
    assert float(sphere[15:].sum()) == pytest.approx(1.0)
    # the 8 corners of a cube: pairwise distances (over r_rms = sqrt(3)) 2/sqrt(3) (12), 2 sqrt(2/3) (12), 2 (4)
    cube = torch.tensor([[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)])[None]
    hist = shape_invariant_features(cube, num_bins=8, max_distance=4.0)[0, 15:]
    expected_hist = torch.zeros(8, dtype=torch.float64)
    for d, count in ((2 / 3**0.5, 12), (2 * (2 / 3) ** 0.5, 12), (2.0, 4)):
        expected_hist[int(d / 4.0 * 8)] += count / 28
    torch.testing.assert_close(hist, expected_hist)
    with pytest.raises(ValueError, match=r"points must be a tensor \[B, P, 3\]"):
        shape_invariant_features(points[..., :2])
    with pytest.raises(ValueError, match="finite"):
        shape_invariant_features(points * float("nan"))
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1"):
        shape_invariant_features(points, num_bins=0)


def test_invariant_feature_classifier():
    g = torch.Generator().manual_seed(1)
    points = torch.randn(12, 30, 3, generator=g)
    model = InvariantFeatureClassifier(3).standardize_from(points)
    torch.testing.assert_close(model.features(points).mean(0), torch.zeros(31, dtype=torch.float64), atol=1e-9,
                               rtol=0)
    logits = model(points)
    assert logits.shape == (12, 3) and logits.dtype == torch.get_default_dtype()
    q = random_orthogonal_matrices(12, True, generator=g, dtype=points.dtype)
    torch.testing.assert_close(model(points @ q.mT), logits, atol=1e-4, rtol=0)
    logits.sum().backward()
    assert model.linear.weight.grad is not None
    assert sum(p.numel() for p in model.parameters()) == 31 * 3 + 3  # logistic regression
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        InvariantFeatureClassifier(1)


def test_random_orthogonal_matrices_are_haar():
    q = random_orthogonal_matrices(20000, True, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(q @ q.mT, torch.eye(3, dtype=torch.float64).expand(20000, 3, 3), atol=1e-12, rtol=0)
    det = torch.linalg.det(q)
    assert abs(float((det > 0).double().mean()) - 0.5) < 0.02
    # Haar: a fixed vector lands uniformly on the sphere (mean 0, second moment 1/3 per axis)
    v = q[:, :, 0]
    torch.testing.assert_close(v.mean(0), torch.zeros(3, dtype=torch.float64), atol=0.02, rtol=0)
    torch.testing.assert_close((v**2).mean(0), torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.01, rtol=0)
    proper = random_orthogonal_matrices(100, False, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(torch.linalg.det(proper), torch.ones(100, dtype=torch.float64))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        random_orthogonal_matrices(0)


def test_augmentation_only_in_training_mode():
    inner = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(15, 2))
    model = RandomO3Augmentation(inner)
    points = torch.randn(4, 5, 3)
    model.eval()
    torch.testing.assert_close(model(points), inner(points))
    model.train()
    torch.manual_seed(0)
    first = model(points)
    torch.manual_seed(0)
    torch.testing.assert_close(model(points), first)  # the draws follow torch's global generator
    assert float((first - inner(points)).detach().abs().max()) > 1e-3
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        RandomO3Augmentation(lambda x: x)

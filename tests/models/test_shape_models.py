"""workbench.models.shapes: ShapeMACE is O(3) x permutation x translation x scale invariant, PointNet is not.

Clouds are real samples of :mod:`workbench.data.shapes` (one per class, 48 points); models are tiny and untrained.
Relative error means ``max |got - expected| / max |expected|`` over the whole batch.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
import torch

from workbench.data.shapes import SHAPE_CLASSES, make_shape_dataset, random_rotation
from workbench.models.shapes import PointNetClassifier, ShapeMACE, normalize_clouds

pytestmark = pytest.mark.unit

TOL = {torch.float64: 1e-9, torch.float32: 1e-5}
NUM_CLASSES = len(SHAPE_CLASSES)


@functools.cache
def _built(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "pointnet":
        return PointNetClassifier(NUM_CLASSES, hidden=32)
    # kinds: "mace_L0", "mace_L1" (hidden_lmax), "mace_L0_local" (no centroid term)
    return ShapeMACE(NUM_CLASSES, channels=8, lmax=2, correlation=3, num_layers=2, hidden_lmax=int(kind[6]),
                     centroid=not kind.endswith("local"))


def _model(kind: str, dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    return copy.deepcopy(_built(kind)).to(dtype)


def _rel(got: torch.Tensor, expected: torch.Tensor) -> float:
    got, expected = got.detach().double(), expected.detach().double()
    return float((got - expected).abs().max() / expected.abs().max())


@pytest.fixture(scope="module")
def clouds() -> torch.Tensor:
    return make_shape_dataset(1, 48, seed=0, dtype=torch.float64).points  # [10, 48, 3]


def _transforms(seed: int, num_points: int):
    """A rotation composed with a mirror (det -1) for even seeds, a proper rotation for odd ones; a translation,
    a scale and a permutation of the points."""
    rng = np.random.default_rng(seed)
    r = random_rotation(rng)
    if seed % 2 == 0:
        r = r @ np.diag([1.0, 1.0, -1.0])
    r = torch.from_numpy(r)
    assert float(torch.linalg.det(r)) == pytest.approx(-1.0 if seed % 2 == 0 else 1.0)
    t = torch.from_numpy(rng.uniform(-3, 3, 3))
    scale = float(rng.uniform(0.3, 3.0))
    perm = torch.from_numpy(rng.permutation(num_points))
    return r, t, scale, perm


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("kind", ["mace_L0", "mace_L1", "mace_L0_local"])
def test_shape_mace_is_invariant_under_o3_permutation_translation_scale(clouds, kind, dtype):
    model, tol = _model(kind, dtype), TOL[dtype]
    with torch.no_grad():
        y = model(clouds.to(dtype))
        shear = torch.eye(3, dtype=torch.float64) + 0.3 * torch.from_numpy(np.random.default_rng(9).normal(size=(3, 3)))
        y_sheared = model((clouds @ shear.T).to(dtype))
    assert y.shape == (len(clouds), NUM_CLASSES) and y.dtype == dtype and torch.isfinite(y).all()
    assert float(y.abs().max()) > 1e-2
    assert _rel(y_sheared, y) > 100 * tol, "a non-isometric distortion must move the logits: the check is blind"
    for seed in range(4):
        r, t, scale, perm = _transforms(seed, clouds.shape[1])
        moved = (scale * clouds @ r.T + t)[:, perm]  # transformed in float64, then rounded to dtype
        with torch.no_grad():
            y2 = model(moved.to(dtype))
        assert _rel(y2, y) <= tol, f"transform {seed} (det {float(torch.linalg.det(r)):+.0f})"


def test_shape_mace_tells_the_classes_apart_and_batches_independently(clouds):
    model = _model("mace_L0")
    with torch.no_grad():
        y = model(clouds)
        alone = torch.cat([model(clouds[i : i + 1]) for i in range(len(clouds))])
        feats = model.invariants(clouds)
    assert _rel(alone, y) <= 1e-12  # no edges or pooling across clouds
    assert feats.shape == (len(clouds), 8 * 2)
    dist = torch.cdist(feats, feats) + torch.eye(len(clouds), dtype=feats.dtype) * 1e9
    assert float(dist.min()) > 1e-3 * float(feats.abs().max())  # every class has its own invariant fingerprint


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_pointnet_is_permutation_invariant_but_not_rotation_invariant(clouds, dtype):
    """The contrast the shape benchmark is about: PointNet sees orientation, ShapeMACE does not."""
    model = _model("pointnet", dtype)
    r, t, scale, perm = _transforms(0, clouds.shape[1])
    with torch.no_grad():
        y = model(clouds.to(dtype))
        y_perm = model((scale * clouds + t)[:, perm].to(dtype))
        y_rot = model((clouds @ r.T).to(dtype))
    assert y.shape == (len(clouds), NUM_CLASSES)
    assert _rel(y_perm, y) <= TOL[dtype]  # max pooling over normalized points: permutation, translation, scale
    assert float((y_rot - y).abs().max()) > 1e-3
    assert _rel(y_rot, y) > 1e-3


@pytest.mark.parametrize("kind", ["mace_L0", "mace_L1", "mace_L0_local", "pointnet"])
def test_gradients_reach_every_parameter(clouds, kind):
    model = _model(kind, torch.float32)
    labels = torch.arange(len(clouds)) % NUM_CLASSES
    points = clouds.float().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(points), labels)
    loss.backward()
    assert torch.isfinite(points.grad).all() and float(points.grad.abs().max()) > 0
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert float(p.grad.abs().max()) > 0, f"{name} gets no gradient"


def test_shape_mace_handles_a_point_at_the_centroid():
    """The centroid embedding uses solid harmonics: smooth (finite values and gradients) at the centroid."""
    model = _model("mace_L0")
    axes = torch.eye(3, dtype=torch.float64)
    octahedron_and_centre = torch.cat([torch.zeros(1, 3, dtype=torch.float64), axes, -axes])[None] * 0.5
    points = octahedron_and_centre.clone().requires_grad_(True)
    y = model(points)
    y.square().sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(points.grad).all()
    with torch.no_grad():
        centroid_free = model(octahedron_and_centre[:, 1:])
    assert _rel(y, centroid_free) > 1e-6  # the extra point counts


def test_normalize_clouds():
    x = torch.randn(3, 20, 3, dtype=torch.float64) * 5 + 2
    n = normalize_clouds(x)
    assert torch.allclose(n.mean(1), torch.zeros(3, 3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(n.square().sum(-1).mean(1), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("kind", ["mace_L0", "pointnet"])
def test_bad_input_raises(clouds, kind):
    model = _model(kind, torch.float32)
    x = clouds[:2].float()
    nan = x.clone()
    nan[1, 3, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(nan)
    inf = x.clone()
    inf[0, 0, 2] = float("inf")
    with pytest.raises(ValueError, match=r"points must be finite: NaN or inf at index\(es\) \[0\]"):
        model(inf)
    with pytest.raises(ValueError, match=r"\[B, P, 3\]"):
        model(x[0])  # one cloud without the batch dimension
    with pytest.raises(ValueError, match=r"\[B, P, 3\]"):
        model(x[..., :2])
    with pytest.raises(ValueError, match="at least"):
        model(x[:, :1])
    with pytest.raises(ValueError, match="at least"):
        model(x[:0])
    with pytest.raises(TypeError, match="floating"):
        model(torch.ones(2, 8, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model(x.numpy())
    same = x.clone()
    same[1] = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"clouds \[1\]"):
        model(same)


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="num_classes"):
        ShapeMACE(1)
    with pytest.raises(ValueError, match="hidden_lmax"):
        ShapeMACE(4, lmax=1, hidden_lmax=2)
    with pytest.raises(ValueError, match="correlation"):
        ShapeMACE(4, correlation=0)
    with pytest.raises(ValueError, match="r_max"):
        ShapeMACE(4, r_max=0.0)
    with pytest.raises(ValueError, match="channels"):
        ShapeMACE(4, channels=2.5)
    with pytest.raises(ValueError, match="hidden"):
        PointNetClassifier(4, hidden=0)

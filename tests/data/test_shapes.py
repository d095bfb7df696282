"""workbench.data.shapes: every class samples, classes differ, determinism, rotations, O(3) sampling, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.data.shapes import (
    ROTATIONS,
    SCALE_RANGE,
    SHAPE_CLASSES,
    make_shape_dataset,
    random_orthogonal,
    random_rotation,
    sample_shape,
)

pytestmark = pytest.mark.unit


def _rms(points: np.ndarray) -> float:
    return float(np.sqrt((points**2).sum(1).mean()))


def _covariance_ratios(points: np.ndarray) -> tuple[float, float, float]:
    """O(3)-invariant shape descriptors: ``(l2/l1, l3/l1, l3/l2)`` of the sorted covariance eigenvalues."""
    l1, l2, l3 = np.sort(np.linalg.eigvalsh(np.cov(points.T)))[::-1]
    return l2 / l1, l3 / l1, l3 / l2


def _classify_by_covariance(points: np.ndarray) -> str:
    """A hand-made classifier of four classes from the covariance alone (isotropic, oblate, prolate, triaxial)."""
    r21, r31, r32 = _covariance_ratios(points)
    if r31 > 0.8:
        return "sphere"
    if r21 > 0.8 and r31 < 0.3:
        return "torus"  # a ring: two equal large axes, one small
    if r21 < 0.45 and r32 > 0.8:
        return "cylinder"  # a rod: one large axis, two equal small ones
    if 0.25 < r21 < 0.75 and r31 < 0.3 and r32 < 0.7:
        return "ellipsoid"  # three distinct axes
    return "other"


def test_shape_classes_are_at_least_the_eight_required():
    required = {"sphere", "torus", "cube", "cylinder", "cone", "helix", "tetrahedron", "ellipsoid"}
    assert required <= set(SHAPE_CLASSES) and len(set(SHAPE_CLASSES)) == len(SHAPE_CLASSES)


@pytest.mark.parametrize("name", SHAPE_CLASSES)
def test_every_class_samples_a_finite_centred_cloud(name):
    rng = np.random.default_rng(0)
    for _ in range(3):
        pts = sample_shape(name, 257, rng)
        assert pts.shape == (257, 3) and pts.dtype == np.float64
        assert np.isfinite(pts).all()
        rms = _rms(pts)
        assert np.abs(pts.mean(axis=0)).max() <= 1e-12 * rms
        # unit-size shapes have an RMS radius of order 1 before the global scale
        assert 0.3 * SCALE_RANGE[0] < rms < 3.0 * SCALE_RANGE[1]
        assert np.linalg.matrix_rank(pts) == 3  # noise makes even the helix three-dimensional


def test_noise_free_samples_lie_on_their_surfaces():
    rng = np.random.default_rng(1)
    n = 4000  # the centroid of a sample is within ~1% of the shape's centre
    sphere = sample_shape("sphere", n, rng, noise=0.0)
    radius = np.linalg.norm(sphere, axis=1)
    assert radius.std() / radius.mean() < 0.03
    cube = sample_shape("cube", n, rng, noise=0.0)
    half = np.abs(cube).max(axis=1)  # every point on a face: max |coordinate| is the half-width
    assert half.std() / half.mean() < 0.03
    octa = sample_shape("octahedron", n, rng, noise=0.0)
    l1 = np.abs(octa).sum(axis=1)  # |x| + |y| + |z| = const on the octahedron
    assert l1.std() / l1.mean() < 0.03
    tetra = sample_shape("tetrahedron", n, rng, noise=0.0)
    normals = -np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]) / np.sqrt(3)
    height = (tetra @ normals.T).max(axis=1)  # distance to the face the point lies on (faces opposite vertices)
    assert height.std() / height.mean() < 0.03
    helix = sample_shape("helix", n, rng, noise=0.0)
    # the axis is z (off the centroid for a fractional number of turns): points lie on a circle in the xy-plane
    xy = helix[:, :2]
    coef, *_ = np.linalg.lstsq(np.c_[xy, np.ones(n)], -(xy**2).sum(1), rcond=None)
    rho = np.linalg.norm(xy + coef[:2] / 2, axis=1)
    assert rho.std() / rho.mean() < 1e-9
    # noise of std 0.1 (10% of the unit size) is visible on the sphere
    noisy = np.linalg.norm(sample_shape("sphere", n, rng, noise=0.1), axis=1)
    assert 0.07 < noisy.std() / noisy.mean() < 0.13


def test_classes_are_distinguishable_by_a_rotation_invariant_descriptor():
    """Sphere, torus, cylinder and ellipsoid differ in their covariance spectrum, in any orientation."""
    rng = np.random.default_rng(2)
    for name in ("sphere", "torus", "cylinder", "ellipsoid"):
        for _ in range(6):
            pts = sample_shape(name, 1000, rng)
            assert _classify_by_covariance(pts) == name
            assert _classify_by_covariance(pts @ random_orthogonal(rng).T) == name
    # and the other classes do not sneak into these four bins by accident of the thresholds
    assert _classify_by_covariance(sample_shape("cube", 1000, rng)) == "sphere"  # isotropic too: by design
    assert _classify_by_covariance(sample_shape("capsule", 1000, rng)) in ("cylinder", "other")


def test_ellipsoid_axes_are_distinct_from_a_sphere():
    rng = np.random.default_rng(3)
    for _ in range(10):
        r21, r31, _ = _covariance_ratios(sample_shape("ellipsoid", 1000, rng))
        assert r21 < 0.75 and r31 < 0.3


def test_canonical_orientation_is_axis_aligned():
    rng = np.random.default_rng(4)
    for name, axis in (("cylinder", 2), ("capsule", 2), ("torus", 2), ("ellipsoid", 0)):
        pts = sample_shape(name, 2000, rng)
        cov = np.cov(pts.T)
        assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.05 * np.diag(cov).max()
        extreme = np.argmin(np.diag(cov)) if name == "torus" else np.argmax(np.diag(cov))
        assert extreme == axis, name


def test_sample_shape_is_deterministic_given_the_generator_state():
    a = sample_shape("torus", 64, np.random.default_rng(7))
    b = sample_shape("torus", 64, np.random.default_rng(7))
    c = sample_shape("torus", 64, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_sample_shape_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError) as err:
        sample_shape("dodecahedron", 64, rng)
    assert all(name in str(err.value) for name in SHAPE_CLASSES)
    with pytest.raises(ValueError, match="num_points"):
        sample_shape("sphere", 3, rng)
    with pytest.raises(ValueError, match="num_points"):
        sample_shape("sphere", 64.0, rng)
    with pytest.raises(ValueError, match="noise"):
        sample_shape("sphere", 64, rng, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        sample_shape("sphere", 64, rng, noise=float("nan"))
    with pytest.raises(TypeError, match="Generator"):
        sample_shape("sphere", 64, 0)


def test_random_orthogonal_is_orthogonal_with_both_determinants():
    rng = np.random.default_rng(5)
    mats = np.stack([random_orthogonal(rng) for _ in range(400)])
    assert np.abs(mats @ mats.transpose(0, 2, 1) - np.eye(3)).max() < 1e-12
    det = np.linalg.det(mats)
    assert np.abs(np.abs(det) - 1).max() < 1e-12
    assert 0.4 < float((det < 0).mean()) < 0.6
    # Haar measure on O(3): the mean matrix vanishes (a biased sampler, e.g. small angles, would give ~I)
    assert np.abs(mats.mean(axis=0)).max() < 0.1
    rots = np.stack([random_rotation(rng) for _ in range(400)])
    assert np.allclose(np.linalg.det(rots), 1.0) and np.abs(rots.mean(axis=0)).max() < 0.1


def test_make_shape_dataset_layout_and_determinism():
    ds = make_shape_dataset(3, 32, seed=0)
    n = 3 * len(SHAPE_CLASSES)
    assert len(ds) == n and ds.num_classes == len(SHAPE_CLASSES) and ds.classes == SHAPE_CLASSES
    assert ds.points.shape == (n, 32, 3) and ds.points.dtype == torch.float32
    assert ds.labels.dtype == torch.long and ds.labels.tolist() == [k for k in range(ds.num_classes) for _ in range(3)]
    assert torch.equal(ds.rotations, torch.eye(3, dtype=torch.float64).expand(n, 3, 3))
    again = make_shape_dataset(3, 32, seed=0)
    assert torch.equal(ds.points, again.points) and torch.equal(ds.labels, again.labels)
    other = make_shape_dataset(3, 32, seed=1)
    assert not torch.allclose(ds.points, other.points)
    assert make_shape_dataset(1, 8, seed=0, dtype=torch.float64).points.dtype == torch.float64


def test_rotated_datasets_hold_the_same_shapes_transformed():
    none = make_shape_dataset(4, 16, seed=3, dtype=torch.float64)
    so3 = make_shape_dataset(4, 16, seed=3, rotate="so3", dtype=torch.float64)
    o3 = make_shape_dataset(4, 16, seed=3, rotate="o3", dtype=torch.float64)
    for ds in (so3, o3):
        assert torch.allclose(ds.points, none.points @ ds.rotations.mT, atol=1e-12)
        eye = torch.eye(3, dtype=torch.float64)
        assert torch.allclose(ds.rotations @ ds.rotations.mT, eye.expand_as(ds.rotations), atol=1e-12)
    assert torch.allclose(torch.linalg.det(so3.rotations), torch.ones(len(so3), dtype=torch.float64))
    det = torch.linalg.det(o3.rotations)
    assert bool((det < 0).any()) and bool((det > 0).any())  # 40 clouds: both signs occur (p = 1 - 2^-39)
    # a class gives the same clouds whichever other classes are requested
    sub = make_shape_dataset(4, 16, seed=3, classes=("helix", "sphere"), dtype=torch.float64)
    assert sub.classes == ("helix", "sphere") and sub.labels.tolist() == [0] * 4 + [1] * 4
    k = SHAPE_CLASSES.index("helix")
    assert torch.equal(sub.points[:4], none.points[4 * k : 4 * k + 4])


def test_make_shape_dataset_errors():
    with pytest.raises(ValueError) as err:
        make_shape_dataset(2, 16, seed=0, classes=("sphere", "pyramid"))
    assert "pyramid" in str(err.value) and all(name in str(err.value) for name in SHAPE_CLASSES)
    with pytest.raises(ValueError, match="rotate"):
        make_shape_dataset(2, 16, seed=0, rotate="so2")
    assert "so2" not in ROTATIONS
    with pytest.raises(ValueError, match="distinct"):
        make_shape_dataset(2, 16, seed=0, classes=("sphere", "sphere"))
    with pytest.raises(ValueError, match="distinct"):
        make_shape_dataset(2, 16, seed=0, classes=())
    with pytest.raises(ValueError, match="string"):
        make_shape_dataset(2, 16, seed=0, classes="sphere")
    with pytest.raises(ValueError, match="num_points"):
        make_shape_dataset(2, 3, seed=0)
    with pytest.raises(ValueError, match="n_per_class"):
        make_shape_dataset(0, 16, seed=0)
    with pytest.raises(ValueError, match="seed"):
        make_shape_dataset(2, 16, seed=-1)
    with pytest.raises(TypeError, match="dtype"):
        make_shape_dataset(2, 16, seed=0, dtype=torch.int64)

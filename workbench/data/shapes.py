"""Synthetic 3D shapes for O(3)-invariant shape recognition: point clouds of ten classes, random parameters, noise.

Every sample is built in a *canonical orientation* (symmetry axes along the coordinate axes), then scaled, noised,
centred at its centroid and, for a dataset, optionally rotated (``"so3"``) or rotated and possibly reflected
(``"o3"``). The benchmark this serves: train on aligned shapes (``rotate="none"``), test on ``"o3"``-transformed
ones. An O(3)-invariant model scores the same on both; a plain point-cloud network (PointNet) does not.

Classes (sizes in units of the shape before the global scale ``s``, drawn uniformly in ``[0.5, 2.0]``):

============== ==================================================================================================
``sphere``       surface of the unit sphere
``torus``        surface, axis ``z``, major radius 1, minor radius ``r`` in ``[0.2, 0.45]``
``cube``         surface of ``[-1, 1]^3`` (faces axis-aligned)
``cylinder``     surface incl. both caps, axis ``z``, radius 1, height ``h`` in ``[3.0, 5.0]`` (elongated)
``cone``         lateral surface and base disk, axis ``z`` (apex up), base radius 1, half-angle in ``[20, 35]``
                 degrees
``helix``        a right-handed curve (no surface), axis ``z``, radius 1, pitch ``[0.5, 1.0]`` per turn,
                 ``[2, 4]`` turns; a reflection (``"o3"``) makes it left-handed, the label stays ``helix``
``tetrahedron``  surface of the regular tetrahedron with vertices ``(1,1,1), (1,-1,-1), (-1,1,-1), (-1,-1,1)``
``ellipsoid``    surface, semi-axes ``(1, b, c)`` along ``(x, y, z)``, ``b`` in ``[0.55, 0.75]``, ``c`` in
                 ``[0.25, 0.4]`` (all three clearly distinct: no sphere, no spheroid)
``octahedron``   surface of the regular octahedron with vertices ``±e_x, ±e_y, ±e_z``
``capsule``      surface of a cylinder of radius 1 and length ``[1.0, 2.5]`` along ``z`` with hemispherical ends
============== ==================================================================================================

Surfaces are sampled uniformly by area (faces and caps weighted by their areas, rejection sampling where the
area element is not uniform), the helix uniformly by arc length. Noise is isotropic Gaussian with standard
deviation ``noise`` in the same units (i.e. ``noise * s`` after scaling). Everything is float64 numpy;
:func:`make_shape_dataset` returns torch tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SHAPE_CLASSES", "ROTATIONS", "SCALE_RANGE", "ShapeDataset", "make_shape_dataset", "random_orthogonal",
           "random_rotation", "sample_shape"]

#: Shape classes, in label order.
SHAPE_CLASSES: tuple[str, ...] = ("sphere", "torus", "cube", "cylinder", "cone", "helix", "tetrahedron",
                                  "ellipsoid", "octahedron", "capsule")
#: Values of ``rotate`` in :func:`make_shape_dataset`.
ROTATIONS: tuple[str, ...] = ("none", "so3", "o3")
#: Range of the random global scale of every sample.
SCALE_RANGE: tuple[float, float] = (0.5, 2.0)


# --------------------------------------------------------------------------------------------------------------
# samplers of canonical shapes (unit size, no noise); each: (n, rng) -> [n, 3]


def _unit_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    while np.any(norm < 1e-12):  # measure zero; redraw rather than divide by ~0
        bad = norm[:, 0] < 1e-12
        v[bad] = rng.standard_normal((int(bad.sum()), 3))
        norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / norm


def _rejection(n: int, rng: np.random.Generator, propose: Callable[[int], tuple[np.ndarray, np.ndarray]]):
    """``n`` accepted rows of ``propose(m) -> (points [m, 3], acceptance probability [m])``."""
    out, have = [], 0
    while have < n:
        pts, prob = propose(2 * (n - have) + 16)
        keep = pts[rng.random(len(prob)) < prob]
        out.append(keep)
        have += len(keep)
    return np.concatenate(out)[:n]


def _disk(n: int, rng: np.random.Generator, radius: float) -> np.ndarray:
    """Uniform points ``[n, 2]`` in a disk."""
    r = radius * np.sqrt(rng.random(n))
    phi = 2 * math.pi * rng.random(n)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)


def _split(n: int, rng: np.random.Generator, areas: Sequence[float]) -> np.ndarray:
    """Piece of every point ``[n]``, with probabilities proportional to ``areas``."""
    p = np.asarray(areas, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _triangles(n: int, rng: np.random.Generator, tris: np.ndarray) -> np.ndarray:
    """Uniform points on a triangle mesh ``tris [T, 3 vertices, 3]`` (area-weighted)."""
    areas = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    face = _split(n, rng, areas)
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tris[face]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def _sphere(n, rng):
    return _unit_vectors(n, rng)


def _torus(n, rng):
    minor = rng.uniform(0.2, 0.45)

    def propose(m):
        theta, phi = 2 * math.pi * rng.random(m), 2 * math.pi * rng.random(m)
        ring = 1.0 + minor * np.cos(theta)  # area element is proportional to the distance from the axis
        pts = np.stack([ring * np.cos(phi), ring * np.sin(phi), minor * np.sin(theta)], axis=1)
        return pts, ring / (1.0 + minor)

    return _rejection(n, rng, propose)


def _cube(n, rng):
    face = rng.integers(0, 6, n)
    pts = rng.uniform(-1.0, 1.0, (n, 3))
    axis, sign = face // 2, np.where(face % 2 == 0, 1.0, -1.0)
    pts[np.arange(n), axis] = sign
    return pts


def _cylinder(n, rng):
    h = rng.uniform(3.0, 5.0)
    piece = _split(n, rng, [2 * math.pi * h, math.pi, math.pi])  # lateral, top, bottom
    phi = 2 * math.pi * rng.random(n)
    pts = np.stack([np.cos(phi), np.sin(phi), h * (rng.random(n) - 0.5)], axis=1)
    caps = piece > 0
    pts[caps, :2] = _disk(int(caps.sum()), rng, 1.0)
    pts[caps, 2] = np.where(piece[caps] == 1, h / 2, -h / 2)
    return pts


def _cone(n, rng):
    half_angle = math.radians(rng.uniform(20.0, 35.0))
    h = 1.0 / math.tan(half_angle)
    slant = math.hypot(1.0, h)
    piece = _split(n, rng, [math.pi * slant, math.pi])  # lateral (pi r l), base (pi r^2)
    t = np.sqrt(rng.random(n))  # distance from the apex / slant: area grows linearly with it
    phi = 2 * math.pi * rng.random(n)
    pts = np.stack([t * np.cos(phi), t * np.sin(phi), h * (1.0 - t)], axis=1)  # apex at (0, 0, h), base at z=0
    base = piece == 1
    pts[base, :2] = _disk(int(base.sum()), rng, 1.0)
    pts[base, 2] = 0.0
    return pts


def _helix(n, rng):
    pitch, turns = rng.uniform(0.5, 1.0), rng.uniform(2.0, 4.0)
    t = 2 * math.pi * turns * rng.random(n)  # constant speed: uniform in t is uniform in arc length
    return np.stack([np.cos(t), np.sin(t), pitch * t / (2 * math.pi)], axis=1)  # right-handed


_TETRA = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
_TETRA_FACES = np.array([_TETRA[[i for i in range(4) if i != k]] for k in range(4)])
_OCTA_FACES = np.array([[[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, sz]]
                        for sx in (1.0, -1.0) for sy in (1.0, -1.0) for sz in (1.0, -1.0)])


def _tetrahedron(n, rng):
    return _triangles(n, rng, _TETRA_FACES)


def _octahedron(n, rng):
    return _triangles(n, rng, _OCTA_FACES)


def _ellipsoid(n, rng):
    axes = np.array([1.0, rng.uniform(0.55, 0.75), rng.uniform(0.25, 0.4)])

    def propose(m):
        u = _unit_vectors(m, rng)
        # the map u -> axes * u stretches the area element by prod(axes) * |u / axes|
        density = np.linalg.norm(u / axes, axis=1)
        return u * axes, density * axes.min()  # max of |u / axes| is 1 / min(axes)

    return _rejection(n, rng, propose)


def _capsule(n, rng):
    length = rng.uniform(1.0, 2.5)
    piece = _split(n, rng, [2 * math.pi * length, 4 * math.pi])  # tube, the two hemispheres together
    phi = 2 * math.pi * rng.random(n)
    pts = np.stack([np.cos(phi), np.sin(phi), length * (rng.random(n) - 0.5)], axis=1)
    ends = piece == 1
    u = _unit_vectors(int(ends.sum()), rng)
    u[:, 2] += np.sign(u[:, 2]) * length / 2
    pts[ends] = u
    return pts


_SAMPLERS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "sphere": _sphere, "torus": _torus, "cube": _cube, "cylinder": _cylinder, "cone": _cone, "helix": _helix,
    "tetrahedron": _tetrahedron, "ellipsoid": _ellipsoid, "octahedron": _octahedron, "capsule": _capsule,
}
assert tuple(_SAMPLERS) == SHAPE_CLASSES


# --------------------------------------------------------------------------------------------------------------
# public API


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {type(rng)}")


def _check_class(name) -> str:
    if not isinstance(name, str) or name not in _SAMPLERS:
        raise ValueError(f"unknown shape class {name!r}; valid classes: {', '.join(SHAPE_CLASSES)}")
    return name


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0 (std of the Gaussian noise), got {noise!r}")
    return float(noise)


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def sample_shape(name: str, num_points: int, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    """One point cloud of class ``name``: ``[num_points, 3]`` float64, in canonical orientation.

    The shape gets its class's random parameters (module docstring), Gaussian noise of standard deviation
    ``noise`` (in units of the unscaled shape), a random global scale in :data:`SCALE_RANGE`, and is centred at
    its centroid (the mean of the returned points is zero up to rounding).

    Raises:
        ValueError: unknown ``name`` (the message lists the valid classes), ``num_points < 4``, bad ``noise``.
        TypeError: ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_class(name)
    num_points = _check_count(num_points, "num_points", 4)
    noise = _check_noise(noise)
    _check_rng(rng)
    pts = _SAMPLERS[name](num_points, rng)
    if noise > 0:
        pts = pts + noise * rng.standard_normal(pts.shape)
    pts = pts * rng.uniform(*SCALE_RANGE)
    return pts - pts.mean(axis=0)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Haar-random proper rotation ``[3, 3]`` float64 (det +1), from a uniformly random unit quaternion."""
    _check_rng(rng)
    q = rng.standard_normal(4)
    while np.linalg.norm(q) < 1e-12:
        q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def random_orthogonal(rng: np.random.Generator) -> np.ndarray:
    """Haar-random element of O(3), ``[3, 3]`` float64: a Haar rotation times, with probability 1/2, the mirror
    ``diag(1, 1, -1)`` (so ``det`` is +1 or -1 with equal probability)."""
    rot = random_rotation(rng)
    if rng.random() < 0.5:
        rot = rot * np.array([1.0, 1.0, -1.0])  # rot @ diag(1, 1, -1): flips the sign of the last column
    return rot


@dataclass
class ShapeDataset:
    """A labelled set of ``N`` point clouds of ``P`` points each.

    Attributes:
        points: ``[N, P, 3]`` torch float tensor, ``points[n] = canonical[n] @ rotations[n].T``.
        labels: ``[N]`` long, indices into ``classes``.
        classes: class names, ``classes[labels[n]]`` is the class of cloud ``n``.
        rotations: ``[N, 3, 3]`` float64 torch tensor, the O(3) element applied to each cloud (identity for
            ``rotate="none"``).
    """

    points: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    rotations: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def make_shape_dataset(
    n_per_class: int,
    num_points: int,
    seed: int,
    rotate: str = "none",
    noise: float = 0.02,
    classes: Sequence[str] | None = None,
    dtype: torch.dtype = torch.float32,
) -> ShapeDataset:
    """``n_per_class`` clouds of every class in ``classes`` (default :data:`SHAPE_CLASSES`), ``num_points`` each.

    Clouds are ordered class by class (``labels = [0]*n + [1]*n + ...``); shuffle for training. The result is a
    deterministic function of the arguments. The shapes of a class depend only on ``(seed, class name,
    n_per_class, num_points, noise)``, and rotations are drawn from a separate stream: two datasets that differ
    only in ``rotate`` hold the same shapes, e.g. ``o3.points == none.points @ o3.rotations.mT`` (up to the
    rounding to ``dtype``), and the same class gives the same clouds whatever other ``classes`` are chosen.

    Args:
        n_per_class: clouds per class (>= 1).
        num_points: points per cloud (>= 4).
        seed: non-negative integer seed.
        rotate: ``"none"`` (canonical, axis-aligned), ``"so3"`` (Haar rotations) or ``"o3"`` (Haar rotations,
            composed with a mirror with probability 1/2), one element per cloud.
        noise: standard deviation of the point noise in units of the unscaled shape (module docstring).
        classes: subset of :data:`SHAPE_CLASSES` (distinct names); labels index this tuple.
        dtype: floating dtype of ``points`` (generation and rotation are done in float64).

    Returns:
        :class:`ShapeDataset` with ``points [N, P, 3]``, ``labels [N]``, ``rotations [N, 3, 3]``,
        ``N = n_per_class * len(classes)``.
    """
    n_per_class = _check_count(n_per_class, "n_per_class", 1)
    num_points = _check_count(num_points, "num_points", 4)
    seed = _check_count(seed, "seed", 0)
    noise = _check_noise(noise)
    if rotate not in ROTATIONS:
        raise ValueError(f"rotate must be one of {ROTATIONS}, got {rotate!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}")
    if classes is None:
        classes = SHAPE_CLASSES
    if isinstance(classes, str):
        raise ValueError(f"classes must be a sequence of class names, not the string {classes!r}")
    classes = tuple(_check_class(c) for c in classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be a non-empty sequence of distinct names, got {classes}")
    points, labels, rotations = [], [], []
    for label, name in enumerate(classes):
        k = SHAPE_CLASSES.index(name)
        shape_rng = np.random.default_rng([seed, k, 0])
        rot_rng = np.random.default_rng([seed, k, 1])
        for _ in range(n_per_class):
            pts = sample_shape(name, num_points, shape_rng, noise)
            if rotate == "none":
                rot = np.eye(3)
            else:
                rot = random_rotation(rot_rng) if rotate == "so3" else random_orthogonal(rot_rng)
            points.append(pts @ rot.T)
            rotations.append(rot)
            labels.append(label)
    return ShapeDataset(
        points=torch.from_numpy(np.stack(points)).to(dtype),
        labels=torch.tensor(labels, dtype=torch.long),
        classes=classes,
        rotations=torch.from_numpy(np.stack(rotations)),
    )

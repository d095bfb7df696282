"""Point clouds with known surface normals, generated from analytic surfaces, and readers for the user's own files.

Surfaces (:data:`SURFACES`), each with random shape parameters drawn per cloud, in a canonical orientation (axes of
the shape along x, y, z), centred at the origin; the normal of every point is the exact unit normal of the clean
surface (computed from the parameterization or the implicit function's gradient, never estimated):

- ``sphere``: radius 1;
- ``ellipsoid``: semi-axes in ``[0.4, 1.4]``; normal ``∝ x / a^2``;
- ``torus``: ring radius ``R in [0.7, 1.1]``, tube ``r in [0.2, 0.45]``; points at uniform angles;
- ``superquadric``: ``sum_i |x_i / a_i|^q = 1``, ``q in [2.5, 5]`` (rounded cubes), semi-axes in ``[0.5, 1.2]``;
- ``rounded_box``: points at distance ``rho in [0.1, 0.3]`` from a box of half-extents in ``[0.3, 1.0]`` (flat faces,
  cylindrical edges, spherical corners).

Options: ``noise`` (Gaussian displacement of the points, in units of the shape; normals stay those of the clean
surface), ``nonuniform`` (``> 0``: points drawn with density ``∝ exp(nonuniform * x . w)`` along a random direction
``w``, a density gradient across the shape), ``transform``: ``"none"`` (canonical), ``"so3"`` (Haar rotation per
cloud) or ``"o3"`` (rotation, then a mirror with probability 1/2); points and normals get the same matrix, drawn
from a random stream of their own, so the three versions of one ``seed`` hold the same clouds.

:func:`make_normals_dataset` returns a :class:`NormalsDataset`; :func:`build_normals` writes the shipped fixed test
set ``data/normals/normals.npz`` + ``manifest.json`` (``workbench build-data normals``) and
:func:`load_shipped_normals` reads it back (sha256 verified). :func:`read_point_file` reads a user's file:
``.xyz``/``.txt``/``.pts`` rows ``x y z nx ny nz`` (ModelNet40's resampled normal files are comma-separated
``.txt`` in this layout) or an ``.off`` mesh, from which points are sampled area-uniformly with their face normals.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.data.manifest import MANIFEST_NAME, read_verified_npz, sha256_file, write_npz_reproducible

__all__ = ["SURFACES", "TRANSFORMS", "NormalsDataset", "build_normals", "load_shipped_normals",
           "make_normals_dataset", "read_off", "read_point_file", "sample_mesh", "sample_surface",
           "DEFAULT_NORMALS_DIR", "SHIPPED_NORMALS_CONFIG"]

SURFACES: tuple[str, ...] = ("sphere", "ellipsoid", "torus", "superquadric", "rounded_box")
TRANSFORMS: tuple[str, ...] = ("none", "so3", "o3")
DEFAULT_NORMALS_DIR = Path(__file__).resolve().parents[2] / "data" / "normals"
#: The shipped set: a fixed O(3)-transformed test set, 4 clouds of each surface, 256 points, light noise.
SHIPPED_NORMALS_CONFIG: dict[str, Any] = {"n_per_surface": 4, "num_points": 256, "noise": 0.01, "nonuniform": 0.0,
                                          "transform": "o3"}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _directions(rng: np.random.Generator, n: int) -> np.ndarray:
    return _unit(rng.normal(size=(n, 3)))


def sample_surface(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``[n, 3]`` and unit normals ``[n, 3]`` (float64) on one random surface ``kind`` (module doc)."""
    if kind not in SURFACES:
        raise ValueError(f"unknown surface {kind!r}; valid: {', '.join(SURFACES)}")
    if kind == "sphere":
        u = _directions(rng, n)
        return u.copy(), u
    if kind == "ellipsoid":
        a = rng.uniform(0.4, 1.4, size=3)
        x = _directions(rng, n) * a
        return x, _unit(x / a**2)
    if kind == "torus":
        big, small = rng.uniform(0.7, 1.1), rng.uniform(0.2, 0.45)
        theta, phi = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
        normal = np.stack([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta), np.sin(phi)], axis=1)
        centre = np.stack([big * np.cos(theta), big * np.sin(theta), np.zeros(n)], axis=1)
        return centre + small * normal, normal
    if kind == "superquadric":
        q, a = rng.uniform(2.5, 5.0), rng.uniform(0.5, 1.2, size=3)
        u = _directions(rng, n)
        t = (np.abs(u / a) ** q).sum(axis=1) ** (-1.0 / q)
        x = u * t[:, None]
        return x, _unit(np.sign(x) * np.abs(x / a) ** (q - 1) / a)
    half, rho = rng.uniform(0.3, 1.0, size=3), rng.uniform(0.1, 0.3)
    q = rng.uniform(-1, 1, size=(n, 3)) * (half + rho)
    closest = np.clip(q, -half, half)
    offset = q - closest
    inside = np.linalg.norm(offset, axis=1) < 1e-12
    if inside.any():  # push points inside the box to the nearest face
        qi = q[inside]
        axis = np.argmin(half - np.abs(qi), axis=1)
        face = np.zeros_like(qi)
        face[np.arange(len(qi)), axis] = np.where(qi[np.arange(len(qi)), axis] >= 0, 1.0, -1.0)
        closest[inside] = np.where(face != 0, face * half, qi)
        offset[inside] = face
    normal = _unit(offset)
    return closest + rho * normal, normal


def _orthogonal(rng: np.random.Generator, reflect: bool) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q = -q
    if reflect and rng.random() < 0.5:
        q = q @ np.diag([-1.0, 1.0, 1.0])
    return q


@dataclass
class NormalsDataset:
    """Clouds ``points [N, P, 3]`` with unit ``normals [N, P, 3]`` (float32), ``surface [N]`` (index into
    :data:`SURFACES`), ``transforms [N, 3, 3]`` (the O(3) matrix applied, float64) and the generating ``config``."""

    points: torch.Tensor
    normals: torch.Tensor
    surface: torch.Tensor
    transforms: torch.Tensor
    config: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.points.shape[0]

    def tensor_dataset(self) -> torch.utils.data.TensorDataset:
        """``(points, normals)`` pairs for :func:`workbench.train.fit`."""
        return torch.utils.data.TensorDataset(self.points, self.normals)


def _check_options(n_per_surface: int, num_points: int, surfaces: tuple[str, ...], noise: float, nonuniform: float,
                   transform: str) -> None:
    for name, value, low in (("n_per_surface", n_per_surface, 1), ("num_points", num_points, 4)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    unknown = [s for s in surfaces if s not in SURFACES]
    if unknown or not surfaces:
        raise ValueError(f"surfaces must be a non-empty list from {', '.join(SURFACES)}, got {list(surfaces)}")
    for name, value in (("noise", noise), ("nonuniform", nonuniform)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {transform!r}")


def make_normals_dataset(n_per_surface: int = 8, num_points: int = 256, *, seed: int = 0,
                         surfaces: tuple[str, ...] | list[str] = SURFACES, noise: float = 0.0,
                         nonuniform: float = 0.0, transform: str = "none") -> NormalsDataset:
    """``n_per_surface`` clouds of each surface, ``num_points`` points each (module docstring), from ``seed``."""
    surfaces = tuple(surfaces)
    _check_options(n_per_surface, num_points, surfaces, noise, nonuniform, transform)
    rng = np.random.default_rng(seed)
    rng_transform = np.random.default_rng([seed, 1])  # its own stream: every transform sees the same clouds
    pts, nrm, kinds, mats = [], [], [], []
    for kind in surfaces:
        for _ in range(n_per_surface):
            if nonuniform > 0:
                x, n = sample_surface(kind, 4 * num_points, rng)
                w = _directions(rng, 1)[0]
                logits = nonuniform * (x @ w)
                prob = np.exp(logits - logits.max())
                pick = rng.choice(len(x), size=num_points, replace=False, p=prob / prob.sum())
                x, n = x[pick], n[pick]
            else:
                x, n = sample_surface(kind, num_points, rng)
            x = x + noise * rng.normal(size=x.shape)
            m = np.eye(3) if transform == "none" else _orthogonal(rng_transform, transform == "o3")
            pts.append(x @ m.T)
            nrm.append(n @ m.T)
            kinds.append(SURFACES.index(kind))
            mats.append(m)
    config = {"n_per_surface": n_per_surface, "num_points": num_points, "seed": seed, "surfaces": list(surfaces),
              "noise": float(noise), "nonuniform": float(nonuniform), "transform": transform}
    return NormalsDataset(torch.tensor(np.stack(pts), dtype=torch.float32),
                          torch.tensor(np.stack(nrm), dtype=torch.float32), torch.tensor(kinds),
                          torch.tensor(np.stack(mats)), config)


def build_normals(out_dir: str | Path | None = None, *, seed: int = 0) -> Path:
    """Write the shipped test set (:data:`SHIPPED_NORMALS_CONFIG`, ``seed``) as ``normals.npz`` + ``manifest.json``
    into ``out_dir`` (default ``data/normals``); the ``workbench build-data normals`` hook. Returns the manifest."""
    out = Path(out_dir) if out_dir is not None else DEFAULT_NORMALS_DIR
    out.mkdir(parents=True, exist_ok=True)
    ds = make_normals_dataset(seed=seed, **SHIPPED_NORMALS_CONFIG)
    path = out / "normals.npz"
    write_npz_reproducible(path, {"points": ds.points.numpy(), "normals": ds.normals.numpy(),
                                  "surface": ds.surface.numpy().astype(np.int64),
                                  "transforms": ds.transforms.numpy()})
    manifest = {"builder": "workbench.data.normals.build_normals", "config": ds.config,
                "surfaces": list(SURFACES), "counts": {"clouds": len(ds), "points_per_cloud": ds.points.shape[1]},
                "versions": {"numpy": np.__version__, "torch": torch.__version__, "python": platform.python_version()},
                "method": "analytic surfaces with exact normals (workbench.data.normals module docstring)",
                "files": {"normals.npz": {"file": "normals.npz", "sha256": sha256_file(path)}}}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out / MANIFEST_NAME


def load_shipped_normals(folder: str | Path | None = None, verify: bool = True) -> NormalsDataset:
    """The shipped test set of ``folder`` (default ``data/normals``), sha256-checked against its manifest."""
    folder = Path(folder) if folder is not None else DEFAULT_NORMALS_DIR
    manifest, arrays, _ = read_verified_npz(folder, "normals.npz", "build it with `workbench build-data normals`",
                                            "rebuild it with `workbench build-data normals`", verify)
    return NormalsDataset(torch.from_numpy(arrays["points"]), torch.from_numpy(arrays["normals"]),
                          torch.from_numpy(arrays["surface"]), torch.from_numpy(arrays["transforms"]),
                          manifest["config"])


def read_off(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``[V, 3]`` (float64) and triangles ``[F, 3]`` (int64; polygons fan-triangulated) of an OFF file
    (ModelNet's format, including its ``OFF<counts>`` first-line variant)."""
    tokens = Path(path).read_text(encoding="utf-8").split("\n")
    lines = [t.split("#")[0].strip() for t in tokens]
    lines = [t for t in lines if t]
    if not lines or not lines[0].startswith("OFF"):
        raise ValueError(f"{path}: not an OFF file (first line must start with 'OFF')")
    head = lines[0][3:].split() or lines[1].split()
    body = lines[1:] if lines[0][3:].strip() else lines[2:]
    try:
        nv, nf = int(head[0]), int(head[1])
        verts = np.array([[float(v) for v in line.split()[:3]] for line in body[:nv]])
        faces = []
        for line in body[nv:nv + nf]:
            idx = [int(v) for v in line.split()]
            poly = idx[1:1 + idx[0]]
            faces += [[poly[0], poly[i], poly[i + 1]] for i in range(1, len(poly) - 1)]
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: malformed OFF file ({exc}); expected 'OFF', 'V F E', V vertex and F face lines") \
            from None
    faces = np.array(faces, dtype=np.int64).reshape(-1, 3)
    if verts.shape != (nv, 3) or (faces.size and (faces.min() < 0 or faces.max() >= nv)):
        raise ValueError(f"{path}: malformed OFF file (vertex count or face indices out of range)")
    return verts, faces


def sample_mesh(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points area-uniformly on a triangle mesh and their face normals (unit, ``[n, 3]`` each)."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    cross = np.cross(b - a, c - a)
    area = np.linalg.norm(cross, axis=1)
    if not faces.size or area.sum() <= 0:
        raise ValueError("the mesh has no triangle with a positive area")
    tri = rng.choice(len(faces), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    pts = a[tri] + u[:, None] * (b - a)[tri] + v[:, None] * (c - a)[tri]
    return pts, cross[tri] / area[tri, None]


def read_point_file(path: str | Path, num_points: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points ``[P, 3]`` and unit normals ``[P, 3]`` (float64) from a user's file (module docstring).

    ``.off``: ``num_points`` (default 1024) sampled on the mesh. Text files: rows of 6 numbers (spaces or commas);
    ``num_points`` keeps a random subset. Raises ValueError for an unknown suffix, a bad layout or non-finite or
    zero normals.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    rng = np.random.default_rng(seed)
    suffix = path.suffix.lower()
    if suffix == ".off":
        return sample_mesh(*read_off(path), num_points or 1024, rng)
    if suffix not in (".xyz", ".txt", ".pts", ".csv"):
        raise ValueError(f"{path}: unknown format {suffix!r}; expected .off, or .xyz/.txt/.pts/.csv rows "
                         "'x y z nx ny nz'")
    rows = [r.replace(",", " ").split() for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]
    try:
        data = np.array([[float(v) for v in r] for r in rows])
    except ValueError:
        raise ValueError(f"{path}: every row must hold 6 numbers 'x y z nx ny nz'") from None
    if data.ndim != 2 or data.shape[1] != 6:
        raise ValueError(f"{path}: every row must hold 6 numbers 'x y z nx ny nz', got shape {data.shape}")
    norms = np.linalg.norm(data[:, 3:], axis=1)
    if not np.isfinite(data).all() or (norms == 0).any():
        raise ValueError(f"{path}: coordinates and normals must be finite and normals non-zero")
    if num_points is not None and num_points < len(data):
        data = data[np.sort(rng.choice(len(data), size=num_points, replace=False))]
    return data[:, :3], data[:, 3:] / np.linalg.norm(data[:, 3:], axis=1, keepdims=True)

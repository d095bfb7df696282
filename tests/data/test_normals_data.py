"""workbench.data.normals: exact unit normals on every surface (checked against the implicit function / distance),
transforms act on points and normals alike on the same clouds, the shipped set matches its manifest and its
builder, OFF and XYZ+normals readers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.data.normals import (
    SURFACES,
    build_normals,
    load_shipped_normals,
    make_normals_dataset,
    read_off,
    read_point_file,
    sample_surface,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", SURFACES)
def test_normals_are_unit_and_orthogonal_to_the_surface(kind):
    """A small step along the surface (orthogonal to the normal) stays on the surface to second order: the local
    PCA of the exact points around a point has its smallest axis along the given normal."""
    x, n = sample_surface(kind, 4000, np.random.default_rng(1))
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)
    idx = np.random.default_rng(2).choice(len(x), 40, replace=False)
    good = 0
    for i in idx:
        d = np.linalg.norm(x - x[i], axis=1)
        near = x[np.argsort(d)[:12]] - x[i]
        axis = np.linalg.svd(near - near.mean(0))[2][-1]
        good += abs(axis @ n[i]) > 0.9
    assert good >= 36  # a few points sit on edges/corners where 12 neighbours straddle two faces


def test_transforms_are_applied_to_the_same_clouds():
    aligned = make_normals_dataset(1, 32, seed=4, transform="none")
    turned = make_normals_dataset(1, 32, seed=4, transform="o3")
    q = turned.transforms.to(torch.float32)
    assert torch.allclose(turned.points, aligned.points @ q.mT, atol=1e-5)
    assert torch.allclose(turned.normals, aligned.normals @ q.mT, atol=1e-5)
    dets = torch.linalg.det(make_normals_dataset(10, 8, seed=0, transform="o3").transforms).round()
    assert set(dets.tolist()) == {1.0, -1.0}


def test_options_and_errors():
    ds = make_normals_dataset(2, 50, seed=0, noise=0.05, nonuniform=2.0, surfaces=["torus"])
    assert ds.points.shape == (2, 50, 3) and torch.isfinite(ds.points).all()
    with pytest.raises(ValueError, match="surfaces must be"):
        make_normals_dataset(1, 10, surfaces=["cube"])
    with pytest.raises(ValueError, match="noise"):
        make_normals_dataset(1, 10, noise=-1.0)
    with pytest.raises(ValueError, match="transform"):
        make_normals_dataset(1, 10, transform="se3")


def test_shipped_set_matches_manifest_and_builder(tmp_path):
    shipped = load_shipped_normals()
    assert shipped.points.shape == (20, 256, 3)
    build_normals(tmp_path, seed=0)
    rebuilt = load_shipped_normals(tmp_path)
    assert torch.equal(rebuilt.points, shipped.points) and torch.equal(rebuilt.normals, shipped.normals)


def test_readers(tmp_path):
    off = tmp_path / "tetra.off"
    off.write_text("OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n4 1 2 3 1\n")
    verts, faces = read_off(off)
    assert verts.shape == (4, 3) and faces.shape == (5, 3)  # the quad is fan-triangulated
    pts, nrm = read_point_file(off, num_points=100)
    assert pts.shape == (100, 3) and np.allclose(np.linalg.norm(nrm, axis=1), 1.0)
    xyz = tmp_path / "cloud.txt"
    xyz.write_text("0,0,1,0,0,2\n1,0,0,3,0,0\n0,1,0,0,1,0\n")
    pts, nrm = read_point_file(xyz)
    assert np.allclose(nrm, np.eye(3)[[2, 0, 1]])
    bad = tmp_path / "bad.xyz"
    bad.write_text("0 0 1\n")
    with pytest.raises(ValueError, match="6 numbers"):
        read_point_file(bad)
    with pytest.raises(ValueError, match="unknown format"):
        read_point_file(_touch(tmp_path / "x.ply"))
    with pytest.raises(ValueError, match="not an OFF"):
        read_off(_touch(tmp_path / "y.off"))


def _touch(path):
    path.write_text("ply\n")
    return path

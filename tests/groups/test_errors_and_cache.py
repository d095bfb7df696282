"""Bad input raises clear errors; the Clebsch-Gordan disk cache is read, versioned and self-healing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import workbench
import workbench.version
from workbench.groups import O3, SO, SO3, SU2, SU3, Lorentz, O, Representation, clear_caches
from workbench.groups import cache as disk_cache

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "group, label, match",
    [
        (SU2(), "spin", "spin"),
        (SU2(), -1, "non-negative"),
        (SU2(), 0.3, "spin"),
        (SO3(), -2, "non-negative"),
        (SO3(), "1/2", "half-integer"),
        (SO3(), 0.5, "half-integer"),
        (O3(), "1x", "cannot parse"),
        (O3(), "-1o", "cannot parse"),
        (O3(), 1, "parity"),
        (SU3(), "11", "Dynkin"),
        (SU3(), (1, -1), ">= 0"),
        (Lorentz(), "(1/2)", r"\(m, n\)"),
        (Lorentz(), (0.5, -1), "non-negative"),
        (SO(5), "tensor", "unknown irrep name"),
        (SO(5), (2, 1), "mixed Young diagram"),
        (SO(4), (1, 1), "reducible"),
        (O(3), (1, 1, 1, 1), "does not exist"),
    ],
)
def test_bad_labels(group, label, match):
    with pytest.raises((ValueError, TypeError), match=match):
        group.irrep(label)


def test_generators_that_do_not_close():
    x = np.zeros((2, 3, 3))
    x[0, 0, 1], x[0, 1, 0] = 1.0, -1.0
    x[1, 0, 2], x[1, 2, 0] = 1.0, -1.0  # [L01, L02] = -L12 is missing
    with pytest.raises(ValueError, match="do not close under commutation"):
        Representation(x)
    with pytest.raises(ValueError, match="shape"):
        Representation(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        Representation(np.full((1, 2, 2), np.nan))
    su2 = SU2()
    wrong = su2.irrep(1).generators * 2  # wrong commutation relations for the su(2) structure constants
    with pytest.raises(ValueError, match="commutation relations"):
        Representation(wrong, structure_constants=su2.structure_constants.numpy())


def test_bad_elements_and_coordinates():
    so3 = SO3()
    with pytest.raises(ValueError, match="not an element"):
        so3.element(np.diag([1.0, 2.0, 0.5]))
    with pytest.raises(ValueError, match="finite"):
        so3.element(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="shape"):
        so3.element(np.eye(2))
    with pytest.raises(ValueError, match=r"coords must have shape \[3\]"):
        so3.exp([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        so3.exp([np.nan, 0.0, 0.0])
    with pytest.raises(TypeError, match="torch.Generator"):
        so3.random_element(generator=3)
    with pytest.raises(TypeError, match="GroupElement"):
        so3.irrep(1).matrix(SU2().random_element())
    with pytest.raises(ValueError, match="direction"):
        Lorentz().boost(1.0, [0.0, 0.0, 0.0])


def _count_files(tmp_path):
    return len(list((tmp_path / "cg").glob("*.npz")))


def test_disk_cache_roundtrip_version_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    group = SU3()
    clear_caches()
    first = group.clebsch_gordan("3", "3bar", "8")
    assert _count_files(tmp_path) == 1
    path = next((tmp_path / "cg").glob("*.npz"))

    # second (cold in memory) call reads the file: the stored table is returned even if the compute is broken
    clear_caches()
    marker = np.asarray(first.numpy()) * 0 + 7.0
    key = disk_cache.cache_key("clebsch_gordan", group.cache_name, "(1,0)", "(0,1)", "(1,1)")
    disk_cache.save_array(key, marker)
    monkeypatch.setattr(type(group), "_compute_clebsch_gordan", lambda *a: pytest.fail("recomputed"))
    assert torch.all(group.clebsch_gordan("3", "3bar", "8") == 7.0)
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))

    # a version change invalidates: the key differs, so the table is recomputed and a new file appears
    clear_caches()
    monkeypatch.setattr(workbench.version, "__version__", "999.0.0")
    again = group.clebsch_gordan("3", "3bar", "8")
    assert torch.allclose(again, first)
    assert _count_files(tmp_path) == 2
    monkeypatch.setattr(workbench.version, "__version__", workbench.__version__)

    # a corrupted file is recomputed and rewritten
    path.write_bytes(b"not a zip file")
    clear_caches()
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    healed = group.clebsch_gordan("3", "3bar", "8")
    assert torch.allclose(healed, first)
    with np.load(path) as data:
        assert np.allclose(data["value"], first.numpy())


def test_disk_cache_can_be_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", "off")
    assert disk_cache.cache_directory() is None
    clear_caches()
    assert SU2().clebsch_gordan(1, 1, 2).shape == (3, 3, 5, 1)
    assert disk_cache.load_array("anything") is None

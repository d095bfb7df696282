"""synthetic_images: shape, range, determinism under a seed, different draws differ, bad input."""

from __future__ import annotations

import pytest
import torch

from workbench.spectral import synthetic_images

pytestmark = pytest.mark.unit


def test_images_are_seeded_and_in_unit_range():
    a = synthetic_images(4, 12, torch.Generator().manual_seed(5))
    b = synthetic_images(4, 12, torch.Generator().manual_seed(5))
    assert a.shape == (4, 12, 12) and a.dtype == torch.float64 and torch.equal(a, b)
    assert float(a.amin(dim=(1, 2)).abs().max()) == 0.0 and float((a.amax(dim=(1, 2)) - 1).abs().max()) < 1e-15
    assert float((a[0] - a[1]).abs().max()) > 0.1
    c = synthetic_images(4, 12, torch.Generator().manual_seed(6))
    assert not torch.equal(a, c)


@pytest.mark.parametrize("args, match", [((0, 8), "count must be"), ((2, 1), "size must be"),
                                          ((2, 8.0), "size must be")])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        synthetic_images(*args, torch.Generator())
    with pytest.raises(ValueError, match="generator must be"):
        synthetic_images(2, 8, 0)

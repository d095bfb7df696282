"""Shared pytest configuration.

Tests run with the checkout as the working directory; ``../shared/data`` (real data, never committed) is found
through :func:`shared_data_dir`.
"""

from __future__ import annotations

import os

# Triton kernels run in its interpreter on CPU machines. The variable must be set before triton is first imported
# (e3nn imports it), so it is set here, before any test module is collected. Nothing else on CPU uses Triton.
os.environ.setdefault("TRITON_INTERPRET", "1")
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``$WORKBENCH_SHARED_DATA`` or ``<checkout>/../shared/data``; tests needing it skip when it is absent."""
    path = Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path}")
    return path


@pytest.fixture
def float64_default():
    """Run the test with float64 as torch's default dtype (tables built in the default dtype, e.g. e3nn's)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)

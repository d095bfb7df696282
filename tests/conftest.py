"""Shared pytest configuration.

Tests run with the checkout as the working directory; ``../shared/data`` (real data, never committed) is found
through :func:`shared_data_dir`.

Timeouts: every fixed timeout in the tests is ``timeouts.scaled(default)``, the default times
``$WORKBENCH_TEST_TIMEOUT_FACTOR`` (default 1; see tests/timeouts.py). The factor is read and validated here,
before any test runs, and shown in pytest's header.
"""

from __future__ import annotations

import os

# Triton kernels run in its interpreter on CPU machines. The variable must be set before triton is first imported
# (e3nn imports it), so it is set here, before any test module is collected. Nothing else on CPU uses Triton.
os.environ.setdefault("TRITON_INTERPRET", "1")
from pathlib import Path

import pytest
import torch
from timeouts import FACTOR_ENV, timeout_factor

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    try:
        timeout_factor()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"timeouts scaled by {FACTOR_ENV}={timeout_factor():g}"


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

"""Fixtures for the workbench.groups tests: an isolated disk cache per test session."""

from __future__ import annotations

import os

# Many small LAPACK calls: BLAS threads only add synchronisation overhead (5x slower on a shared 2-core box).
# Effective only if numpy was not imported yet; the lead may move this to the root conftest / Makefile.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_cg_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "wb-cache"))
    yield

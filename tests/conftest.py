"""Shared pytest configuration.

Tests run with the checkout as the working directory; ``../shared/data`` (real data, never committed) is found
through :func:`shared_data_dir`.

Timeouts: every fixed timeout in the tests is ``timeouts.scaled(default)``, the default times
``$WORKBENCH_TEST_TIMEOUT_FACTOR`` (default 1; see tests/timeouts.py). The factor is read and validated here,
before any test runs, and shown in pytest's header.

Parallel runs (``make test`` uses ``pytest -n auto --maxprocesses 4 --dist loadfile``, pytest-xdist): every test
module is one work unit, so a module's fixtures (a pipeline trained once and checked by many tests) run once, on
one worker; all browser tests (tests/browser) form a single unit (``pytest_xdist_make_scheduler`` below), so one
JupyterLab and one Chromium serve them in turn instead of one per worker competing for the CPU; each notebook
execution is a unit of its own. Units are handed out longest first (browser, notebooks, the rest). Each worker
gets an equal share of the cores for torch and for the kernels it starts (``OMP_NUM_THREADS``), so two workers on
two cores do not oversubscribe them. A plain ``pytest`` (no ``-n``) runs everything in one process.
"""

from __future__ import annotations

import os

# Triton kernels run in its interpreter on CPU machines. The variable must be set before triton is first imported
# (e3nn imports it), so it is set here, before any test module is collected. Nothing else on CPU uses Triton.
os.environ.setdefault("TRITON_INTERPRET", "1")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # a share of the cores per worker, for torch here and for the notebook kernels and subprocesses it starts
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
from pathlib import Path

import pytest
import torch
from timeouts import FACTOR_ENV, timeout_factor

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser_covered: a headless notebook execution that a browser test also "
                            "runs in full (tests/browser_coverage.py); make test's parallel phase deselects it")
    try:
        timeout_factor()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

BROWSER_SCOPE = "tests/browser"
#: tests that are each a long, independent job (a notebook executed in its own kernel): one work unit per test
SOLO_TESTS = "tests/notebooks/test_execute_notebooks.py::test_notebook_executes_with_default_parameters"


def _heavy_rank(nodeid: str) -> int:
    """0 for the browser tests, 1 for the notebook executions, 2 for the rest: the order work units are handed out
    in, longest first, so no worker is left with a long unit at the end."""
    if nodeid.startswith(BROWSER_SCOPE + "/"):
        return 0
    return 1 if nodeid.startswith(SOLO_TESTS) else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _heavy_rank(item.nodeid))  # stable: file order within each rank


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook; plain pytest runs never call it
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with all browser tests in one work unit and every notebook execution in its own, handed
    out in collection order (browser, notebooks, the rest; see the module docstring)."""
    from xdist.scheduler import LoadFileScheduling  # pytest-xdist is only present when -n is used

    if config.getoption("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # keep the heavy-first order of pytest_collection_modifyitems

    class HeavyFirstScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SOLO_TESTS):
                return nodeid
            scope = super()._split_scope(nodeid)
            return BROWSER_SCOPE if scope.startswith(BROWSER_SCOPE + "/") else scope

    return HeavyFirstScheduling(config, log)


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

"""Kernel tests run Triton's interpreter on the CPU.

Triton builds its language library (``tl.sum`` ...) for the interpreter only when ``TRITON_INTERPRET=1`` is set
before ``triton`` is first imported. This conftest sets it as early as it can (when pytest collects this folder).
In a full-suite run some earlier test module may already have imported triton (``import e3nn`` does, through
torch); then the tests here cannot run in this process: they are skipped and ``test_in_subprocess.py`` runs this
whole folder in a fresh ``pytest`` process instead (and fails if anything there fails). So exactly one of the
two paths runs the kernel tests.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

os.environ["TRITON_INTERPRET"] = "1"  # before anything below imports triton
if importlib.util.find_spec("triton") is None:
    pytest.skip("triton is not installed", allow_module_level=True)

from workbench.kernels.dispatch import interpreter_usable  # noqa: E402

IN_PROCESS = interpreter_usable()


@pytest.fixture(autouse=True)
def triton_interpreter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("interpreter_subprocess") is None and not IN_PROCESS:
        pytest.skip("triton was imported before TRITON_INTERPRET=1 was set; test_in_subprocess.py runs this test")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interpreter_subprocess: runs the kernel tests in a fresh process")

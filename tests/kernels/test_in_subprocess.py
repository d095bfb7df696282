from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from timeouts import scaled

from workbench.kernels.dispatch import interpreter_usable

pytestmark = [pytest.mark.kernels, pytest.mark.interpreter_subprocess]

HERE = Path(__file__).resolve().parent
IN_PROCESS = interpreter_usable()  # same test as conftest.py (which set TRITON_INTERPRET=1 before this import)


@pytest.mark.skipif(IN_PROCESS, reason="the kernel tests run in this process (triton imported in interpreter mode)")
def test_kernel_tests_in_a_fresh_interpreter_process():
    if os.environ.get("WORKBENCH_KERNELS_CHILD"):
        pytest.fail("triton is not in interpreter mode even in a fresh process with TRITON_INTERPRET=1")
    env = dict(os.environ, TRITON_INTERPRET="1", WORKBENCH_KERNELS_CHILD="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE)],
        cwd=HERE.parent.parent, env=env, capture_output=True, text=True,
        timeout=scaled(900),  # times $WORKBENCH_TEST_TIMEOUT_FACTOR; runs only where triton cannot interpret
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]

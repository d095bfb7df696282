"""One factor for every fixed timeout in the tests: ``WORKBENCH_TEST_TIMEOUT_FACTOR`` (default 1).

On a slow or loaded machine (CI shares its cores), run e.g. ``WORKBENCH_TEST_TIMEOUT_FACTOR=3 pytest``: notebook
cell limits, browser waits and subprocess timeouts all grow by that factor. The defaults next to each use leave
about 3x headroom over the time measured on an idle 2-core machine (the measurement is written beside them).
tests/conftest.py validates the variable before any test runs and prints the factor in the report header.
"""

from __future__ import annotations

import os

__all__ = ["FACTOR_ENV", "timeout_factor", "scaled", "scaled_ms"]

FACTOR_ENV = "WORKBENCH_TEST_TIMEOUT_FACTOR"


def timeout_factor() -> float:
    """``$WORKBENCH_TEST_TIMEOUT_FACTOR`` as a positive float (1.0 when unset)."""
    raw = os.environ.get(FACTOR_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{FACTOR_ENV} must be a positive number (e.g. 2.5), got {raw!r}")
    return value


def scaled(seconds: float) -> float:
    """``seconds`` times the factor (a timeout in seconds; for Playwright's milliseconds use ``scaled_ms``)."""
    return seconds * timeout_factor()


def scaled_ms(seconds: float) -> float:
    """The scaled timeout in milliseconds, as Playwright's ``timeout=`` expects."""
    return scaled(seconds) * 1000.0

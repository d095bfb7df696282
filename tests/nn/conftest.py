"""Helpers shared by the workbench.nn tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lorentz():
    from workbench.groups.lorentz import Lorentz

    return Lorentz()

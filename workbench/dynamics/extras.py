"""Loader of the optional Neural ODE solver, failing with the extra to install."""

from __future__ import annotations

from typing import Any

__all__ = ["require_torchdiffeq"]


def require_torchdiffeq() -> Any:
    """The ``torchdiffeq`` module; ImportError naming the ``dynamics`` extra when it is missing."""
    try:
        import torchdiffeq  # optional heavy dependency (the 'dynamics' extra): the Neural ODE baseline only
    except ImportError as err:
        raise ImportError("the Neural ODE baseline needs torchdiffeq (the 'dynamics' extra): pip install "
                          "'equivariant-workbench[dynamics]' or pip install torchdiffeq") from err
    return torchdiffeq

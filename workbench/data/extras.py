"""Loaders of the optional heavy dependencies the data layer uses, each failing with the extra to install."""

from __future__ import annotations

from typing import Any

__all__ = ["require_ase", "require_pyg_data"]


def require_ase() -> Any:
    """The ``ase`` module with its file readers registered; ImportError naming the ``chem`` extra when missing."""
    try:
        import ase  # optional heavy dependency (the 'chem' extra): ASE structures and PDB/CIF files only
        import ase.io  # noqa: F401  (registers the readers)
    except ImportError as err:
        raise ImportError("ASE structures and PDB/CIF files need ase (the 'chem' extra): pip install "
                          "'equivariant-workbench[chem]' or pip install ase") from err
    return ase


def require_pyg_data() -> Any:
    """``torch_geometric.data.Data``; ImportError naming the ``graph`` extra when PyG is missing."""
    try:
        from torch_geometric.data import Data  # optional heavy dependency (the 'graph' extra), PyG conversions only
    except ImportError as err:
        raise ImportError("PyG conversions need torch_geometric (the 'graph' extra): pip install "
                          "'equivariant-workbench[graph]' or pip install torch_geometric") from err
    return Data

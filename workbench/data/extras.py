"""Loaders of the optional heavy dependencies the data layer uses, each failing with the extra to install."""

from __future__ import annotations

from typing import Any

__all__ = ["require_ase", "require_pyg_data", "require_tblite_ase"]


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


def require_tblite_ase() -> Any:
    """tblite's ASE calculator class ``TBLite`` (GFN2-xTB); ImportError naming the ``xtb`` extra when missing."""
    try:
        from tblite.ase import TBLite  # optional heavy dependency (the 'xtb' extra): GFN2-xTB labels of the data
    except ImportError as err:
        raise ImportError("GFN2-xTB labels need tblite (the 'xtb' extra): pip install 'equivariant-workbench[xtb]' "
                          "or pip install tblite") from err
    return TBLite

"""Structures in and out of the workbench: ASE ``Atoms`` and PyTorch Geometric ``Data``.

- :func:`to_ase` / :func:`from_ase`: an :class:`~workbench.data.batch.AtomsItem` (e.g. a ``QM9Item``) or a
  :class:`~workbench.data.molecules.Molecule` to ``ase.Atoms`` (positions in Å, no cell) and back.
- :func:`to_pyg` / :func:`from_pyg`: an :class:`~workbench.data.batch.AtomsItem` to ``torch_geometric.data.Data``
  (``z [N]``, ``pos [N, 3]``, ``y [1, T]`` so that PyG batching stacks it to ``[B, T]``) and back.

``ase`` (the ``chem`` extra) and ``torch_geometric`` (the ``graph`` extra) are optional: they are imported when a
conversion needs them, and a missing one raises an ImportError that names the extra to install.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from workbench.data.batch import AtomsItem
from workbench.data.extras import require_ase, require_pyg_data
from workbench.data.molecules import Molecule

__all__ = ["to_ase", "from_ase", "to_pyg", "from_pyg"]

_ITEM_FIELDS = frozenset(f.name for f in dataclasses.fields(AtomsItem))




def _extras(item: AtomsItem) -> dict[str, Any]:
    """Fields a subclass adds to :class:`AtomsItem` (``mol_id`` and ``smiles`` of a ``QM9Item``)."""
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item) if f.name not in _ITEM_FIELDS}


def _check_item(item: Any) -> None:
    if not isinstance(item, AtomsItem):
        raise TypeError(f"item must be an AtomsItem (e.g. a QM9Item from QM9Dataset), got {type(item).__name__}")


def to_ase(item: AtomsItem | Molecule, target_names: Sequence[str] | None = None) -> Any:
    """An ``ase.Atoms`` (positions in Å, no cell) of an item or a molecule.

    Args:
        item: an :class:`AtomsItem` (``info`` holds ``index`` and the fields a subclass adds, e.g. ``mol_id`` and
            ``smiles`` of a ``QM9Item``) or a :class:`Molecule` (symbols, positions, Gasteiger charges as initial
            charges; ``info`` holds the molecule's info and its ``name``).
        target_names: for an item with ``y [T]``, the ``T`` names (e.g. ``dataset.target_names``): each becomes
            one float entry of ``info``.

    Raises:
        TypeError: ``item`` is neither.
        ValueError: ``target_names`` does not have one name per target.
        ImportError: ase is missing (the ``chem`` extra).
    """
    if isinstance(item, Molecule):
        ase = require_ase()
        atoms = ase.Atoms(symbols=list(item.symbols), positions=item.positions, charges=item.charges)
        atoms.info.update(item.info)
        atoms.info.setdefault("name", item.name)
        return atoms
    _check_item(item)
    ase = require_ase()
    atoms = ase.Atoms(numbers=item.z.tolist(), positions=item.pos.detach().cpu().double().numpy())
    atoms.info.update(_extras(item))
    if item.index is not None:
        atoms.info["index"] = item.index
    if target_names is not None:
        if item.y is None:
            raise ValueError("target_names given for an item without targets (y is None)")
        values = item.y.detach().cpu().double().reshape(-1).tolist()
        if len(target_names) != len(values):
            raise ValueError(f"target_names must have {len(values)} entries, got {len(target_names)}")
        atoms.info.update(dict(zip(target_names, values)))
    return atoms


def from_ase(atoms: Any, target_names: Sequence[str] | None = None, dtype: torch.dtype = torch.float64) -> AtomsItem:
    """An :class:`AtomsItem` of an ``ase.Atoms``: ``z`` from its atomic numbers, ``pos [N, 3]`` (Å, ``dtype``),
    ``y [T]`` from ``atoms.info[name]`` for each of ``target_names`` (else ``None``), ``index`` from
    ``atoms.info["index"]`` if present. The cell and periodicity are not kept.

    Raises:
        TypeError: ``atoms`` is not an ``ase.Atoms``, or ``dtype`` is not a floating torch dtype.
        ValueError: no atoms, a target name missing from ``atoms.info``.
    """
    ase = require_ase()
    if not isinstance(atoms, ase.Atoms):
        raise TypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    if len(atoms) == 0:
        raise ValueError("atoms must hold at least one atom")
    y = None
    if target_names is not None:
        missing = [n for n in target_names if n not in atoms.info]
        if missing:
            raise ValueError(f"atoms.info lacks target(s) {missing}; it has {sorted(atoms.info)}")
        y = torch.tensor([float(atoms.info[n]) for n in target_names], dtype=dtype)
    index = atoms.info.get("index")
    return AtomsItem(
        z=torch.as_tensor(atoms.numbers, dtype=torch.long),
        pos=torch.as_tensor(atoms.positions, dtype=dtype),
        y=y,
        index=None if index is None else int(index),
    )


def to_pyg(item: AtomsItem) -> Any:
    """A ``torch_geometric.data.Data`` with ``z [N]``, ``pos [N, 3]``, ``y [1, T]`` (if the item has targets),
    ``idx`` (its ``index``, if any) and the fields a subclass adds (``mol_id``, ``smiles`` of a ``QM9Item``).

    ``y`` is ``[1, T]`` so PyG batching stacks it to ``[B, T]``. Needs torch_geometric (the ``graph`` extra).
    """
    _check_item(item)
    data = require_pyg_data()
    fields: dict[str, Any] = {"z": item.z, "pos": item.pos}
    if item.y is not None:
        fields["y"] = item.y.reshape(1, -1)
    if item.index is not None:
        fields["idx"] = item.index
    return data(**fields, **_extras(item))


def from_pyg(data: Any) -> AtomsItem:
    """An :class:`AtomsItem` of one ``torch_geometric.data.Data`` with ``z [N]`` and ``pos [N, 3]``; ``y`` (any
    shape, e.g. ``[1, T]``) becomes ``[T]`` and ``idx`` the ``index``. Needs torch_geometric (the ``graph`` extra).

    Raises:
        TypeError: ``data`` is not a ``Data``.
        ValueError: ``z`` or ``pos`` missing or of the wrong shape.
    """
    data_type = require_pyg_data()
    if not isinstance(data, data_type):
        raise TypeError(f"data must be a torch_geometric.data.Data, got {type(data).__name__}")
    z, pos = getattr(data, "z", None), getattr(data, "pos", None)
    if z is None or pos is None or z.dim() != 1 or tuple(pos.shape) != (z.shape[0], 3):
        got = "missing" if z is None or pos is None else f"z {list(z.shape)}, pos {list(pos.shape)}"
        raise ValueError(f"data must carry z [N] and pos [N, 3], got {got}")
    y = getattr(data, "y", None)
    idx = getattr(data, "idx", None)
    return AtomsItem(z=z.long(), pos=pos, y=None if y is None else y.reshape(-1),
                     index=None if idx is None else int(idx))

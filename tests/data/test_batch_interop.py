"""workbench.data.batch (AtomsItem, AtomsBatch, collate_atoms) and workbench.data.interop (ASE, PyG)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from workbench.data.batch import AtomsBatch, AtomsItem, collate_atoms
from workbench.data.interop import from_ase, from_pyg, to_ase, to_pyg
from workbench.data.molecules import load_molecule
from workbench.data.qm9 import QM9Dataset

pytestmark = pytest.mark.unit


def _item(n: int, y: float | None = None, index: int | None = None, dtype=torch.float64) -> AtomsItem:
    g = torch.Generator().manual_seed(n)
    return AtomsItem(z=torch.randint(1, 10, (n,), generator=g), pos=torch.randn(n, 3, generator=g, dtype=dtype),
                     y=None if y is None else torch.tensor([y, -y], dtype=dtype), index=index)


def test_collate_is_pyg_shaped() -> None:
    items = [_item(3, 1.0, 7), _item(1, 2.0, 0), _item(4, 3.0, 2)]
    batch = collate_atoms(items)
    assert isinstance(batch, AtomsBatch) and batch.num_graphs == 3
    assert batch.z.dtype == torch.long and batch.z.shape == (8,)
    assert batch.pos.shape == (8, 3) and batch.pos.dtype == torch.float64
    assert batch.batch.dtype == torch.long and batch.batch.tolist() == [0, 0, 0, 1, 2, 2, 2, 2]
    assert batch.ptr.dtype == torch.long and batch.ptr.tolist() == [0, 3, 4, 8]
    assert batch.y.shape == (3, 2) and batch.y[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert batch.index.tolist() == [7, 0, 2]
    torch.testing.assert_close(batch.pos[batch.ptr[2]:batch.ptr[3]], items[2].pos)
    moved = batch.to("cpu")
    assert isinstance(moved, AtomsBatch) and torch.equal(moved.y, batch.y)
    bare = collate_atoms([_item(2), _item(5)])
    assert bare.y is None and bare.index is None and bare.num_graphs == 2 and bare.to("cpu").y is None


def test_collate_rejects_bad_items() -> None:
    with pytest.raises(ValueError, match="at least one"):
        collate_atoms([])
    with pytest.raises(TypeError, match="AtomsItem.*dict"):
        collate_atoms([_item(2), {"z": 1}])
    with pytest.raises(ValueError, match=r"items\[1\]\.pos must have shape \[3, 3\] \(N, 3: one row per atom of "):
        collate_atoms([_item(2), AtomsItem(torch.ones(3, dtype=torch.long), torch.zeros(2, 3))])
    with pytest.raises(ValueError, match="dtype"):
        collate_atoms([_item(2), _item(2, dtype=torch.float32)])
    with pytest.raises(ValueError, match="all carry y"):
        collate_atoms([_item(2, 1.0), _item(2)])
    with pytest.raises(ValueError, match="number of targets"):
        collate_atoms([_item(2, 1.0), AtomsItem(torch.ones(1, dtype=torch.long), torch.zeros(1, 3,
                                                                                      dtype=torch.float64),
                                                y=torch.zeros(3, dtype=torch.float64))])


def test_qm9_items_batch_with_collate_atoms() -> None:
    ds = QM9Dataset(targets=["gap"])
    loader = torch.utils.data.DataLoader(ds, batch_size=5, collate_fn=collate_atoms)
    batch = next(iter(loader))
    assert isinstance(batch, AtomsBatch) and batch.y.shape == (5, 1) and batch.index.tolist() == [0, 1, 2, 3, 4]


def test_ase_round_trip() -> None:
    ase = pytest.importorskip("ase")
    ds = QM9Dataset(targets=["gap", "u0"], dtype=torch.float64)
    item = ds[4]
    atoms = to_ase(item, ds.target_names)
    assert isinstance(atoms, ase.Atoms) and atoms.info["smiles"] == item.smiles and atoms.info["index"] == 4
    back = from_ase(atoms, ds.target_names)
    assert type(back) is AtomsItem and back.index == 4
    assert torch.equal(back.z, item.z) and torch.equal(back.pos, item.pos) and torch.equal(back.y, item.y)
    assert from_ase(atoms, dtype=torch.float32).pos.dtype == torch.float32 and from_ase(atoms).y is None
    with pytest.raises(ValueError, match=r"lacks target\(s\) \['mu'\]"):
        from_ase(atoms, ["mu"])
    with pytest.raises(TypeError, match="ase.Atoms"):
        from_ase(item)
    with pytest.raises(ValueError, match="without targets"):
        to_ase(_item(2), ["a", "b"])


def test_molecule_to_ase() -> None:
    pytest.importorskip("ase")
    mol = load_molecule("water")
    atoms = to_ase(mol)
    assert atoms.get_chemical_symbols() == list(mol.symbols)
    np.testing.assert_allclose(atoms.positions, mol.positions)
    np.testing.assert_allclose(atoms.get_initial_charges(), mol.charges)
    assert atoms.info["name"] == mol.name


def test_missing_extras_are_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ase", None)
    with pytest.raises(ImportError, match="'chem' extra"):
        to_ase(_item(2))
    monkeypatch.setitem(sys.modules, "torch_geometric", None)
    monkeypatch.setitem(sys.modules, "torch_geometric.data", None)
    with pytest.raises(ImportError, match="'graph' extra"):
        to_pyg(_item(2))
    with pytest.raises(ImportError, match="'graph' extra"):
        from_pyg(object())


def test_pyg_round_trip() -> None:
    pytest.importorskip("torch_geometric")
    ds = QM9Dataset(targets=["gap", "u0"])
    item = ds[2]
    data = to_pyg(item)
    assert data.mol_id == item.mol_id and data.y.shape == (1, 2)
    back = from_pyg(data)
    assert torch.equal(back.z, item.z) and torch.equal(back.pos, item.pos) and torch.equal(back.y, item.y)
    assert back.index == 2

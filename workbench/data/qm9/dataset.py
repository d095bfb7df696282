"""QM9 molecules as tensors: :class:`QM9Dataset` (a ``torch.utils.data.Dataset`` over a conformer folder) and its
items, :class:`QM9Item` (an :class:`~workbench.data.batch.AtomsItem` with the QM9 identifiers).

Batches are :class:`~workbench.data.batch.AtomsBatch` es made by :func:`~workbench.data.batch.collate_atoms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from workbench.data.batch import AtomsItem
from workbench.data.qm9.conformers import load_conformers
from workbench.data.qm9.units import validate_target_names

__all__ = ["QM9Item", "QM9Dataset"]


@dataclass(frozen=True, kw_only=True)
class QM9Item(AtomsItem):
    """One molecule as tensors (all fields are keywords).

    Attributes:
        z: ``[N]`` int64 atomic numbers.
        pos: ``[N, 3]`` positions in Å (the dataset's dtype).
        y: ``[T]`` labels in the order of :attr:`QM9Dataset.target_names` (the dataset's dtype).
        index: row of the molecule in the dataset file.
        mol_id: QM9 identifier.
        smiles: SMILES string.
    """

    mol_id: str
    smiles: str


class QM9Dataset(Dataset):
    """A ``torch.utils.data.Dataset`` over a QM9 conformer folder (sha256-verified on load).

    Args:
        root: folder with ``manifest.json`` and ``qm9_conformers.npz`` (default: the shipped :data:`DEFAULT_QM9_DIR`).
        targets: which labels each item carries (default all of :data:`QM9_TARGETS`); unknown names raise a
            ValueError listing the valid ones.
        indices: optional subset (e.g. a split from :func:`fixed_split`); must be non-empty and in range.
        dtype: torch floating dtype of ``pos`` and ``targets`` (default ``torch.float32``).
        verify: check the sha256 of the file against the manifest.

    ``dataset[i]`` is a :class:`QM9Item`; ``len(dataset)`` counts the selected molecules. Batch items with
    :func:`workbench.data.batch.collate_atoms`.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        targets: str | Sequence[str] | None = None,
        indices: Sequence[int] | np.ndarray | None = None,
        dtype: Any = None,
        verify: bool = True,
    ) -> None:
        self.conformers = load_conformers(root, verify=verify)
        self.target_names = validate_target_names(
            list(self.conformers.target_names) if targets is None else targets, self.conformers.target_names
        )
        self.dtype = torch.float32 if dtype is None else dtype
        if not isinstance(self.dtype, torch.dtype) or not self.dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        m = len(self.conformers)
        if indices is None:
            self.indices = np.arange(m)
        else:
            idx = np.asarray(indices)
            if idx.ndim != 1 or idx.size == 0:
                raise ValueError(f"indices must be a non-empty 1-D sequence of molecule indices, got shape {idx.shape}")
            if not np.issubdtype(idx.dtype, np.integer):
                raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
            if idx.min() < 0 or idx.max() >= m:
                raise ValueError(f"indices must lie in [0, {m - 1}], got range [{idx.min()}, {idx.max()}]")
            self.indices = idx.astype(np.int64)
        cols = [self.conformers.target_names.index(n) for n in self.target_names]
        self._targets = torch.as_tensor(self.conformers.targets[:, cols], dtype=self.dtype)

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int) -> QM9Item:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} molecules")
        row = int(self.indices[i])
        z, pos = self.conformers.molecule(row)
        return QM9Item(
            z=torch.tensor(z, dtype=torch.long),
            pos=torch.tensor(pos, dtype=self.dtype),
            y=self._targets[row],
            index=row,
            mol_id=self.conformers.mol_id[row],
            smiles=self.conformers.smiles[row],
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> QM9Dataset:
        """The same file and targets restricted to ``indices`` (indices of the file, not of this view)."""
        view = object.__new__(QM9Dataset)
        view.__dict__.update(self.__dict__)
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError("indices must be a non-empty 1-D sequence of molecule indices")
        if idx.min() < 0 or idx.max() >= len(self.conformers):
            raise ValueError(f"indices must lie in [0, {len(self.conformers) - 1}]")
        view.indices = idx.astype(np.int64)
        return view

    def target_array(self) -> np.ndarray:
        """``[len(self), T]`` float64 targets of the selected molecules (for normalizers and baselines)."""
        cols = [self.conformers.target_names.index(n) for n in self.target_names]
        return self.conformers.targets[self.indices][:, cols]

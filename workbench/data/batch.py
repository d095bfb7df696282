"""Structures as tensors and their PyG-shaped batches: :class:`AtomsItem`, :class:`AtomsBatch`, :func:`collate_atoms`.

A batch of ``B`` structures with ``A`` atoms in total is one disjoint graph, laid out as in PyTorch Geometric:
``z [A]`` (int64 atomic numbers), ``pos [A, 3]``, ``batch [A]`` (int64 structure index ``0..B-1`` of every atom)
and ``ptr [B + 1]`` (int64 offsets: structure ``b`` owns atoms ``ptr[b]:ptr[b+1]``), plus optional per-structure
targets ``y [B, ...]`` and dataset rows ``index [B]``. Every dataset of the workbench whose items are
:class:`AtomsItem` s (e.g. :class:`workbench.data.qm9.QM9Dataset`) batches with :func:`collate_atoms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from workbench.checks import check_tensor

__all__ = ["AtomsItem", "AtomsBatch", "collate_atoms"]


@dataclass(frozen=True)
class AtomsItem:
    """One structure as tensors.

    Attributes:
        z: ``[N]`` int64 atomic numbers.
        pos: ``[N, 3]`` floating positions in Å.
        y: optional per-structure targets, e.g. ``[T]`` (the same shape for every item of a dataset).
        index: optional row of the structure in its dataset.
    """

    z: torch.Tensor
    pos: torch.Tensor
    y: torch.Tensor | None = None
    index: int | None = None


@dataclass(frozen=True)
class AtomsBatch:
    """Several structures flattened into one disjoint graph (PyG-style), made by :func:`collate_atoms`.

    Attributes:
        z: ``[A]`` int64 atomic numbers of all atoms.
        pos: ``[A, 3]`` positions in Å.
        batch: ``[A]`` int64 structure index (``0..B-1``) of every atom.
        ptr: ``[B + 1]`` int64 offsets; structure ``b`` owns atoms ``ptr[b]:ptr[b+1]``.
        y: ``[B, ...]`` targets stacked from the items (``None`` when the items carry none).
        index: ``[B]`` int64 dataset rows of the structures (``None`` when the items carry none).
    """

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    ptr: torch.Tensor
    y: torch.Tensor | None = None
    index: torch.Tensor | None = None

    @property
    def num_graphs(self) -> int:
        """Number of structures ``B``."""
        return int(self.ptr.shape[0] - 1)

    def to(self, device: Any) -> AtomsBatch:
        """The same batch with every tensor on ``device``."""
        return AtomsBatch(
            self.z.to(device), self.pos.to(device), self.batch.to(device), self.ptr.to(device),
            None if self.y is None else self.y.to(device), None if self.index is None else self.index.to(device),
        )


def collate_atoms(items: Sequence[AtomsItem]) -> AtomsBatch:
    """Concatenate :class:`AtomsItem` s (or subclasses such as ``QM9Item``) into an :class:`AtomsBatch`.

    Use as ``collate_fn`` of a ``torch.utils.data.DataLoader`` or of :func:`workbench.train.fit`.

    Raises:
        ValueError: no items; an item whose ``z`` is not ``[N]`` or whose ``pos`` is not ``[N, 3]``; items that
            differ in the dtype of ``pos`` or in the shape of ``y``, or of which only some carry ``y`` or ``index``.
        TypeError: an item that is not an :class:`AtomsItem`.
    """
    items = list(items)
    if not items:
        raise ValueError("items must hold at least one AtomsItem")
    if not all(isinstance(it, AtomsItem) for it in items):
        bad = next(type(it).__name__ for it in items if not isinstance(it, AtomsItem))
        raise TypeError(f"items must all be AtomsItem (e.g. QM9Item from QM9Dataset), got a {bad}")
    for k, it in enumerate(items):
        check_tensor(it.z, f"items[{k}].z", shape=("N",))
        check_tensor(it.pos, f"items[{k}].pos", shape=(it.z.shape[0], 3),
                     hint=f"N, 3: one row per atom of items[{k}].z")
    if len({it.pos.dtype for it in items}) != 1:
        raise ValueError("items must share the dtype of pos (take them from one dataset)")
    has_y = {it.y is not None for it in items}
    has_index = {it.index is not None for it in items}
    if len(has_y) != 1 or len(has_index) != 1:
        raise ValueError("items must all carry y (and index) or all not")
    if True in has_y and len({tuple(it.y.shape) for it in items}) != 1:
        raise ValueError("items must share the number of targets (the shape of y; take them from one dataset)")
    sizes = torch.tensor([int(it.z.shape[0]) for it in items], dtype=torch.long)
    return AtomsBatch(
        z=torch.cat([it.z for it in items]).long(),
        pos=torch.cat([it.pos for it in items]),
        batch=torch.repeat_interleave(torch.arange(len(items)), sizes),
        ptr=torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)]),
        y=torch.stack([it.y for it in items]) if True in has_y else None,
        index=torch.tensor([it.index for it in items], dtype=torch.long) if True in has_index else None,
    )

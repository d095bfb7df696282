"""Structures labelled with energies and forces (and stresses for periodic cells) for training interatomic potentials.

Units follow ASE: energies in eV, forces in eV/Å (``F = -dE/dr``), stresses in eV/Å³ as ``(1/V) dE/d(strain)``
(``[3, 3]``, symmetric), positions and cells in Å, lattice vectors as rows of ``cell``.

- :class:`PotentialItem` / :class:`PotentialBatch` / :func:`collate_potentials`: an :class:`AtomsItem` plus
  ``energy``, ``forces``, ``cell``, ``pbc`` (and optional ``stress``); batches are PyG-shaped like
  :class:`AtomsBatch`.
- :func:`read_extxyz`: extended-XYZ files (the format of MACE/NequIP users, via ASE) with energies and forces under
  configurable keys; :func:`read_rmd17_npz`: the revised MD17 ``.npz`` files (kcal/mol converted to eV).
- :func:`items_from_atoms`: ASE ``Atoms`` with their labels (``atoms.info``/``atoms.arrays`` or a calculator).
- :func:`fit_atomic_energies`: per-element reference energies ``E0`` by least squares on the composition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.checks import check_array, check_tensor
from workbench.data.batch import AtomsBatch, AtomsItem
from workbench.data.extras import require_ase

__all__ = ["KCAL_PER_MOL_IN_EV", "PotentialItem", "PotentialBatch", "collate_potentials", "items_from_atoms",
           "read_extxyz", "read_rmd17_npz", "fit_atomic_energies", "force_rms"]

#: 1 kcal/mol in eV (rMD17 energies are in kcal/mol, forces in kcal/mol/Å).
KCAL_PER_MOL_IN_EV = 0.0433641043


@dataclass(frozen=True)
class PotentialItem(AtomsItem):
    """One labelled structure.

    Attributes (besides ``z [N]`` int64 and ``pos [N, 3]`` of :class:`AtomsItem`):
        energy: ``[]`` (0-d) total energy in eV.
        forces: ``[N, 3]`` forces in eV/Å.
        cell: ``[3, 3]`` lattice vectors as rows (zeros for a molecule).
        pbc: ``[3]`` bool periodic directions (all False for a molecule).
        stress: ``[3, 3]`` stress in eV/Å³ or ``None`` when unknown.
    """

    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None
    cell: torch.Tensor | None = None
    pbc: torch.Tensor | None = None
    stress: torch.Tensor | None = None


@dataclass(frozen=True)
class PotentialBatch(AtomsBatch):
    """:class:`AtomsBatch` plus ``energy [B]``, ``forces [A, 3]``, ``cell [B, 3, 3]``, ``pbc [B, 3]`` (bool) and
    ``stress [B, 3, 3]`` (``None`` unless every item has one)."""

    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None
    cell: torch.Tensor | None = None
    pbc: torch.Tensor | None = None
    stress: torch.Tensor | None = None

    @property
    def periodic(self) -> bool:
        """True when any structure has a periodic direction."""
        return self.pbc is not None and bool(self.pbc.any())

    def to(self, device: Any) -> PotentialBatch:
        def move(t):
            return None if t is None else t.to(device)
        return PotentialBatch(move(self.z), move(self.pos), move(self.batch), move(self.ptr), move(self.y),
                              move(self.index), move(self.energy), move(self.forces), move(self.cell),
                              move(self.pbc), move(self.stress))


def collate_potentials(items: Sequence[PotentialItem]) -> PotentialBatch:
    """Concatenate :class:`PotentialItem` s into a :class:`PotentialBatch` (``collate_fn`` of
    :func:`workbench.train.fit`).

    Raises:
        ValueError: no items, an item without ``energy``/``forces``, forces not ``[N, 3]``, mixed dtypes.
        TypeError: an item that is not a :class:`PotentialItem`.
    """
    items = list(items)
    if not items:
        raise ValueError("items must hold at least one PotentialItem")
    for k, it in enumerate(items):
        if not isinstance(it, PotentialItem):
            raise TypeError(f"items must all be PotentialItem (e.g. from read_extxyz), got a {type(it).__name__}")
        check_tensor(it.z, f"items[{k}].z", shape=("N",), dtype="int")
        check_tensor(it.pos, f"items[{k}].pos", shape=(it.z.shape[0], 3), dtype="float")
        if it.energy is None or it.forces is None:
            raise ValueError(f"items[{k}] has no energy or forces label")
        check_tensor(it.forces, f"items[{k}].forces", shape=(it.z.shape[0], 3), dtype="float")
    if len({it.pos.dtype for it in items}) != 1:
        raise ValueError("items must share the dtype of pos (take them from one dataset)")
    dtype = items[0].pos.dtype
    sizes = torch.tensor([int(it.z.shape[0]) for it in items], dtype=torch.long)
    has_stress = all(it.stress is not None for it in items)
    has_index = all(it.index is not None for it in items)
    return PotentialBatch(
        z=torch.cat([it.z for it in items]).long(),
        pos=torch.cat([it.pos for it in items]),
        batch=torch.repeat_interleave(torch.arange(len(items)), sizes),
        ptr=torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)]),
        index=torch.tensor([it.index for it in items], dtype=torch.long) if has_index else None,
        energy=torch.stack([it.energy.to(dtype).reshape(()) for it in items]),
        forces=torch.cat([it.forces.to(dtype) for it in items]),
        cell=torch.stack([(it.cell if it.cell is not None else torch.zeros(3, 3)).to(dtype) for it in items]),
        pbc=torch.stack([(it.pbc if it.pbc is not None else torch.zeros(3, dtype=torch.bool)).bool()
                         for it in items]),
        stress=torch.stack([it.stress.to(dtype) for it in items]) if has_stress else None,
    )


def _voigt_to_matrix(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.shape == (3, 3):
        return s
    if s.shape == (6,):  # ASE Voigt order xx, yy, zz, yz, xz, xy
        xx, yy, zz, yz, xz, xy = s
        return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    if s.shape == (9,):
        return s.reshape(3, 3)
    raise ValueError(f"stress must have 6 (Voigt) or 9 components, got shape {s.shape}")


def _label(atoms: Any, key: str, kind: str, k: int) -> Any:
    if kind == "info" and key in atoms.info:
        return atoms.info[key]
    if kind == "arrays" and key in atoms.arrays:
        return atoms.arrays[key]
    calc = atoms.calc
    results = getattr(calc, "results", {}) if calc is not None else {}
    name = {"energy": "energy", "forces": "forces", "stress": "stress"}.get(key, key)
    if name in results:
        return results[name]
    return None


def items_from_atoms(structures: Iterable[Any], energy_key: str = "energy", forces_key: str = "forces",
                     stress_key: str = "stress", dtype: torch.dtype = torch.float64) -> list[PotentialItem]:
    """:class:`PotentialItem` s from ASE ``Atoms`` whose labels sit in ``atoms.info[energy_key]``,
    ``atoms.arrays[forces_key]`` (``[N, 3]``), optional ``atoms.info[stress_key]`` (Voigt 6 or 3x3), or in the
    results of an attached (single-point) calculator.

    Raises:
        ValueError: a structure without an energy or forces label (the message names the keys looked for),
            non-finite positions or labels.
    """
    out = []
    for k, atoms in enumerate(structures):
        energy = _label(atoms, energy_key, "info", k)
        forces = _label(atoms, forces_key, "arrays", k)
        if energy is None or forces is None:
            raise ValueError(f"structure {k} has no energy (info[{energy_key!r}]) or forces "
                             f"(arrays[{forces_key!r}]) label, nor a calculator holding them; pass energy_key/"
                             "forces_key naming the labels of your file")
        pos = check_array(np.asarray(atoms.get_positions(), dtype=np.float64), f"structure {k} positions",
                          shape=("N", 3), finite=True)
        forces = check_array(np.asarray(forces, dtype=np.float64), f"structure {k} forces", shape=(len(atoms), 3),
                             finite=True)
        stress = _label(atoms, stress_key, "info", k)
        pbc = np.asarray(atoms.get_pbc(), dtype=bool)
        cell = np.asarray(atoms.get_cell()[:], dtype=np.float64)
        if pbc.any() and abs(np.linalg.det(cell)) < 1e-9:
            raise ValueError(f"structure {k} is periodic (pbc={pbc.tolist()}) but its cell is singular or missing")
        out.append(PotentialItem(
            z=torch.as_tensor(atoms.get_atomic_numbers(), dtype=torch.long),
            pos=torch.as_tensor(pos, dtype=dtype), index=k,
            energy=torch.tensor(float(energy), dtype=dtype), forces=torch.as_tensor(forces, dtype=dtype),
            cell=torch.as_tensor(cell, dtype=dtype), pbc=torch.as_tensor(pbc),
            stress=None if stress is None else torch.as_tensor(_voigt_to_matrix(stress), dtype=dtype)))
    return out


def read_extxyz(path: str | Path, index: str | int | slice = ":", energy_key: str = "energy",
                forces_key: str = "forces", stress_key: str = "stress",
                dtype: torch.dtype = torch.float64) -> list[PotentialItem]:
    """Read an extended-XYZ file (one or many frames) into :class:`PotentialItem` s with ASE.

    Energies in eV and forces in eV/Å are read from ``energy_key`` (comment line) and ``forces_key`` (per-atom
    columns); files written by ASE with a calculator attached, MACE's ``REF_energy``/``REF_forces`` files
    (``energy_key="REF_energy", forces_key="REF_forces"``) and rMD17 converted to extended XYZ all work.

    Raises:
        FileNotFoundError: no such file. ImportError: ASE missing (the ``chem`` extra).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no extended-XYZ file at {path}")
    ase = require_ase()
    frames = ase.io.read(str(path), index=index, format="extxyz")
    if not isinstance(frames, list):
        frames = [frames]
    return items_from_atoms(frames, energy_key, forces_key, stress_key, dtype)


def read_rmd17_npz(path: str | Path, indices: Sequence[int] | None = None,
                   dtype: torch.dtype = torch.float64) -> list[PotentialItem]:
    """Frames of a revised-MD17 file (``rmd17_<molecule>.npz`` with ``nuclear_charges [N]``, ``coords [F, N, 3]``
    (Å), ``energies [F]`` (kcal/mol), ``forces [F, N, 3]`` (kcal/mol/Å)), converted to eV and eV/Å.

    ``indices``: the frames to read (e.g. the official ``index_train_01.csv`` split), default all.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no rMD17 .npz file at {path}")
    with np.load(path) as data:
        missing = {"nuclear_charges", "coords", "energies", "forces"} - set(data.files)
        if missing:
            raise ValueError(f"{path} is not an rMD17 file: it lacks {sorted(missing)}")
        z = np.asarray(data["nuclear_charges"], dtype=np.int64)
        coords, energies, forces = data["coords"], data["energies"], data["forces"]
    frames = range(len(energies)) if indices is None else [int(i) for i in indices]
    out = []
    for i in frames:
        out.append(PotentialItem(
            z=torch.as_tensor(z), pos=torch.as_tensor(coords[i], dtype=dtype), index=int(i),
            energy=torch.tensor(float(energies[i]) * KCAL_PER_MOL_IN_EV, dtype=dtype),
            forces=torch.as_tensor(forces[i] * KCAL_PER_MOL_IN_EV, dtype=dtype),
            cell=torch.zeros(3, 3, dtype=dtype), pbc=torch.zeros(3, dtype=torch.bool)))
    return out


def fit_atomic_energies(items: Sequence[PotentialItem], elements: Sequence[int]) -> np.ndarray:
    """Per-element reference energies ``E0 [len(elements)]`` (eV, float64) minimising
    ``sum_s (E_s - sum_e n_se E0_e)^2`` (minimum-norm least squares: a dataset of one composition, such as an MD
    trajectory of one molecule, spreads its mean energy over its elements).

    Raises:
        ValueError: no items, or an atomic number not in ``elements``.

    Examples:
        >>> import torch
        >>> from workbench.data.potentials import PotentialItem, fit_atomic_energies
        >>> def item(z, e):
        ...     n = len(z)
        ...     return PotentialItem(z=torch.tensor(z), pos=torch.zeros(n, 3), energy=torch.tensor(e),
        ...                          forces=torch.zeros(n, 3))
        >>> e0 = fit_atomic_energies([item([1, 1], -2.0), item([8], -5.0), item([8, 1], -6.0)], elements=[1, 8])
        >>> [round(float(v), 6) for v in e0]
        [-1.0, -5.0]
    """
    if not items:
        raise ValueError("items must hold at least one labelled structure")
    elements = [int(e) for e in elements]
    counts = np.zeros((len(items), len(elements)))
    energies = np.zeros(len(items))
    for k, it in enumerate(items):
        for z, n in zip(*np.unique(it.z.numpy(), return_counts=True)):
            if int(z) not in elements:
                raise ValueError(f"items[{k}] holds element {int(z)}, not among elements {elements}")
            counts[k, elements.index(int(z))] = n
        energies[k] = float(it.energy)
    e0, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return e0


def force_rms(items: Sequence[PotentialItem]) -> float:
    """Root mean square of all force components of ``items`` (eV/Å): the energy scale of a potential (MACE's
    ``rms_forces_scaling``)."""
    if not items:
        raise ValueError("items must hold at least one labelled structure")
    sq = sum(float(it.forces.double().pow(2).sum()) for it in items)
    n = sum(it.forces.numel() for it in items)
    return (sq / n) ** 0.5

"""``WorkbenchCalculator``: an ASE calculator (energy, forces, stress) from a trained workbench potential.

Energies in eV, forces in eV/Å and stresses in eV/Å³ (ASE's Voigt order ``xx, yy, zz, yz, xz, xy``), computed by
:class:`workbench.models.potential.Potential` (forces ``-dE/dr`` and stresses ``dE/d(strain)/V`` by autograd),
in float64 (default, exact tests) or float32 (faster). Periodic cells use the periodic radius graph (every image
within the cutoff). Before each evaluation the structure is checked: finite positions, elements the potential was
trained on, a non-singular cell along periodic directions, and no two atoms closer than ``min_distance`` (a
learned potential is meaningless there, and MD that gets there has failed) -- each raises ``ValueError`` naming
what is wrong instead of returning NaN.

:meth:`WorkbenchCalculator.evaluate` scores many structures in batches (one disjoint graph per batch).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.calculators.checkpoint import load_potential
from workbench.models.potential import Potential
from workbench.nn.graph import radius_graph

try:  # ASE is optional (the 'chem' extra): without it the class exists but refuses to be built
    from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
except ImportError:  # pragma: no cover - exercised only without ASE
    Calculator, PropertyNotImplementedError, all_changes = object, NotImplementedError, []

__all__ = ["WorkbenchCalculator", "check_structure"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32, torch.float64: torch.float64,
           torch.float32: torch.float32}


def _matrix_to_voigt(s: np.ndarray) -> np.ndarray:
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


def check_structure(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray,
                    elements: Sequence[int], min_distance: float) -> None:
    """Raise ``ValueError`` unless the structure can be evaluated (module docstring): finite ``positions [N, 3]``,
    every atomic number in ``elements``, a non-singular ``cell [3, 3]`` when ``pbc [3]`` has a True, and no pair
    (periodic images included) closer than ``min_distance`` Å."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] != len(numbers):
        raise ValueError(f"positions must have shape [N, 3] with N = {len(numbers)} atoms, got {positions.shape}")
    if len(numbers) == 0:
        raise ValueError("atoms: the structure has no atoms")
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        raise ValueError(f"positions must be finite: NaN or inf at atom(s) {bad[:10].tolist()} (an MD run that "
                         "blew up, or a bad file)")
    unknown = sorted({int(z) for z in numbers} - {int(e) for e in elements})
    if unknown:
        raise ValueError(f"atomic numbers {unknown} are not in the potential's training set (elements "
                         f"{tuple(int(e) for e in elements)}); train on data that contain them")
    pbc = np.asarray(pbc, dtype=bool)
    cell = np.asarray(cell, dtype=np.float64)
    if pbc.any():
        if not np.isfinite(cell).all() or abs(np.linalg.det(cell)) < 1e-6:
            raise ValueError(f"atoms.pbc is {pbc.tolist()} but the cell is missing or singular (cell = "
                             f"{cell.tolist()}); set atoms.cell to the lattice vectors, or atoms.pbc = False for a "
                             "molecule")
    pos_t = torch.as_tensor(positions)
    edges, shifts = radius_graph(pos_t, float(min_distance), cell=torch.as_tensor(cell) if pbc.any() else None,
                                 pbc=torch.as_tensor(pbc) if pbc.any() else None, self_interaction=False)
    if edges.shape[1]:
        d = torch.linalg.norm(pos_t[edges[1]] - pos_t[edges[0]] + shifts, dim=-1)
        k = int(torch.argmin(d))
        i, j = sorted((int(edges[1, k]), int(edges[0, k])))
        raise ValueError(f"atoms {i} and {j} are {float(d[k]):.3f} Å apart, closer than min_distance = "
                         f"{min_distance} Å: the potential is not meant for such geometries (a collapsed structure "
                         "or a failed MD run); pass a smaller min_distance to evaluate anyway")


class WorkbenchCalculator(Calculator):
    """ASE calculator of a workbench :class:`Potential` (module docstring).

    Args:
        potential: a :class:`Potential` (copied), or the path of a checkpoint written by
            :func:`workbench.calculators.save_potential`.
        dtype: ``"float64"`` (default) or ``"float32"`` (also torch dtypes).
        min_distance: the smallest interatomic distance accepted (Å), > 0 (default 0.5).
        device: torch device to evaluate on.

    Examples:
        >>> import torch
        >>> from ase import Atoms
        >>> from workbench.models import SchNet, Potential
        >>> from workbench.calculators import WorkbenchCalculator
        >>> _ = torch.manual_seed(0)
        >>> calc = WorkbenchCalculator(Potential(SchNet(channels=8, num_interactions=1, elements=(1, 8))))
        >>> water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]], calculator=calc)
        >>> water.get_forces().shape
        (3, 3)
        >>> Atoms("OH2", positions=[[0, 0, 0], [0, 0, 0.1], [0, 1, 0]], calculator=calc).get_potential_energy()
        Traceback (most recent call last):
        ...
        ValueError: atoms 0 and 1 are 0.100 Å apart, closer than min_distance = 0.5 Å: ...
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential: Potential | str | Path, dtype: Any = "float64", min_distance: float = 0.5,
                 device: str | torch.device = "cpu", **kwargs: Any) -> None:
        if Calculator is object:
            raise ImportError("WorkbenchCalculator needs ase (the 'chem' extra): pip install "
                              "'equivariant-workbench[chem]' or pip install ase")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        if not (isinstance(min_distance, (int, float)) and np.isfinite(min_distance) and min_distance > 0):
            raise ValueError(f"min_distance must be a positive number of Å, got {min_distance!r}")
        super().__init__(**kwargs)
        if isinstance(potential, (str, Path)):
            potential = load_potential(potential)
        if not isinstance(potential, Potential):
            raise TypeError(f"potential must be a Potential or a checkpoint path, got {type(potential).__name__}")
        self.dtype = _DTYPES[dtype]
        self.device = torch.device(device)
        # a copy: the calculator's dtype/device must not change the caller's module (nor another calculator's)
        self.potential = copy.deepcopy(potential).to(device=self.device, dtype=self.dtype).eval()
        self.min_distance = float(min_distance)

    def _tensors(self, atoms_list: Sequence[Any]) -> dict[str, Any]:
        zs, poss, batch, cells, pbcs = [], [], [], [], []
        for b, atoms in enumerate(atoms_list):
            numbers, positions = atoms.get_atomic_numbers(), atoms.get_positions()
            cell, pbc = np.asarray(atoms.get_cell()[:]), np.asarray(atoms.get_pbc())
            check_structure(numbers, positions, cell, pbc, self.potential.elements, self.min_distance)
            zs.append(torch.as_tensor(numbers, dtype=torch.long))
            poss.append(torch.as_tensor(positions, dtype=self.dtype))
            batch.append(torch.full((len(numbers),), b, dtype=torch.long))
            cells.append(torch.as_tensor(cell, dtype=self.dtype))
            pbcs.append(torch.as_tensor(pbc, dtype=torch.bool))
        pbc_t = torch.stack(pbcs)
        periodic = bool(pbc_t.any())
        return {"z": torch.cat(zs).to(self.device), "pos": torch.cat(poss).to(self.device),
                "batch": torch.cat(batch).to(self.device), "num_graphs": len(atoms_list),
                "cell": torch.stack(cells).to(self.device) if periodic else None,
                "pbc": pbc_t.to(self.device) if periodic else None}

    def calculate(self, atoms: Any = None, properties: Sequence[str] = ("energy",),
                  system_changes: Sequence[str] = tuple(all_changes)) -> None:
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not bool(np.all(self.atoms.get_pbc())):
            raise PropertyNotImplementedError("stress needs a structure periodic in all three directions "
                                              f"(atoms.pbc = {self.atoms.get_pbc().tolist()})")
        result = self.evaluate([self.atoms], compute_stress=want_stress)[0]
        self.results.update(result)

    def evaluate(self, atoms_list: Sequence[Any], batch_size: int = 16,
                 compute_stress: bool = False) -> list[dict[str, Any]]:
        """Energy (``float``, eV), ``free_energy`` (the same), forces (``[N, 3]`` float64 eV/Å) and, when asked
        and every structure is fully periodic, ``stress`` (Voigt ``[6]`` eV/Å³) of every structure, evaluated
        ``batch_size`` structures at a time."""
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out: list[dict[str, Any]] = []
        for start in range(0, len(atoms_list), int(batch_size)):
            chunk = list(atoms_list[start:start + int(batch_size)])
            t = self._tensors(chunk)
            res = self.potential(t["z"], t["pos"], t["batch"], t["num_graphs"], t["cell"], t["pbc"],
                                 compute_forces=True, compute_stress=compute_stress)
            energy = res.energy.detach().double().cpu().numpy()
            forces = res.forces.detach().double().cpu().numpy()
            sizes = [len(a) for a in chunk]
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            for b in range(len(chunk)):
                item = {"energy": float(energy[b]), "free_energy": float(energy[b]),
                        "forces": forces[offsets[b]:offsets[b + 1]].copy()}
                if compute_stress:
                    item["stress"] = _matrix_to_voigt(res.stress[b].detach().double().cpu().numpy())
                out.append(item)
        return out

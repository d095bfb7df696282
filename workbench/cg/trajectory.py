"""A molecular trajectory with its topology: the one input type of :mod:`workbench.cg`.

Conventions: positions in ångström, ``[T, n_atoms, 3]`` float (float32 on disk, any float in memory); atoms
ordered as in the topology; ``bonds [B, 2]`` int64 pairs ``i < j`` (each once); ``elements`` atomic numbers.
:func:`read_trajectory` reads a user's own file: PDB/XYZ (multi-model) through ASE (the ``chem`` extra) or a
DCD/XTC with its PDB topology through MDTraj when installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.checks import check_array

__all__ = ["Trajectory", "read_trajectory", "covalent_bonds", "COVALENT_RADII"]

#: Covalent radii (Å; Cordero et al. 2008) of the elements a biomolecule holds, by atomic number.
COVALENT_RADII = {1: 0.31, 6: 0.76, 7: 0.71, 8: 0.66, 15: 1.07, 16: 1.05}


@dataclass
class Trajectory:
    """Frames of one molecule.

    Attributes:
        positions: ``[T, n, 3]`` float, Å.
        elements: ``[n]`` int atomic numbers.
        bonds: ``[B, 2]`` int64 atom pairs (the reference bond graph).
        masses: ``[n]`` float, dalton.
        atom_names, residue_names: ``[n]`` str (PDB names; ``""`` where unknown).
        residue_index: ``[n]`` int, 0-based.
        time_ps: ``[T]`` float, simulation time of each frame (ps; frame index when unknown).
        info: provenance (generator, settings).
    """

    positions: np.ndarray
    elements: np.ndarray
    bonds: np.ndarray
    masses: np.ndarray
    atom_names: np.ndarray
    residue_names: np.ndarray
    residue_index: np.ndarray
    time_ps: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions)
        check_array(self.positions, "positions", shape=("T", "n", 3), dtype="float", finite=True)
        t, n = self.positions.shape[:2]
        if t < 1 or n < 1:
            raise ValueError(f"positions must hold at least one frame of one atom, got shape {self.positions.shape}")
        self.elements = np.asarray(self.elements, dtype=np.int64)
        self.masses = np.asarray(self.masses, dtype=np.float64)
        self.residue_index = np.asarray(self.residue_index, dtype=np.int64)
        self.atom_names = np.asarray(self.atom_names, dtype=str)
        self.residue_names = np.asarray(self.residue_names, dtype=str)
        self.time_ps = np.asarray(self.time_ps, dtype=np.float64)
        for name in ("elements", "masses", "residue_index", "atom_names", "residue_names"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape [{n}] (one entry per atom of positions [T, {n}, 3]), "
                                 f"got {arr.shape}: topology and coordinates do not match")
        if self.time_ps.shape != (t,):
            raise ValueError(f"time_ps must have shape [{t}] (one entry per frame), got {self.time_ps.shape}")
        if not np.all(self.masses > 0):
            raise ValueError("masses must all be positive (dalton)")
        self.bonds = np.asarray(self.bonds, dtype=np.int64).reshape(-1, 2) if np.size(self.bonds) else \
            np.zeros((0, 2), dtype=np.int64)
        if self.bonds.size and (self.bonds.min() < 0 or self.bonds.max() >= n):
            raise ValueError(f"bonds must index atoms 0..{n - 1}, got a pair with {self.bonds.min()} or "
                             f"{self.bonds.max()}: topology and coordinates do not match")
        if np.any(self.bonds[:, 0] == self.bonds[:, 1]):
            raise ValueError("bonds must join two different atoms, got a pair (i, i)")
        self.bonds = np.unique(np.sort(self.bonds, axis=1), axis=0)

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_atoms(self) -> int:
        return int(self.positions.shape[1])

    @property
    def heavy(self) -> np.ndarray:
        """``[n]`` bool: the atoms that are not hydrogen."""
        return self.elements != 1

    def subset(self, frames: np.ndarray | slice) -> Trajectory:
        """The same molecule with only ``frames`` (indices or a slice)."""
        return Trajectory(self.positions[frames], self.elements, self.bonds, self.masses, self.atom_names,
                          self.residue_names, self.residue_index, self.time_ps[frames], dict(self.info))


def covalent_bonds(elements: np.ndarray, positions: np.ndarray, tolerance: float = 1.2) -> np.ndarray:
    """Bonds ``[B, 2]`` (``i < j``) of one frame ``positions [n, 3]`` (Å) from distances: ``d_ij < tolerance *
    (r_i + r_j)`` with the covalent radii :data:`COVALENT_RADII`. The rule behind the graph-edit ratio and the
    bonds of a PDB/XYZ file that has none.

    >>> import numpy as np
    >>> covalent_bonds(np.array([8, 1, 1]), np.array([[0., 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])).tolist()
    [[0, 1], [0, 2]]
    """
    elements = np.asarray(elements)
    check_array(positions, "positions", shape=(len(elements), 3), dtype="float", finite=True)
    unknown = sorted({int(z) for z in elements} - set(COVALENT_RADII))
    if unknown:
        raise ValueError(f"no covalent radius for atomic number(s) {unknown}; known: {sorted(COVALENT_RADII)}")
    radii = np.array([COVALENT_RADII[int(z)] for z in elements])
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    i, j = np.nonzero(np.triu(d < tolerance * (radii[:, None] + radii[None]), k=1))
    return np.stack([i, j], axis=1).astype(np.int64)


def read_trajectory(path: str | Path, topology: str | Path | None = None) -> Trajectory:
    """A user's own trajectory: a multi-frame PDB or XYZ (through ASE), or a DCD/XTC with ``topology`` (a PDB;
    through MDTraj, when installed). Bonds come from the PDB CONECT records when MDTraj reads them, else from
    distances in the first frame (:func:`covalent_bonds`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path {path}: no such trajectory file")
    suffix = path.suffix.lower()
    if suffix in (".dcd", ".xtc", ".trr", ".h5"):
        if topology is None:
            raise ValueError(f"topology: a {suffix} file holds coordinates only; pass topology='file.pdb'")
        try:
            import mdtraj  # optional heavy dependency (the 'md' extra): binary MD trajectories only
        except ImportError as err:
            raise ImportError("reading DCD/XTC trajectories needs mdtraj (the 'md' extra): pip install "
                              "'equivariant-workbench[md]' mdtraj") from err
        traj = mdtraj.load(str(path), top=str(topology))
        atoms = list(traj.topology.atoms)
        bonds = np.array([[a.index, b.index] for a, b in traj.topology.bonds], dtype=np.int64).reshape(-1, 2)
        elements = np.array([a.element.atomic_number for a in atoms])
        positions = traj.xyz.astype(np.float64) * 10.0
        if not len(bonds):
            bonds = covalent_bonds(elements, positions[0])
        return Trajectory(positions, elements, bonds, [a.element.mass for a in atoms], [a.name for a in atoms],
                          [a.residue.name for a in atoms], [a.residue.index for a in atoms],
                          np.asarray(traj.time, dtype=np.float64), {"source": str(path), "reader": "mdtraj"})
    if suffix not in (".pdb", ".xyz", ".extxyz"):
        raise ValueError(f"path must be a .pdb, .xyz, .extxyz, or .dcd/.xtc with topology=, got {path.name}")
    try:
        import ase.io  # optional heavy dependency (the 'chem' extra): PDB/XYZ reading only
    except ImportError as err:
        raise ImportError("reading PDB/XYZ trajectories needs ase (the 'chem' extra): pip install "
                          "'equivariant-workbench[chem]'") from err
    frames = ase.io.read(str(path), index=":")
    if not frames:
        raise ValueError(f"path {path} holds no frames")
    n = len(frames[0])
    if any(len(f) != n for f in frames):
        raise ValueError(f"path {path}: frames hold different atom counts; one molecule per trajectory")
    elements = frames[0].get_atomic_numbers()
    if any(not np.array_equal(f.get_atomic_numbers(), elements) for f in frames):
        raise ValueError(f"path {path}: the atoms' elements change between frames")
    positions = np.stack([f.get_positions() for f in frames])
    arrays = frames[0].arrays
    names = arrays.get("atomtypes", np.array([""] * n))
    resnames = arrays.get("residuenames", np.array([""] * n))
    resid = arrays.get("residuenumbers", np.zeros(n, dtype=int))
    resid = np.unique(resid, return_inverse=True)[1]
    return Trajectory(positions, elements, covalent_bonds(elements, positions[0]), frames[0].get_masses(),
                      [str(s).strip() for s in names], [str(s).strip() for s in resnames], resid,
                      np.arange(len(frames), dtype=np.float64), {"source": str(path), "reader": "ase"})

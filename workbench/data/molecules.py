"""Small molecules shipped with the workbench: 3D conformers with partial charges, as extended XYZ.

Files live in ``data/molecules/`` (one ``<name>.xyz`` per molecule) next to a ``manifest.json`` that records how
they were made (builder, workbench and RDKit versions, seed, method) and the sha256 and atom count of each file.

Building (:func:`build_molecules`) needs RDKit (the ``chem`` extra): each molecule is embedded from SMILES with
ETKDGv3 (fixed random seed), relaxed with the MMFF94 force field, and given Gasteiger partial charges. These are
force-field geometries and empirical charges, not quantum-chemical ones: good for showing what rotates and what
does not, not for quantitative dipole moments.

Loading (:func:`load_molecule`) needs only numpy (and torch for :meth:`Molecule.rotated` with a tensor): the file
is checked against the manifest's sha256 before it is parsed.

File format (extended XYZ, one frame)::

    <N>
    Properties=species:S:1:pos:R:3:gasteiger_charge:R:1 name="ethanol" smiles="CCO" pbc="F F F"
    C   -0.92345678   0.01234567   0.00000000  -0.04212345
    ...

Positions are in Ångström, charges in units of the elementary charge ``e``. ``ase.io.read`` reads these files
(the charges land in ``atoms.arrays["gasteiger_charge"]``).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.checks import check_array
from workbench.data.manifest import MANIFEST_NAME, read_manifest, read_verified_file, sha256_bytes
from workbench.version import __version__

__all__ = [
    "MOLECULE_SMILES",
    "DEFAULT_MOLECULES_DIR",
    "E_ANGSTROM_TO_DEBYE",
    "Molecule",
    "RotationCheck",
    "available_molecules",
    "load_molecule",
    "read_extxyz",
    "write_extxyz",
    "build_molecules",
    "rotation_check",
]

#: The molecules :func:`build_molecules` makes, name -> SMILES (hydrogens are added by the builder).
MOLECULE_SMILES: dict[str, str] = {
    "water": "O",
    "ammonia": "N",
    "methane": "C",
    "formaldehyde": "C=O",
    "ethanol": "CCO",
    "acetic_acid": "CC(=O)O",
    "benzene": "c1ccccc1",
    "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
}

#: ``data/molecules`` of the checkout this module belongs to.
DEFAULT_MOLECULES_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "molecules"

#: 1 e·Å expressed in Debye (1 D = 1e-21 C m^2/s / c; e·Å = 1.602176634e-29 C m = 4.8032047 D).
E_ANGSTROM_TO_DEBYE: float = 4.803204712570263

_PROPERTIES = "species:S:1:pos:R:3:gasteiger_charge:R:1"
_MANIFEST = MANIFEST_NAME


@dataclass(frozen=True)
class Molecule:
    """A molecule with 3D coordinates and per-atom partial charges.

    Attributes:
        name: short identifier (the file stem, e.g. ``"ethanol"``).
        symbols: element symbols, length ``N``.
        positions: ``[N, 3]`` float64 Cartesian coordinates in Ångström.
        charges: ``[N]`` float64 partial charges in units of ``e``.
        info: free-form metadata from the file's comment line (e.g. ``smiles``).
    """

    name: str
    symbols: tuple[str, ...]
    positions: np.ndarray
    charges: np.ndarray
    info: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positions = np.array(self.positions, dtype=np.float64)
        charges = np.array(self.charges, dtype=np.float64)
        symbols = tuple(str(s) for s in self.symbols)
        n = len(symbols)
        if n == 0:
            raise ValueError("symbols must name at least one atom")
        check_array(positions, "positions", shape=(n, 3), hint="N, 3: one row per symbol")
        check_array(charges, "charges", shape=(n,), hint="N: one per symbol")
        check_array(positions, "positions", finite=True)
        check_array(charges, "charges", finite=True)
        positions.setflags(write=False)
        charges.setflags(write=False)
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "charges", charges)
        object.__setattr__(self, "info", dict(self.info))

    @property
    def n_atoms(self) -> int:
        """Number of atoms ``N``."""
        return len(self.symbols)

    @property
    def formula(self) -> str:
        """Hill formula (C first, then H, then the rest alphabetically), e.g. ``"C2H6O"``."""
        counts: dict[str, int] = {}
        for s in self.symbols:
            counts[s] = counts.get(s, 0) + 1
        first = ["C", "H"] if "C" in counts else []
        order = first + sorted(el for el in counts if el not in first)
        return "".join(f"{el}{counts[el] if counts[el] > 1 else ''}" for el in order if el in counts)

    def centered(self) -> Molecule:
        """The same molecule translated so that the mean of its atom positions is at the origin."""
        return self.with_positions(self.positions - self.positions.mean(axis=0))

    def with_positions(self, positions: np.ndarray) -> Molecule:
        """A copy with new ``[N, 3]`` positions (Å); symbols, charges and info are kept."""
        return Molecule(self.name, self.symbols, positions, self.charges, self.info)

    def rotated(self, rotation: Any) -> Molecule:
        """The molecule with every position mapped ``r -> R r`` (about the origin).

        ``rotation`` is a ``[3, 3]`` orthogonal matrix (numpy array or torch tensor); positions are row vectors,
        so the new positions are ``positions @ R.T``.
        """
        R = _as_rotation(rotation, "rotation")
        return self.with_positions(self.positions @ R.T)

    def distances(self) -> np.ndarray:
        """``[N, N]`` matrix of interatomic distances in Å."""
        diff = self.positions[:, None, :] - self.positions[None, :, :]
        return np.sqrt((diff**2).sum(axis=-1))

    def sorted_distances(self) -> np.ndarray:
        """The ``N (N - 1) / 2`` distinct interatomic distances in Å, ascending: a rotation invariant."""
        i, j = np.triu_indices(self.n_atoms, k=1)
        return np.sort(self.distances()[i, j])

    def dipole(self) -> np.ndarray:
        """Dipole moment ``sum_i q_i (r_i - c)`` in e·Å, ``[3]``; ``c`` is the centroid of the positions.

        Referring positions to the centroid makes the result independent of where the molecule sits, even if the
        charges do not sum exactly to zero. Multiply by :data:`E_ANGSTROM_TO_DEBYE` for Debye. The dipole is a
        vector: rotating the molecule by ``R`` rotates the dipole by ``R`` (a ``1o`` quantity).
        """
        centered = self.positions - self.positions.mean(axis=0)
        return self.charges @ centered


@dataclass(frozen=True)
class RotationCheck:
    """What a rotation does to an invariant and to an equivariant quantity of one molecule.

    Attributes:
        rotation: the ``[3, 3]`` rotation matrix ``R`` that was applied.
        distances_before / distances_after: sorted interatomic distances (Å), each ``[N (N - 1) / 2]``.
        dipole_before / dipole_after: dipole of the molecule and of the rotated molecule (e·Å), each ``[3]``.
        invariant_max_abs_change: ``max |d_after - d_before|`` (Å); zero up to rounding for any rotation.
        dipole_equivariance_error: ``|mu(R x) - R mu(x)|`` (e·Å); zero up to rounding.
        dipole_naive_change: ``|mu(R x) - mu(x)|`` (e·Å): how much the dipole moved (non-zero unless R fixes it).
    """

    rotation: np.ndarray
    distances_before: np.ndarray
    distances_after: np.ndarray
    dipole_before: np.ndarray
    dipole_after: np.ndarray
    invariant_max_abs_change: float
    dipole_equivariance_error: float
    dipole_naive_change: float

    @property
    def dipole_norm(self) -> float:
        """``|mu|`` in e·Å (the same before and after)."""
        return float(np.linalg.norm(self.dipole_before))

    def metrics(self) -> dict[str, float]:
        """Plain-float summary for ``metrics.json``."""
        return {
            "invariant_max_abs_change_angstrom": self.invariant_max_abs_change,
            "dipole_equivariance_error_e_angstrom": self.dipole_equivariance_error,
            "dipole_naive_change_e_angstrom": self.dipole_naive_change,
            "dipole_norm_e_angstrom": self.dipole_norm,
            "dipole_norm_debye": self.dipole_norm * E_ANGSTROM_TO_DEBYE,
            "rotation_orthogonality_error": float(np.abs(self.rotation @ self.rotation.T - np.eye(3)).max()),
            "n_distances": int(self.distances_before.size),
        }


def rotation_check(molecule: Molecule, rotation: Any) -> RotationCheck:
    """Rotate ``molecule`` by ``rotation`` (``[3, 3]``) and compare sorted distances and dipoles before/after."""
    if not isinstance(molecule, Molecule):
        raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
    R = _as_rotation(rotation, "rotation")
    turned = molecule.rotated(R)
    d0, d1 = molecule.sorted_distances(), turned.sorted_distances()
    mu0, mu1 = molecule.dipole(), turned.dipole()
    return RotationCheck(
        rotation=R,
        distances_before=d0,
        distances_after=d1,
        dipole_before=mu0,
        dipole_after=mu1,
        invariant_max_abs_change=float(np.abs(d1 - d0).max(initial=0.0)),
        dipole_equivariance_error=float(np.linalg.norm(mu1 - R @ mu0)),
        dipole_naive_change=float(np.linalg.norm(mu1 - mu0)),
    )


# --------------------------------------------------------------------------------------------------- loading


def available_molecules(root: str | Path | None = None) -> list[str]:
    """Names of the molecules listed in ``<root>/manifest.json`` (default root: :data:`DEFAULT_MOLECULES_DIR`)."""
    return sorted(read_manifest(_molecules_dir(root))["files"])


def load_molecule(name: str, root: str | Path | None = None, *, verify: bool = True) -> Molecule:
    """Load a shipped molecule by name, e.g. ``load_molecule("ethanol")``.

    Args:
        name: a name from :func:`available_molecules` (case-insensitive; ``-`` and spaces read as ``_``).
        root: folder holding ``manifest.json`` and the ``.xyz`` files (default :data:`DEFAULT_MOLECULES_DIR`).
        verify: check the file's sha256 against the manifest (raises ValueError on mismatch).

    Returns:
        The :class:`Molecule` (positions ``[N, 3]`` float64 Å, charges ``[N]`` float64 e).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    folder = _molecules_dir(root)
    manifest = read_manifest(folder)
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    entries = manifest["files"]
    if key not in entries:
        raise ValueError(f"unknown molecule {name!r}; available: {', '.join(sorted(entries))}")
    entry = entries[key]
    path = folder / entry["file"]
    data = read_verified_file(folder, entry, "rebuild with build_molecules()", verify)
    molecule = read_extxyz(data.decode("utf-8"), name=key)
    if molecule.n_atoms != entry["n_atoms"]:
        raise ValueError(f"{path} has {molecule.n_atoms} atoms, the manifest says {entry['n_atoms']}")
    return molecule


def read_extxyz(text: str, name: str = "molecule") -> Molecule:
    """Parse one extended-XYZ frame written by :func:`write_extxyz` (species, pos, gasteiger_charge columns)."""
    lines = text.splitlines()
    if len(lines) < 2:
        raise ValueError("extended XYZ text must have a count line and a comment line")
    try:
        n = int(lines[0].strip())
    except ValueError as err:
        raise ValueError(f"first line must be the atom count, got {lines[0]!r}") from err
    info = _parse_comment(lines[1])
    if info.get("Properties") != _PROPERTIES:
        raise ValueError(f"expected Properties={_PROPERTIES}, got {info.get('Properties')!r}")
    rows = [line.split() for line in lines[2 : 2 + n]]
    if len(rows) != n or any(len(r) != 5 for r in rows):
        raise ValueError(f"expected {n} atom lines of 5 columns (symbol x y z charge)")
    symbols = [r[0] for r in rows]
    numbers = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    meta = {k: v for k, v in info.items() if k not in ("Properties", "pbc")}
    return Molecule(meta.get("name", name), symbols, numbers[:, :3], numbers[:, 3], meta)


def write_extxyz(molecule: Molecule, path: str | Path) -> Path:
    """Write ``molecule`` as one extended-XYZ frame (8 decimals); returns the path."""
    if not isinstance(molecule, Molecule):
        raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
    extra = " ".join(f"{k}={_quote(v)}" for k, v in sorted(molecule.info.items()) if k != "name")
    header = f'Properties={_PROPERTIES} name={_quote(molecule.name)} {extra} pbc="F F F"'.replace("  ", " ")
    lines = [str(molecule.n_atoms), header]
    for s, (x, y, z), q in zip(molecule.symbols, molecule.positions, molecule.charges):
        lines.append(f"{s:<2s} {x:14.8f} {y:14.8f} {z:14.8f} {q:12.8f}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------- building


def build_molecules(
    out_dir: str | Path | None = None, seed: int = 42, names: list[str] | None = None
) -> dict[str, Any]:
    """Generate the shipped molecules with RDKit and write ``<name>.xyz`` files plus ``manifest.json``.

    Each SMILES in :data:`MOLECULE_SMILES` gets explicit hydrogens, one ETKDGv3 conformer (``randomSeed=seed``),
    an MMFF94 relaxation (up to 2000 steps) and Gasteiger charges. The output is deterministic for a given RDKit
    version and seed.

    Args:
        out_dir: target folder (created if needed; default :data:`DEFAULT_MOLECULES_DIR`).
        seed: ETKDG random seed (a non-negative int).
        names: subset of :data:`MOLECULE_SMILES` to build (default: all).

    Returns:
        The manifest that was written (also at ``<out_dir>/manifest.json``).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    names = sorted(MOLECULE_SMILES) if names is None else list(names)
    unknown = [n for n in names if n not in MOLECULE_SMILES]
    if unknown:
        raise ValueError(f"unknown molecule name(s) {unknown}; choose from {sorted(MOLECULE_SMILES)}")
    try:
        # optional heavy dependency: the 'chem' extra
        import rdkit
        from rdkit import Chem
        from rdkit.Chem import AllChem
    except ImportError as err:
        raise ImportError("build_molecules needs RDKit (the 'chem' extra): pip install rdkit") from err
    out = Path(out_dir) if out_dir is not None else DEFAULT_MOLECULES_DIR
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for name in names:
        smiles = MOLECULE_SMILES[name]
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        params = AllChem.ETKDGv3()
        params.randomSeed = seed
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise RuntimeError(f"RDKit could not embed {name} ({smiles}) with seed {seed}")
        if AllChem.MMFFOptimizeMolecule(mol, maxIters=2000) != 0:
            raise RuntimeError(f"MMFF optimisation of {name} did not converge in 2000 steps")
        AllChem.ComputeGasteigerCharges(mol)
        symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
        charges = [atom.GetDoubleProp("_GasteigerCharge") for atom in mol.GetAtoms()]
        positions = mol.GetConformer().GetPositions()
        molecule = Molecule(name, symbols, positions, charges, {"smiles": smiles}).centered()
        path = write_extxyz(molecule, out / f"{name}.xyz")
        files[name] = {
            "file": path.name,
            "sha256": sha256_bytes(path.read_bytes()),
            "n_atoms": molecule.n_atoms,
            "formula": molecule.formula,
            "smiles": smiles,
        }
    manifest = {
        "builder": "workbench.data.molecules.build_molecules",
        "workbench_version": __version__,
        "rdkit_version": rdkit.__version__,
        "seed": seed,
        "method": (
            "RDKit: AddHs, EmbedMolecule(ETKDGv3, randomSeed=seed), MMFFOptimizeMolecule(MMFF94, maxIters=2000), "
            "ComputeGasteigerCharges; positions centred on the atom centroid"
        ),
        "units": {"positions": "angstrom", "gasteiger_charge": "e"},
        "format": "extended XYZ, Properties=" + _PROPERTIES,
        "files": files,
    }
    (out / _MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------------------------------- helpers


def _molecules_dir(root: str | Path | None) -> Path:
    folder = Path(root) if root is not None else DEFAULT_MOLECULES_DIR
    if not (folder / _MANIFEST).is_file():
        raise FileNotFoundError(
            f"no {_MANIFEST} in {folder}; build the molecules with "
            "workbench.data.molecules.build_molecules() (needs rdkit) or pass root=<folder with the files>"
        )
    return folder


def _as_rotation(rotation: Any, arg: str) -> np.ndarray:
    if hasattr(rotation, "detach"):  # torch.Tensor without importing torch here
        rotation = rotation.detach().cpu().numpy()
    R = np.asarray(rotation, dtype=np.float64)
    check_array(R, arg, shape=(3, 3), finite=True)
    if np.abs(R @ R.T - np.eye(3)).max() > 1e-6:
        raise ValueError(f"{arg} must be orthogonal (R R^T = I within 1e-6)")
    return R


def _quote(value: str) -> str:
    value = str(value)
    if value and not any(c in value for c in ' "=\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_comment(line: str) -> dict[str, str]:
    info: dict[str, str] = {}
    for token in shlex.split(line):
        key, sep, value = token.partition("=")
        if not sep:
            raise ValueError(f"extended XYZ comment token {token!r} is not key=value")
        info[key] = value
    return info

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

Your own molecules (:func:`read_molecules`, :meth:`Molecule.from_file`, :meth:`Molecule.from_ase`,
:meth:`Molecule.from_rdkit`, and :func:`load_molecule` with a path):

- ``.xyz`` / ``.extxyz``: plain XYZ (count line, free comment line, ``symbol-or-Z x y z`` rows, as most programs
  write it) and extended XYZ (``Properties=`` on the comment line, any columns), one or many frames; numpy only.
- ``.sdf`` / ``.mol``: through RDKit; ``.pdb`` / ``.cif``: through ASE (both in the ``chem`` extra; a missing one
  raises an ImportError naming the extra).
- Charges come from the file when it has them (extended-XYZ ``charges`` / ``initial_charges`` /
  ``gasteiger_charge`` columns, ASE initial charges); an RDKit ``Mol`` gets Gasteiger charges; otherwise they are
  zero and ``info["charges"] == "none"`` says so (the dipole is then zero too).
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
from workbench.data.extras import require_ase
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
    "MOLECULE_FILE_FORMATS",
    "read_extxyz",
    "read_xyz",
    "read_molecules",
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

#: File suffixes :func:`read_molecules` understands, suffix -> what reads it.
MOLECULE_FILE_FORMATS: dict[str, str] = {
    ".xyz": "plain or extended XYZ (numpy)",
    ".extxyz": "extended XYZ (numpy)",
    ".sdf": "SDF (RDKit, the 'chem' extra)",
    ".mol": "MOL (RDKit, the 'chem' extra)",
    ".pdb": "PDB (ASE, the 'chem' extra)",
    ".cif": "CIF (ASE, the 'chem' extra)",
}

# Element symbols by atomic number (index 0 unused), for XYZ files that give Z instead of a symbol.
_ELEMENTS = ("X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
             "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb "
             "Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf "
             "Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og").split()
_SYMBOLS = {el.lower(): el for el in _ELEMENTS[1:]}
_CHARGE_COLUMNS = ("charges", "initial_charges", "gasteiger_charge", "charge")
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

    @classmethod
    def from_file(cls, path: str | Path, index: int = 0) -> Molecule:
        """Frame ``index`` of a molecule file (see :data:`MOLECULE_FILE_FORMATS`; all frames: :func:`read_molecules`).

        Raises:
            FileNotFoundError: no such file. ValueError: unknown suffix, unreadable contents, ``index`` out of range.
            ImportError: the file needs RDKit or ASE (the ``chem`` extra) and it is missing.
        """
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"index must be an int (a frame number), got {type(index).__name__}")
        frames = read_molecules(path)
        if not -len(frames) <= index < len(frames):
            raise ValueError(f"index must be in [-{len(frames)}, {len(frames) - 1}] for {path} "
                             f"({len(frames)} frame(s)), got {index}")
        return frames[index]

    @classmethod
    def from_ase(cls, atoms: Any, name: str | None = None) -> Molecule:
        """A molecule of an ``ase.Atoms`` (positions Å; the cell is dropped).

        Charges: ``atoms.arrays["gasteiger_charge"]`` if present (the shipped files read by ASE), else the initial
        charges when any is non-zero, else zeros (``info["charges"] = "none"``). ``name`` defaults to
        ``atoms.info["name"]`` or the chemical formula. Needs ase (the ``chem`` extra).
        """
        ase = require_ase()
        if not isinstance(atoms, ase.Atoms):
            raise TypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
        if len(atoms) == 0:
            raise ValueError("atoms must hold at least one atom")
        info = {str(k): str(v) for k, v in atoms.info.items() if isinstance(v, (str, int, float))}
        if "gasteiger_charge" in atoms.arrays:
            charges, source = np.asarray(atoms.arrays["gasteiger_charge"], dtype=np.float64), "gasteiger_charge"
        else:
            charges = np.asarray(atoms.get_initial_charges(), dtype=np.float64)
            source = "initial_charges" if np.any(charges != 0) else "none"
        info["charges"] = source
        label = name if name is not None else info.pop("name", None) or atoms.get_chemical_formula()
        return cls(str(label), atoms.get_chemical_symbols(), atoms.positions, charges, info)

    @classmethod
    def from_rdkit(cls, mol: Any, name: str | None = None, conf_id: int = -1, charges: str = "gasteiger") -> Molecule:
        """A molecule of an RDKit ``Mol`` with a 3D conformer (``conf_id``; -1: the default one).

        Hydrogens are kept as they are in ``mol`` (add them with ``Chem.AddHs`` before embedding). ``charges``:
        ``"gasteiger"`` (computed by RDKit on a copy, as for the shipped molecules) or ``"none"`` (zeros). ``name``
        defaults to the ``_Name`` property or the formula. Needs RDKit (the ``chem`` extra).
        """
        Chem, AllChem = _require_rdkit()
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mol must be an rdkit.Chem.Mol, got {type(mol).__name__}")
        if charges not in ("gasteiger", "none"):
            raise ValueError(f"charges must be 'gasteiger' or 'none', got {charges!r}")
        if mol.GetNumAtoms() == 0:
            raise ValueError("mol must hold at least one atom")
        if mol.GetNumConformers() == 0:
            raise ValueError("mol has no conformer: embed one first (Chem.AddHs, then AllChem.EmbedMolecule)")
        conformer = mol.GetConformer(conf_id)
        if not conformer.Is3D():
            raise ValueError("mol's conformer is 2D (z = 0 from a 2D file): embed a 3D one with AllChem.EmbedMolecule")
        symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
        if charges == "gasteiger":
            copy = Chem.Mol(mol)
            AllChem.ComputeGasteigerCharges(copy)
            q = np.array([atom.GetDoubleProp("_GasteigerCharge") for atom in copy.GetAtoms()], dtype=np.float64)
            q = np.nan_to_num(q, nan=0.0)  # RDKit gives NaN for elements it has no Gasteiger parameters for
        else:
            q = np.zeros(len(symbols))
        info = {"charges": charges, "smiles": Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False))}
        label = name if name is not None else (mol.GetProp("_Name") if mol.HasProp("_Name") else "")
        formula = cls("m", symbols, np.zeros((len(symbols), 3)), np.zeros(len(symbols))).formula
        return cls(label or formula, symbols, conformer.GetPositions(), q, info)


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


def load_molecule(name: str | Path, root: str | Path | None = None, *, verify: bool = True) -> Molecule:
    """Load a shipped molecule by name, e.g. ``load_molecule("ethanol")``, or your own from a file path.

    Args:
        name: a name from :func:`available_molecules` (case-insensitive; ``-`` and spaces read as ``_``), or a
            path (``Path`` or a string naming an existing file or ending in a suffix of
            :data:`MOLECULE_FILE_FORMATS`): its first frame is read with :meth:`Molecule.from_file`.
        root: folder holding ``manifest.json`` and the ``.xyz`` files (default :data:`DEFAULT_MOLECULES_DIR`).
        verify: check the file's sha256 against the manifest (raises ValueError on mismatch).

    Returns:
        The :class:`Molecule` (positions ``[N, 3]`` float64 Å, charges ``[N]`` float64 e).
    """
    if isinstance(name, Path) or (isinstance(name, str) and _looks_like_path(name)):
        return Molecule.from_file(name)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (a shipped name or a file path) or a Path, got {type(name).__name__}")
    folder = _molecules_dir(root)
    manifest = read_manifest(folder)
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    entries = manifest["files"]
    if key not in entries:
        raise ValueError(f"unknown molecule {name!r}; available: {', '.join(sorted(entries))}; or give a path to "
                         f"your own file ({', '.join(MOLECULE_FILE_FORMATS)}), e.g. load_molecule('my.xyz')")
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


def read_xyz(text: str, name: str = "molecule") -> list[Molecule]:
    """Parse every frame of a plain or extended XYZ text; returns one :class:`Molecule` per frame.

    Plain XYZ: a count line, a free comment line, then ``symbol x y z`` rows (a symbol in any case, or an atomic
    number; extra columns are ignored). Extended XYZ: the comment line holds ``key=value`` pairs with
    ``Properties=name:type:ncols:...``; ``species`` (or ``Z``) and ``pos`` are required, a charge column
    (``charges``, ``initial_charges``, ``gasteiger_charge``) is used when present, other columns are skipped.
    Frames are named ``name`` (``name[i]`` when there are several) unless the comment has ``name=``. Positions
    in Å; ``info["frame"]`` is the frame number.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (the contents of an XYZ file), got {type(text).__name__}")
    lines = text.splitlines()
    frames: list[Molecule] = []
    at = 0
    while at < len(lines):
        if not lines[at].strip():  # blank lines between or after frames
            at += 1
            continue
        frame = len(frames)
        try:
            n = int(lines[at].strip())
        except ValueError as err:
            raise ValueError(f"XYZ frame {frame}, line {at + 1}: expected the atom count, got {lines[at]!r}") from err
        if n < 1:
            raise ValueError(f"XYZ frame {frame}, line {at + 1}: the atom count must be positive, got {n}")
        if at + 2 + n > len(lines):
            raise ValueError(f"XYZ frame {frame}: the count line says {n} atoms but the text ends after "
                             f"{max(len(lines) - at - 2, 0)} atom line(s)")
        comment, rows = lines[at + 1], [line.split() for line in lines[at + 2 : at + 2 + n]]
        label = f"{name}[{frame}]"
        molecule = _xyz_frame(comment, rows, label, at + 3)
        frames.append(molecule)
        at += 2 + n
    if not frames:
        raise ValueError("XYZ text is empty: expected a count line, a comment line and one line per atom")
    if len(frames) == 1 and "name" not in frames[0].info:
        frames[0] = Molecule(name, frames[0].symbols, frames[0].positions, frames[0].charges, frames[0].info)
    return frames


def read_molecules(path: str | Path) -> list[Molecule]:
    """Every frame (or every record of an SDF) of a molecule file, as a list of :class:`Molecule`.

    The format follows the suffix (:data:`MOLECULE_FILE_FORMATS`): XYZ / extended XYZ with numpy, SDF / MOL with
    RDKit (all records; hydrogens kept; Gasteiger charges), PDB / CIF with ASE (all frames; charges from the file
    or zero). Molecules are named after the file stem. Trajectories are multi-frame XYZ files.

    Raises:
        FileNotFoundError: no such file. ValueError: unknown suffix or contents that cannot be read (the
            message names the file). ImportError: RDKit or ASE (the ``chem`` extra) is needed and missing.
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or Path naming a molecule file, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MOLECULE_FILE_FORMATS:
        raise ValueError(f"path {path} has an unknown suffix {suffix!r}; expected one of "
                         f"{', '.join(MOLECULE_FILE_FORMATS)}")
    if not path.is_file():
        raise FileNotFoundError(f"no molecule file at {path}")
    try:
        if suffix in (".xyz", ".extxyz"):
            frames = read_xyz(path.read_text(encoding="utf-8", errors="replace"), name=path.stem)
        elif suffix in (".sdf", ".mol"):
            frames = _read_with_rdkit(path)
        else:
            frames = _read_with_ase(path)
    except ImportError:
        raise
    except Exception as err:  # the readers' own errors, re-raised with the file named
        raise ValueError(f"could not read {path} as {MOLECULE_FILE_FORMATS[suffix]}: {err}") from err
    for i, molecule in enumerate(frames):
        molecule.info.setdefault("source", str(path))
        molecule.info.setdefault("frame", str(i))
    return frames


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



def _require_rdkit() -> tuple[Any, Any]:
    try:
        from rdkit import Chem  # optional heavy dependency (the 'chem' extra): only for RDKit molecules, SDF/MOL
        from rdkit.Chem import AllChem
    except ImportError as err:
        raise ImportError("reading RDKit molecules, SDF or MOL files needs rdkit (the 'chem' extra): pip install "
                          "'workbench[chem]' or pip install rdkit") from err
    return Chem, AllChem


def _read_with_rdkit(path: Path) -> list[Molecule]:
    Chem, _ = _require_rdkit()
    if path.suffix.lower() == ".mol":
        records = [Chem.MolFromMolFile(str(path), removeHs=False)]
    else:
        records = list(Chem.SDMolSupplier(str(path), removeHs=False))
    if not records or any(m is None for m in records):
        bad = [i for i, m in enumerate(records) if m is None]
        raise ValueError(f"RDKit could not parse record(s) {bad or [0]} (see RDKit's message above)")
    named = len(records) > 1
    return [Molecule.from_rdkit(m, name=f"{path.stem}[{i}]" if named else path.stem) for i, m in enumerate(records)]


def _read_with_ase(path: Path) -> list[Molecule]:
    ase = require_ase()
    images = ase.io.read(str(path), index=":")
    if not images:
        raise ValueError("ASE found no structure in the file")
    named = len(images) > 1
    return [Molecule.from_ase(a, name=f"{path.stem}[{i}]" if named else path.stem) for i, a in enumerate(images)]


def _looks_like_path(name: str) -> bool:
    return Path(name).suffix.lower() in MOLECULE_FILE_FORMATS or "/" in name or "\\" in name


def _symbol(token: str, where: str) -> str:
    if token.isdigit():
        z = int(token)
        if not 1 <= z < len(_ELEMENTS):
            raise ValueError(f"{where}: atomic number {z} is out of range 1..{len(_ELEMENTS) - 1}")
        return _ELEMENTS[z]
    symbol = _SYMBOLS.get(token.lower())
    if symbol is None:
        raise ValueError(f"{where}: {token!r} is not an element symbol or atomic number")
    return symbol


def _xyz_frame(comment: str, rows: list[list[str]], label: str, first_line: int) -> Molecule:
    """One frame: plain XYZ rows ``symbol x y z ...`` or extended XYZ columns described by ``Properties=``."""
    info = _parse_comment_loose(comment) if "Properties=" in comment else {}
    species_col, pos_col, charge_col, width = 0, 1, None, 4
    if info:
        spec = info.pop("Properties").split(":")
        if len(spec) % 3:
            raise ValueError(f"line {first_line - 1}: Properties must be name:type:ncols triples, got {spec}")
        columns, col = {}, 0
        for key, kind, count in zip(spec[0::3], spec[1::3], spec[2::3]):
            columns[key] = (col, kind, int(count))
            col += int(count)
        width = col
        species = columns.get("species") or columns.get("Z")
        if species is None or "pos" not in columns or columns["pos"][2] != 3:
            raise ValueError(f"line {first_line - 1}: extended XYZ needs a species (or Z) column and pos:R:3, "
                             f"got Properties with {list(columns)}")
        species_col, pos_col = species[0], columns["pos"][0]
        charge_col = next((columns[c][0] for c in _CHARGE_COLUMNS if c in columns and columns[c][2] == 1), None)
        if charge_col is not None:
            info["charges"] = next(c for c in _CHARGE_COLUMNS if c in columns)
        info.pop("pbc", None)
    symbols, positions, charges = [], [], []
    for i, row in enumerate(rows):
        where = f"line {first_line + i}"
        if len(row) < width:
            raise ValueError(f"{where}: expected {width} columns ({'per Properties' if info else 'symbol x y z'}), "
                             f"got {len(row)}: {' '.join(row)!r}")
        symbols.append(_symbol(row[species_col], where))
        try:
            positions.append([float(v) for v in row[pos_col : pos_col + 3]])
            charges.append(float(row[charge_col]) if charge_col is not None else 0.0)
        except ValueError as err:
            raise ValueError(f"{where}: coordinates must be numbers, got {' '.join(row)!r}") from err
    info.setdefault("charges", "none")
    if "Properties=" not in comment and comment.strip():
        info["comment"] = comment.strip()
    positions_array = np.array(positions, dtype=np.float64)
    if not np.all(np.isfinite(positions_array)):
        raise ValueError(f"frame {label}: positions must be finite (found NaN or inf)")
    return Molecule(info.get("name", label), symbols, positions_array, np.array(charges), info)


def _parse_comment_loose(line: str) -> dict[str, str]:
    """``key=value`` pairs of an extended-XYZ comment line; a bare word is a flag (``"T"``)."""
    info: dict[str, str] = {}
    for token in shlex.split(line):
        key, sep, value = token.partition("=")
        info[key] = value if sep else "T"
    return info


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

"""QM9 for the workbench: the label table, RDKit conformers, a verified on-disk format, splits and target scaling.

Where the data come from
    The labels are the QM9 DFT (B3LYP/6-31G(2df,p)) properties of Ramakrishnan et al., Sci. Data 1, 140022 (2014),
    read from a CSV (:func:`load_qm9_table`; default ``<checkout>/../shared/data/qm9_small.csv``, a random subset
    of 14,862 rows = 14,715 distinct molecules, or any CSV with the same columns). Nothing is ever downloaded:
    users who are online can fetch the full QM9 release from :data:`QM9_PUBLIC_URL` themselves.

Geometries are MMFF94, not DFT
    The CSV has SMILES but no coordinates. :func:`build_conformers` embeds each SMILES with RDKit ETKDGv3 (fixed
    seed) and relaxes it with MMFF94. The QM9 labels belong to the DFT-relaxed geometries, so a model trained on
    these conformers sees slightly different structures than the ones the labels were computed for; any MAE
    reported on them must say so.

On-disk format (``data/qm9/`` ships about 1,000 molecules)
    ``qm9_conformers.npz`` (written byte-for-byte reproducibly, no pickles) holds, for ``M`` molecules and
    ``A`` atoms in total:

    ========== ============ ============================================================
    ``z``        [A] int8     atomic numbers (H, C, N, O, F)
    ``pos``      [A, 3] f64   positions in Ångström (each molecule centred on its centroid)
    ``ptr``      [M+1] int64  molecule ``i`` owns atoms ``ptr[i]:ptr[i+1]``
    ``targets``  [M, T] f64   labels in the units of :data:`QM9_TARGETS`
    ``target_names`` [T] str  column names of ``targets``
    ``mol_id``   [M] str      QM9 identifiers (``gdb_<n>``)
    ``smiles``   [M] str      the SMILES each conformer was built from
    ========== ============ ============================================================

    ``manifest.json`` beside it records the builder, workbench/RDKit/numpy versions, seed, method, the counts
    (requested / embedded / skipped, with the skipped ids and reasons) and the sha256 of every file;
    :class:`QM9Dataset` refuses a file whose sha256 does not match.

Atom reference energies (the usual QM9 practice)
    Total energies (``u0``, ``u298``, ``h298``, ``g298``; Hartree) are dominated by a per-element constant. A
    model learns the remainder much more easily, so :func:`fit_atom_references` fits ``E ≈ Σ_e n_e(mol) b_e`` by
    linear least squares on the *training split only* (``n_e`` = number of atoms of element ``e``; no intercept)
    and :meth:`AtomReferences.subtract` removes it. Report errors in meV with :data:`HARTREE_TO_MEV`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from workbench.data.manifest import (
    MANIFEST_NAME,
    read_verified_npz,
    sha256_file,
    write_npz_reproducible,
)

__all__ = [
    "QM9_TARGETS",
    "QM9_ENERGY_TARGETS",
    "QM9_PUBLIC_URL",
    "DEFAULT_QM9_CSV",
    "DEFAULT_QM9_DIR",
    "HARTREE_TO_EV",
    "HARTREE_TO_MEV",
    "HARTREE_TO_KCAL_PER_MOL",
    "ELEMENT_SYMBOLS",
    "ConformerSet",
    "QM9Item",
    "QM9Dataset",
    "QM9Batch",
    "collate_qm9",
    "TargetNormalizer",
    "AtomReferences",
    "load_qm9_table",
    "build_conformers",
    "build_qm9_subset",
    "cached_qm9_conformers",
    "save_conformers",
    "load_conformers",
    "fixed_split",
    "fit_atom_references",
    "hartree_to_mev",
    "to_pyg",
    "to_ase",
    "validate_target_names",
]

#: QM9 label columns of ``qm9_small.csv``: name -> (unit, description). Units are those of the original release.
QM9_TARGETS: dict[str, tuple[str, str]] = {
    "A": ("GHz", "rotational constant A"),
    "B": ("GHz", "rotational constant B"),
    "C": ("GHz", "rotational constant C"),
    "mu": ("D", "dipole moment magnitude (Debye)"),
    "alpha": ("bohr^3", "isotropic polarizability"),
    "homo": ("Ha", "energy of the highest occupied molecular orbital"),
    "lumo": ("Ha", "energy of the lowest unoccupied molecular orbital"),
    "gap": ("Ha", "HOMO-LUMO gap (lumo - homo)"),
    "r2": ("bohr^2", "electronic spatial extent <R^2>"),
    "zpve": ("Ha", "zero-point vibrational energy"),
    "u0": ("Ha", "internal energy at 0 K"),
    "u298": ("Ha", "internal energy at 298.15 K"),
    "h298": ("Ha", "enthalpy at 298.15 K"),
    "g298": ("Ha", "free energy at 298.15 K"),
    "cv": ("cal/(mol K)", "heat capacity at 298.15 K"),
    "u0_atom": ("kcal/mol", "atomization energy at 0 K (u0 minus free-atom B3LYP energies)"),
    "u298_atom": ("kcal/mol", "atomization internal energy at 298.15 K"),
    "h298_atom": ("kcal/mol", "atomization enthalpy at 298.15 K"),
    "g298_atom": ("kcal/mol", "atomization free energy at 298.15 K"),
}

#: Total-energy targets (Hartree) for which atom reference energies are fitted.
QM9_ENERGY_TARGETS: tuple[str, ...] = ("u0", "u298", "h298", "g298")

#: Where users who are online can get the full QM9 release (never fetched by the workbench).
QM9_PUBLIC_URL: str = "https://doi.org/10.6084/m9.figshare.c.978904.v5"

#: The shared CSV next to this checkout: ``<checkout>/../shared/data/qm9_small.csv``.
DEFAULT_QM9_CSV: Path = Path(__file__).resolve().parents[3] / "shared" / "data" / "qm9_small.csv"

#: The subset shipped with the workbench: ``<checkout>/data/qm9``.
DEFAULT_QM9_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "qm9"

#: 1 Hartree in eV (CODATA 2018).
HARTREE_TO_EV: float = 27.211386245988
#: 1 Hartree in meV (CODATA 2018).
HARTREE_TO_MEV: float = HARTREE_TO_EV * 1000.0
#: 1 Hartree in kcal/mol (CODATA 2018 Hartree energy times the Avogadro constant, 1 kcal = 4184 J).
HARTREE_TO_KCAL_PER_MOL: float = 627.5094740631

#: Atomic number -> symbol for the elements of QM9.
ELEMENT_SYMBOLS: dict[int, str] = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}

_NPZ = "qm9_conformers.npz"
_MANIFEST = MANIFEST_NAME
_ID_COLUMNS = ("mol_id", "smiles")


def hartree_to_mev(value: Any) -> Any:
    """Convert an energy (float, numpy array or torch tensor) from Hartree to meV."""
    return value * HARTREE_TO_MEV


def validate_target_names(names: str | Sequence[str], available: Sequence[str] | None = None) -> list[str]:
    """Check target names and return them as a list.

    Args:
        names: one name or a sequence of names, e.g. ``"u0"`` or ``["gap", "u0"]``.
        available: the valid names (default: the keys of :data:`QM9_TARGETS`).

    Raises:
        ValueError: for an empty selection, a duplicate or an unknown name (the message lists the valid ones).
    """
    valid = list(QM9_TARGETS) if available is None else list(available)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"targets must be a str or a sequence of str, got {names!r}")
    names = list(names)
    if not names:
        raise ValueError(f"targets must name at least one target; valid targets: {', '.join(valid)}")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown QM9 target(s) {unknown}; valid targets: {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise ValueError(f"targets must not repeat a name, got {names}")
    return names


# --------------------------------------------------------------------------------------------------- the table


def load_qm9_table(path: str | Path | None = None, *, drop_duplicates: bool = True) -> Any:
    """Read the QM9 label table (``mol_id``, ``smiles`` and the columns of :data:`QM9_TARGETS`).

    Args:
        path: a CSV with those columns (an unnamed leading index column is allowed and dropped); default
            :data:`DEFAULT_QM9_CSV`.
        drop_duplicates: drop repeated ``mol_id`` rows, keeping the first. The shared subset lists 147 molecules
            twice; keeping both copies would let one molecule sit in the training and the test split at once.

    Returns:
        A ``pandas.DataFrame`` with a fresh ``0..M-1`` index, ``mol_id`` and ``smiles`` (str) and float64
        targets. ``df.attrs`` holds ``source`` (the path) and ``n_duplicates_dropped``.

    Raises:
        FileNotFoundError: the file is missing; the message names the expected path, the shipped subset and the
            public QM9 URL.
        ValueError: columns are missing, a target is not numeric or not finite, or the table is empty.
    """
    import pandas as pd

    csv = Path(path) if path is not None else DEFAULT_QM9_CSV
    if not csv.is_file():
        raise FileNotFoundError(
            f"QM9 table not found at {csv} (expected a CSV with columns mol_id, smiles, {', '.join(QM9_TARGETS)}). "
            f"Pass path=<your qm9 csv>, or use the subset shipped with the workbench in {DEFAULT_QM9_DIR} "
            f"(QM9Dataset() loads it without RDKit). Users who are online can download QM9 from "
            f"{QM9_PUBLIC_URL}; the workbench never downloads it by itself."
        )
    table = pd.read_csv(csv)
    unnamed = [c for c in table.columns if str(c).startswith("Unnamed")]
    table = table.drop(columns=unnamed)
    missing = [c for c in (*_ID_COLUMNS, *QM9_TARGETS) if c not in table.columns]
    if missing:
        raise ValueError(f"{csv} lacks column(s) {missing}; expected mol_id, smiles, {', '.join(QM9_TARGETS)}")
    table = table[[*_ID_COLUMNS, *QM9_TARGETS]].copy()
    if len(table) == 0:
        raise ValueError(f"{csv} has no rows")
    for name in QM9_TARGETS:
        if not pd.api.types.is_numeric_dtype(table[name]):
            raise ValueError(f"column {name!r} of {csv} must be numeric")
        if not np.all(np.isfinite(table[name].to_numpy(dtype=np.float64))):
            raise ValueError(f"column {name!r} of {csv} has NaN or infinite values")
    table["mol_id"] = table["mol_id"].astype(str)
    table["smiles"] = table["smiles"].astype(str)
    n_before = len(table)
    if drop_duplicates:
        table = table.drop_duplicates(subset="mol_id", keep="first")
    table = table.reset_index(drop=True)
    table.attrs["source"] = str(csv)
    table.attrs["n_duplicates_dropped"] = n_before - len(table)
    return table


# --------------------------------------------------------------------------------------------------- conformers


@dataclass(frozen=True)
class ConformerSet:
    """``M`` molecules with 3D coordinates and labels, stored flat (see the module docstring for the layout).

    Attributes:
        z: ``[A]`` int atomic numbers.
        pos: ``[A, 3]`` float64 positions in Å.
        ptr: ``[M + 1]`` int64 offsets; molecule ``i`` is ``z[ptr[i]:ptr[i+1]]``.
        targets: ``[M, T]`` float64 labels (units of :data:`QM9_TARGETS`).
        target_names: the ``T`` column names of ``targets``.
        mol_id: ``[M]`` identifiers.
        smiles: ``[M]`` SMILES strings.
        info: provenance (builder counts, seed, skipped molecules, ...).
    """

    z: np.ndarray
    pos: np.ndarray
    ptr: np.ndarray
    targets: np.ndarray
    target_names: tuple[str, ...]
    mol_id: tuple[str, ...]
    smiles: tuple[str, ...]
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        z = np.asarray(self.z, dtype=np.int64)
        pos = np.asarray(self.pos, dtype=np.float64)
        ptr = np.asarray(self.ptr, dtype=np.int64)
        targets = np.asarray(self.targets, dtype=np.float64)
        names = tuple(str(n) for n in self.target_names)
        mol_id = tuple(str(m) for m in self.mol_id)
        smiles = tuple(str(s) for s in self.smiles)
        m = len(mol_id)
        if z.ndim != 1:
            raise ValueError(f"z must have shape [A], got {list(z.shape)}")
        if pos.shape != (z.shape[0], 3):
            raise ValueError(f"pos must have shape [A, 3] = [{z.shape[0]}, 3], got {list(pos.shape)}")
        if not np.all(np.isfinite(pos)):
            bad = np.flatnonzero(~np.isfinite(pos).all(axis=1))
            raise ValueError(f"pos must be finite: found NaN or inf coordinates at atom index(es) {bad[:10].tolist()}")
        if ptr.shape != (m + 1,) or ptr[0] != 0 or ptr[-1] != z.shape[0] or np.any(np.diff(ptr) <= 0):
            raise ValueError(
                f"ptr must be [M + 1] = [{m + 1}] offsets rising strictly from 0 to A = {z.shape[0]} "
                "(every molecule has at least one atom)"
            )
        if len(smiles) != m:
            raise ValueError(f"smiles must have M = {m} entries, got {len(smiles)}")
        if targets.shape != (m, len(names)):
            raise ValueError(f"targets must have shape [M, T] = [{m}, {len(names)}], got {list(targets.shape)}")
        unknown_z = sorted(set(np.unique(z).tolist()) - set(ELEMENT_SYMBOLS))
        if unknown_z:
            raise ValueError(f"z holds atomic numbers {unknown_z} outside QM9's {sorted(ELEMENT_SYMBOLS)}")
        for arr in (z, pos, ptr, targets):
            arr.setflags(write=False)
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "pos", pos)
        object.__setattr__(self, "ptr", ptr)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "target_names", names)
        object.__setattr__(self, "mol_id", mol_id)
        object.__setattr__(self, "smiles", smiles)
        object.__setattr__(self, "info", dict(self.info))

    def __len__(self) -> int:
        return len(self.mol_id)

    @property
    def n_atoms(self) -> np.ndarray:
        """``[M]`` number of atoms per molecule."""
        return np.diff(self.ptr)

    def molecule(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(z [N], pos [N, 3])`` of molecule ``index``."""
        lo, hi = self.ptr[index], self.ptr[index + 1]
        return self.z[lo:hi], self.pos[lo:hi]

    def element_counts(self, elements: Sequence[int] = tuple(ELEMENT_SYMBOLS)) -> np.ndarray:
        """``[M, len(elements)]`` number of atoms of each element in each molecule."""
        mol_of_atom = np.repeat(np.arange(len(self)), self.n_atoms)
        counts = np.zeros((len(self), len(elements)), dtype=np.float64)
        for j, e in enumerate(elements):
            np.add.at(counts[:, j], mol_of_atom[self.z == e], 1.0)
        return counts

    def target_column(self, name: str) -> np.ndarray:
        """``[M]`` values of one target (raises ValueError listing the valid names)."""
        (name,) = validate_target_names(name, self.target_names)
        return self.targets[:, self.target_names.index(name)]


def build_conformers(table: Any, seed: int = 0, n_max: int | None = None, *, progress: bool = True) -> ConformerSet:
    """Embed and relax one conformer per table row with RDKit (needs the ``chem`` extra).

    For each row: ``AddHs(MolFromSmiles(smiles))``, ``EmbedMolecule`` with ETKDGv3 (``randomSeed=seed``; if that
    fails, once more with ``useRandomCoords=True``, which embeds most strained cages), then
    ``MMFFOptimizeMolecule`` (MMFF94, up to 2000 steps); positions are centred on their centroid. A molecule that
    RDKit cannot parse, embed, parametrise with MMFF or relax to convergence is skipped and counted, never fatal.
    The result depends only on the rows, the seed and the RDKit version.

    Args:
        table: a DataFrame from :func:`load_qm9_table` (rows are processed in order).
        seed: ETKDG random seed (non-negative int).
        n_max: process only the first ``n_max`` rows (default: all).
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        A :class:`ConformerSet` with all :data:`QM9_TARGETS`; ``info`` holds ``requested``, ``embedded``,
        ``skipped`` and ``skipped_molecules`` (``{mol_id: reason}``).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if n_max is not None and (isinstance(n_max, bool) or not isinstance(n_max, int) or n_max < 1):
        raise ValueError(f"n_max must be a positive int or None, got {n_max!r}")
    missing = [c for c in (*_ID_COLUMNS, *QM9_TARGETS) if c not in getattr(table, "columns", ())]
    if missing:
        raise ValueError(f"table must be a DataFrame from load_qm9_table(); it lacks column(s) {missing}")
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import AllChem
    except ImportError as err:
        raise ImportError(
            "build_conformers needs RDKit (the 'chem' extra): pip install rdkit; "
            f"the prebuilt subset in {DEFAULT_QM9_DIR} loads without it"
        ) from err
    from tqdm.auto import tqdm

    rows = table if n_max is None else table.iloc[:n_max]
    if len(rows) == 0:
        raise ValueError("table has no rows to build")
    zs: list[np.ndarray] = []
    poss: list[np.ndarray] = []
    kept: list[int] = []
    skipped: dict[str, str] = {}
    RDLogger.DisableLog("rdApp.*")
    try:
        for i, (mol_id, smiles) in enumerate(
            tqdm(zip(rows["mol_id"], rows["smiles"]), total=len(rows), desc="RDKit conformers", disable=not progress)
        ):
            mol = Chem.MolFromSmiles(smiles)
            if mol is None:
                skipped[mol_id] = "SMILES not parsed"
                continue
            mol = Chem.AddHs(mol)
            params = AllChem.ETKDGv3()
            params.randomSeed = seed
            if AllChem.EmbedMolecule(mol, params) != 0:
                # strained cages often fail from eigenvector-based starting points; retry from random coordinates
                params.useRandomCoords = True
                if AllChem.EmbedMolecule(mol, params) != 0:
                    skipped[mol_id] = "ETKDG embedding failed (also from random coordinates)"
                    continue
            if not AllChem.MMFFHasAllMoleculeParams(mol):
                skipped[mol_id] = "no MMFF94 parameters"
                continue
            if AllChem.MMFFOptimizeMolecule(mol, maxIters=2000) != 0:
                skipped[mol_id] = "MMFF94 did not converge in 2000 steps"
                continue
            pos = mol.GetConformer().GetPositions()
            if not np.all(np.isfinite(pos)):
                skipped[mol_id] = "non-finite coordinates"
                continue
            zs.append(np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64))
            poss.append(pos - pos.mean(axis=0))
            kept.append(i)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if not kept:
        raise ValueError(f"RDKit could not build any of the {len(rows)} molecules: {skipped}")
    sel = rows.iloc[kept]
    return ConformerSet(
        z=np.concatenate(zs),
        pos=np.concatenate(poss),
        ptr=np.concatenate([[0], np.cumsum([len(z) for z in zs])]),
        targets=sel[list(QM9_TARGETS)].to_numpy(dtype=np.float64),
        target_names=tuple(QM9_TARGETS),
        mol_id=tuple(sel["mol_id"]),
        smiles=tuple(sel["smiles"]),
        info={
            "requested": len(rows),
            "embedded": len(kept),
            "skipped": len(skipped),
            "skipped_molecules": skipped,
            "seed": seed,
        },
    )


def save_conformers(conformers: ConformerSet, out_dir: str | Path, manifest_extra: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Write ``qm9_conformers.npz`` and ``manifest.json`` into ``out_dir``; returns the manifest.

    The npz is written with fixed zip timestamps, so equal data give byte-identical files (and equal sha256).
    """
    if not isinstance(conformers, ConformerSet):
        raise TypeError(f"conformers must be a ConformerSet, got {type(conformers).__name__}")
    from workbench import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "z": conformers.z.astype(np.int8),
        "pos": conformers.pos,
        "ptr": conformers.ptr,
        "targets": conformers.targets,
        "target_names": np.array(conformers.target_names, dtype=np.str_),
        "mol_id": np.array(conformers.mol_id, dtype=np.str_),
        "smiles": np.array(conformers.smiles, dtype=np.str_),
    }
    path = out / _NPZ
    write_npz_reproducible(path, arrays)
    info = dict(conformers.info)
    manifest: dict[str, Any] = {
        "builder": "workbench.data.qm9.build_qm9_subset",
        "workbench_version": __version__,
        "numpy_version": np.__version__,
        "counts": {
            "requested": int(info.get("requested", len(conformers))),
            "embedded": int(info.get("embedded", len(conformers))),
            "skipped": int(info.get("skipped", 0)),
            "atoms": int(conformers.z.shape[0]),
        },
        "skipped_molecules": dict(info.get("skipped_molecules", {})),
        "seed": info.get("seed"),
        "geometry_note": (
            "Geometries are RDKit ETKDGv3 + MMFF94 force-field conformers built from SMILES, NOT the DFT "
            "(B3LYP/6-31G(2df,p)) relaxed geometries the QM9 labels belong to."
        ),
        "units": {"pos": "angstrom", **{k: u for k, (u, _) in QM9_TARGETS.items() if k in conformers.target_names}},
        "format": "numpy npz (no pickles): z [A] int8, pos [A,3] f64, ptr [M+1] i64, targets [M,T] f64, "
        "target_names [T], mol_id [M], smiles [M]",
        "files": {
            _NPZ: {
                "file": _NPZ,
                "sha256": sha256_file(path),
                "n_molecules": len(conformers),
                "bytes": path.stat().st_size,
            }
        },
    }
    manifest.update(dict(manifest_extra or {}))
    (out / _MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def load_conformers(root: str | Path | None = None, *, verify: bool = True) -> ConformerSet:
    """Load a folder written by :func:`save_conformers` (default :data:`DEFAULT_QM9_DIR`).

    Raises:
        FileNotFoundError: no manifest or no data file in ``root``.
        ValueError: the file's sha256 differs from the manifest (with ``verify``), or its arrays are inconsistent
            (e.g. NaN coordinates).
    """
    folder = Path(root) if root is not None else DEFAULT_QM9_DIR
    manifest, arrays, entry = read_verified_npz(
        folder, _NPZ, "build the subset with workbench.data.qm9.build_qm9_subset(out_dir) (needs rdkit and the QM9 "
        f"CSV, default {DEFAULT_QM9_CSV}) or pass the folder that holds it", "rebuild with build_qm9_subset()", verify)
    conformers = ConformerSet(
        z=arrays["z"],
        pos=arrays["pos"],
        ptr=arrays["ptr"],
        targets=arrays["targets"],
        target_names=tuple(arrays["target_names"].tolist()),
        mol_id=tuple(arrays["mol_id"].tolist()),
        smiles=tuple(arrays["smiles"].tolist()),
        info={"manifest": manifest, "root": str(folder)},
    )
    if len(conformers) != entry.get("n_molecules", len(conformers)):
        raise ValueError(f"{folder / entry['file']} holds {len(conformers)} molecules, "
                         f"the manifest says {entry['n_molecules']}")
    return conformers


def build_qm9_subset(
    out_dir: str | Path | None = None, seed: int = 0, n: int | None = 1000, csv_path: str | Path | None = None
) -> dict[str, Any]:
    """Build the shipped QM9 subset: ``n`` rows of the table drawn with ``seed``, conformers, npz + manifest.

    Rows are drawn without replacement by ``numpy.random.default_rng(seed).permutation`` of the de-duplicated
    table, then kept in that order; molecules RDKit cannot build are skipped (so ``embedded <= n``).
    This is the ``workbench build-data qm9`` hook.

    Args:
        out_dir: target folder (default :data:`DEFAULT_QM9_DIR`).
        seed: seed of the row draw and of ETKDG.
        n: number of molecules requested (``1 <= n <= rows``; ``None``: every row of the table).
        csv_path: the QM9 CSV (default :data:`DEFAULT_QM9_CSV`).

    Returns:
        The manifest written to ``<out_dir>/manifest.json``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    table = load_qm9_table(csv_path)
    n = len(table) if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(table):
        raise ValueError(f"n must be an int in [1, {len(table)}], got {n!r}")
    import rdkit  # noqa: F401  (fail early with a clear ImportError below if missing)

    order = np.random.default_rng(seed).permutation(len(table))[:n]
    conformers = build_conformers(table.iloc[order].reset_index(drop=True), seed=seed)
    extra = {
        "rdkit_version": rdkit.__version__,
        "method": (
            f"rows: numpy.random.default_rng({seed}).permutation of the mol_id-deduplicated table, first {n}; "
            f"RDKit AddHs, EmbedMolecule(ETKDGv3, randomSeed={seed}; on failure again with useRandomCoords=True), "
            "MMFFOptimizeMolecule(MMFF94, "
            "maxIters=2000); failures skipped and counted; positions centred on the atom centroid"
        ),
        "source": {
            "table": Path(table.attrs["source"]).name,
            "table_sha256": sha256_file(Path(table.attrs["source"])),
            "table_rows": len(table),
            "duplicates_dropped": int(table.attrs["n_duplicates_dropped"]),
            "labels": "QM9 (Ramakrishnan et al., Sci. Data 1, 140022, 2014; CC0), B3LYP/6-31G(2df,p)",
        },
    }
    return save_conformers(conformers, out_dir if out_dir is not None else DEFAULT_QM9_DIR, extra)


def cached_qm9_conformers(
    cache_dir: str | Path, seed: int = 0, n: int | None = None, csv_path: str | Path | None = None
) -> Path:
    """Build QM9 conformers into ``cache_dir`` once and reuse them afterwards; returns ``cache_dir``.

    The folder is reused when its manifest verifies and records the same ``seed``, the same number of requested
    molecules and the same CSV (by sha256); otherwise it is rebuilt with :func:`build_qm9_subset` (needs RDKit;
    about 16 s per 1,000 molecules on one CPU core, measured with RDKit 2026.09).
    Pass the result to :class:`QM9Dataset`.
    """
    folder = Path(cache_dir)
    table_path = Path(csv_path) if csv_path is not None else DEFAULT_QM9_CSV
    if (folder / _MANIFEST).is_file() and table_path.is_file():
        try:
            manifest = load_conformers(folder, verify=True).info["manifest"]
        except (ValueError, FileNotFoundError, KeyError):
            manifest = None
        if manifest is not None:
            want_n = manifest.get("source", {}).get("table_rows") if n is None else n
            if (
                manifest.get("seed") == seed
                and manifest.get("counts", {}).get("requested") == want_n
                and manifest.get("source", {}).get("table_sha256") == sha256_file(table_path)
            ):
                return folder
    build_qm9_subset(folder, seed=seed, n=n, csv_path=table_path)
    return folder


# --------------------------------------------------------------------------------------------------- torch dataset


@dataclass(frozen=True)
class QM9Item:
    """One molecule as tensors.

    Attributes:
        z: ``[N]`` int64 atomic numbers.
        pos: ``[N, 3]`` positions in Å (the dataset's dtype).
        targets: ``[T]`` labels in the order of :attr:`QM9Dataset.target_names` (the dataset's dtype).
        index: row of the molecule in the dataset file.
        mol_id: QM9 identifier.
        smiles: SMILES string.
    """

    z: Any
    pos: Any
    targets: Any
    index: int
    mol_id: str
    smiles: str


class QM9Dataset(Dataset):
    """A ``torch.utils.data.Dataset`` over to a QM9 conformer folder (sha256-verified on load).

    Args:
        root: folder with ``manifest.json`` and ``qm9_conformers.npz`` (default: the shipped :data:`DEFAULT_QM9_DIR`).
        targets: which labels each item carries (default all of :data:`QM9_TARGETS`); unknown names raise a
            ValueError listing the valid ones.
        indices: optional subset (e.g. a split from :func:`fixed_split`); must be non-empty and in range.
        dtype: torch floating dtype of ``pos`` and ``targets`` (default ``torch.float32``).
        verify: check the sha256 of the file against the manifest.

    ``dataset[i]`` is a :class:`QM9Item`; ``len(dataset)`` counts the selected molecules.
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
            targets=self._targets[row],
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


@dataclass(frozen=True)
class QM9Batch:
    """Several molecules flattened into one disjoint graph (PyG-style), made by :func:`collate_qm9`.

    Attributes:
        z: ``[A]`` int64 atomic numbers of all atoms.
        pos: ``[A, 3]`` positions in Å.
        batch: ``[A]`` int64 molecule index (``0..B-1``) of every atom.
        ptr: ``[B + 1]`` int64 offsets; molecule ``b`` owns atoms ``ptr[b]:ptr[b+1]``.
        targets: ``[B, T]`` labels.
        index: ``[B]`` int64 rows of the molecules in the dataset file.
        mol_id: the ``B`` QM9 identifiers.
    """

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    ptr: torch.Tensor
    targets: torch.Tensor
    index: torch.Tensor
    mol_id: tuple[str, ...]

    @property
    def num_graphs(self) -> int:
        """Number of molecules ``B``."""
        return int(self.ptr.shape[0] - 1)

    def to(self, device: Any) -> QM9Batch:
        """The same batch with every tensor on ``device``."""
        return QM9Batch(self.z.to(device), self.pos.to(device), self.batch.to(device), self.ptr.to(device),
                        self.targets.to(device), self.index.to(device), self.mol_id)


def collate_qm9(items: Sequence[QM9Item]) -> QM9Batch:
    """Concatenate :class:`QM9Item` s into a :class:`QM9Batch` (use as ``collate_fn`` of a DataLoader or of
    :func:`workbench.train.loop.fit`). Items must share the dtype and number of targets."""
    items = list(items)
    if not items:
        raise ValueError("items must hold at least one QM9Item")
    if not all(isinstance(it, QM9Item) for it in items):
        raise TypeError("items must all be QM9Item (from QM9Dataset)")
    sizes = torch.tensor([int(it.z.shape[0]) for it in items], dtype=torch.long)
    if len({it.targets.shape for it in items}) != 1 or len({it.pos.dtype for it in items}) != 1:
        raise ValueError("items must share the number of targets and the dtype (take them from one QM9Dataset)")
    return QM9Batch(
        z=torch.cat([it.z for it in items]),
        pos=torch.cat([it.pos for it in items]),
        batch=torch.repeat_interleave(torch.arange(len(items)), sizes),
        ptr=torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)]),
        targets=torch.stack([it.targets for it in items]),
        index=torch.tensor([it.index for it in items], dtype=torch.long),
        mol_id=tuple(it.mol_id for it in items),
    )


def to_pyg(item: QM9Item) -> Any:
    """A ``torch_geometric.data.Data`` with ``z [N]``, ``pos [N, 3]``, ``y [1, T]``, ``idx``, ``mol_id``, ``smiles``.

    Needs torch_geometric (the ``graph`` extra); ``y`` is ``[1, T]`` so PyG batching stacks it to ``[B, T]``.
    """
    if not isinstance(item, QM9Item):
        raise TypeError(f"item must be a QM9Item, got {type(item).__name__}")
    try:
        from torch_geometric.data import Data
    except ImportError as err:
        raise ImportError("to_pyg needs torch_geometric (the 'graph' extra): pip install torch_geometric") from err
    return Data(
        z=item.z, pos=item.pos, y=item.targets.reshape(1, -1), idx=item.index, mol_id=item.mol_id, smiles=item.smiles
    )


def to_ase(item: QM9Item, target_names: Sequence[str] | None = None) -> Any:
    """An ``ase.Atoms`` (positions in Å, no cell); ``info`` holds ``mol_id``, ``smiles`` and, if ``target_names``
    is given (e.g. ``dataset.target_names``), one float entry per target."""
    if not isinstance(item, QM9Item):
        raise TypeError(f"item must be a QM9Item, got {type(item).__name__}")
    try:
        import ase
    except ImportError as err:
        raise ImportError("to_ase needs ase (the 'chem' extra): pip install ase") from err
    atoms = ase.Atoms(numbers=item.z.tolist(), positions=item.pos.detach().cpu().double().numpy())
    atoms.info.update({"mol_id": item.mol_id, "smiles": item.smiles, "index": item.index})
    if target_names is not None:
        values = item.targets.detach().cpu().double().reshape(-1).tolist()
        if len(target_names) != len(values):
            raise ValueError(f"target_names must have {len(values)} entries, got {len(target_names)}")
        atoms.info.update(dict(zip(target_names, values)))
    return atoms


# --------------------------------------------------------------------------------------------------- splits


def fixed_split(
    n: int,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    path: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """A train/val/test split of ``range(n)``, optionally saved to and reloaded from JSON so it never drifts.

    The indices are ``numpy.random.default_rng(seed).permutation(n)`` cut at ``floor(cumsum(fractions) * n)``
    (the test part takes the rest). With ``path``: if the file exists, it is loaded and must have been made with
    the same ``n``, ``seed`` and ``fractions`` (else ValueError); otherwise the split is computed and written.

    Returns:
        ``{"train": [n_train], "val": [n_val], "test": [n_test]}`` sorted int64 index arrays (disjoint, covering
        ``range(n)``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 3:
        raise ValueError(f"n must be an int >= 3, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    fr = [float(f) for f in fractions]
    if len(fr) != 3 or any(not math.isfinite(f) or f <= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers (train, val, test) summing to 1, got {fractions}")
    record = {"n": n, "seed": seed, "fractions": fr}
    if path is not None and Path(path).is_file():
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in record} != record:
            raise ValueError(
                f"split file {path} was made with {({k: saved.get(k) for k in record})}, not {record}; "
                "delete it or pass another path"
            )
        split = {k: np.asarray(saved[k], dtype=np.int64) for k in ("train", "val", "test")}
        _check_split(split, n, str(path))
        return split
    perm = np.random.default_rng(seed).permutation(n)
    cut1 = int(math.floor(fr[0] * n))
    cut2 = int(math.floor((fr[0] + fr[1]) * n))
    split = {"train": np.sort(perm[:cut1]), "val": np.sort(perm[cut1:cut2]), "test": np.sort(perm[cut2:])}
    empty = [k for k, v in split.items() if v.size == 0]
    if empty:
        raise ValueError(f"fractions {fr} leave the {empty} part(s) of n = {n} molecules empty")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        payload = {**record, **{k: v.tolist() for k, v in split.items()}}
        Path(path).write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return split


def _check_split(split: Mapping[str, np.ndarray], n: int, where: str) -> None:
    joined = np.concatenate([split["train"], split["val"], split["test"]])
    if joined.size != n or not np.array_equal(np.sort(joined), np.arange(n)):
        raise ValueError(f"split in {where} is not a partition of range({n})")


# --------------------------------------------------------------------------------------------------- scaling


@dataclass(frozen=True)
class TargetNormalizer:
    """Per-target standardisation ``(y - mean) / std`` with statistics from the training split.

    Attributes:
        names: the ``T`` target names.
        mean: ``[T]`` float64 means.
        std: ``[T]`` float64 standard deviations (population, ``ddof=0``), all > 0.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(self.names)
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != (len(names),) or std.shape != (len(names),):
            raise ValueError(f"mean and std must have shape [T] = [{len(names)}]")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError(f"mean must be finite and std finite and > 0, got mean={mean}, std={std}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def fit(cls, values: np.ndarray, names: Sequence[str]) -> TargetNormalizer:
        """Statistics of ``values`` ``[M, T]`` (the training targets; ``M >= 2``) for targets ``names``."""
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[1] != len(names):
            raise ValueError(f"values must have shape [M, T] = [M, {len(names)}], got {list(v.shape)}")
        if v.shape[0] < 2:
            raise ValueError(f"values must hold at least 2 molecules to estimate a std, got {v.shape[0]}")
        if not np.all(np.isfinite(v)):
            raise ValueError("values must be finite")
        std = v.std(axis=0)
        if np.any(std == 0):
            raise ValueError(f"target(s) {[n for n, s in zip(names, std) if s == 0]} are constant; cannot scale")
        return cls(tuple(names), v.mean(axis=0), std)

    def normalize(self, values: Any) -> Any:
        """``(values - mean) / std`` for ``[..., T]`` numpy arrays or torch tensors."""
        mean, std = self._like(values)
        return (values - mean) / std

    def denormalize(self, values: Any) -> Any:
        """``values * std + mean`` for ``[..., T]`` numpy arrays or torch tensors."""
        mean, std = self._like(values)
        return values * std + mean

    def _like(self, values: Any) -> tuple[Any, Any]:
        if values.shape[-1] != len(self.names):
            raise ValueError(f"values must have last dimension T = {len(self.names)}, got {list(values.shape)}")
        if isinstance(values, torch.Tensor):
            return (torch.as_tensor(self.mean, dtype=values.dtype, device=values.device),
                    torch.as_tensor(self.std, dtype=values.dtype, device=values.device))
        return self.mean, self.std

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"names": list(self.names), "mean": self.mean.tolist(), "std": self.std.tolist()}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TargetNormalizer:
        """Read a file written by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(tuple(d["names"]), np.array(d["mean"]), np.array(d["std"]))


@dataclass(frozen=True)
class AtomReferences:
    """Per-element reference energies ``b_e`` of one target: ``E_ref(mol) = Σ_atoms b_{z}``.

    Attributes:
        target: the target name (e.g. ``"u0"``).
        unit: its unit (Hartree for the QM9 energies).
        elements: atomic numbers the fit covered.
        energies: ``[len(elements)]`` float64 coefficients ``b_e`` in ``unit``.
    """

    target: str
    unit: str
    elements: tuple[int, ...]
    energies: np.ndarray

    def __post_init__(self) -> None:
        e = np.asarray(self.energies, dtype=np.float64).reshape(-1)
        if e.shape != (len(self.elements),) or not np.all(np.isfinite(e)):
            raise ValueError(f"energies must be [len(elements)] = [{len(self.elements)}] finite numbers")
        object.__setattr__(self, "elements", tuple(int(x) for x in self.elements))
        object.__setattr__(self, "energies", e)

    def reference(self, z: Any, ptr: Any | None = None) -> np.ndarray:
        """Reference energy of one molecule (``z`` [N]; returns a 0-d array) or of a flat batch (``z`` [A] with
        ``ptr`` [M+1]; returns [M])."""
        z = np.asarray(z.detach().cpu() if hasattr(z, "detach") else z, dtype=np.int64).reshape(-1)
        unknown = sorted(set(np.unique(z).tolist()) - set(self.elements))
        if unknown:
            raise ValueError(f"no reference energy for element(s) {unknown}; fitted elements: {list(self.elements)}")
        lookup = np.zeros(max(self.elements) + 1)
        lookup[list(self.elements)] = self.energies
        per_atom = lookup[z]
        if ptr is None:
            return np.asarray(per_atom.sum())
        ptr = np.asarray(ptr, dtype=np.int64)
        return np.add.reduceat(per_atom, ptr[:-1]) if ptr.size > 1 else np.zeros(0)

    def subtract(self, conformers: ConformerSet) -> np.ndarray:
        """``[M]`` residual ``E - E_ref`` of :attr:`target` for every molecule of ``conformers``."""
        return conformers.target_column(self.target) - self.reference(conformers.z, conformers.ptr)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (element symbols as keys)."""
        return {"target": self.target, "unit": self.unit,
                "energies": {ELEMENT_SYMBOLS.get(e, str(e)): float(v) for e, v in zip(self.elements, self.energies)}}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> AtomReferences:
        """Read a file written by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        by_symbol = {s: z for z, s in ELEMENT_SYMBOLS.items()}
        elements = tuple(by_symbol[s] for s in d["energies"])
        return cls(d["target"], d["unit"], elements, np.array(list(d["energies"].values())))


def fit_atom_references(
    conformers: ConformerSet, target: str = "u0", train_indices: Sequence[int] | np.ndarray | None = None
) -> AtomReferences:
    """Least-squares per-element energies for an energy target (total or atomization), fitted on the training
    molecules only.

    Solves ``min_b || C b - E ||^2`` where ``C[m, e]`` counts atoms of element ``e`` in training molecule ``m`` and
    ``E`` is the target (no intercept; elements absent from the training set are left out of the fit).

    Args:
        conformers: the dataset (:class:`ConformerSet`, e.g. ``QM9Dataset(...).conformers``).
        target: one of :data:`QM9_ENERGY_TARGETS`.
        train_indices: rows used for the fit (default: all; pass the training split to avoid test leakage).
    """
    allowed = list(QM9_ENERGY_TARGETS) + [t for t in QM9_TARGETS if t.endswith("_atom")]
    if target not in allowed:
        raise ValueError(f"target must be an energy target {allowed}, got {target!r}")
    rows = np.arange(len(conformers)) if train_indices is None else np.asarray(train_indices, dtype=np.int64)
    if rows.ndim != 1 or rows.size == 0:
        raise ValueError("train_indices must be a non-empty 1-D sequence of molecule indices")
    elements_all = tuple(ELEMENT_SYMBOLS)
    counts = conformers.element_counts(elements_all)[rows]
    present = counts.sum(axis=0) > 0
    counts = counts[:, present]
    if np.linalg.matrix_rank(counts) < counts.shape[1]:
        raise ValueError("the training molecules do not determine every element's energy (rank-deficient counts)")
    energy = conformers.target_column(target)[rows]
    coef, *_ = np.linalg.lstsq(counts, energy, rcond=None)
    return AtomReferences(target, QM9_TARGETS[target][0], tuple(e for e, p in zip(elements_all, present) if p), coef)

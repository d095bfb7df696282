"""QM9 conformers: the :class:`ConformerSet` container, its verified on-disk format, and RDKit ETKDG + MMFF94
geometries built from SMILES (for SMILES-only data such as a user's own molecules).

The shipped subset holds the DFT geometries of the QM9 release (:mod:`workbench.data.qm9.dft`,
:mod:`workbench.data.qm9.xyz`, built by :func:`~workbench.data.qm9.build_qm9_subset`). :func:`build_conformers`
is the route for data that have SMILES but no coordinates: it embeds each SMILES with RDKit ETKDGv3 (fixed seed)
and relaxes it with MMFF94. For QM9 labels those conformers differ from the DFT-relaxed geometries the labels were
computed for (about 1.4% of them have bonds stretched to 1.7-2.0 Å), so any MAE reported on them must say so.

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

    ``manifest.json`` beside it records the builder, versions, seed, method, source, ``geometry_note``, the counts
    (requested / included / skipped, with the skipped ids and reasons) and the sha256 of every file;
    :func:`load_conformers` refuses a file whose sha256 does not match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from workbench.checks import check_array
from workbench.data.manifest import MANIFEST_NAME, read_verified_npz, sha256_file, write_npz_reproducible
from workbench.data.qm9.paths import DEFAULT_QM9_DIR
from workbench.data.qm9.table import ID_COLUMNS
from workbench.data.qm9.units import ELEMENT_SYMBOLS, QM9_TARGETS, validate_target_names
from workbench.version import __version__

__all__ = ["ConformerSet", "build_conformers", "save_conformers", "load_conformers", "MMFF_GEOMETRY_NOTE"]

_NPZ = "qm9_conformers.npz"
_MANIFEST = MANIFEST_NAME

#: The ``geometry_note`` of a folder built from SMILES by :func:`build_conformers`.
MMFF_GEOMETRY_NOTE: str = (
    "Geometries are RDKit ETKDGv3 + MMFF94 force-field conformers built from SMILES, NOT the DFT "
    "(B3LYP/6-31G(2df,p)) relaxed geometries the QM9 labels belong to."
)


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
        check_array(z, "z", shape=("A",), hint="atomic numbers of all atoms")
        check_array(pos, "pos", shape=(z.shape[0], 3), finite=True, hint="A, 3: one row per atom")
        if ptr.shape != (m + 1,) or ptr[0] != 0 or ptr[-1] != z.shape[0] or np.any(np.diff(ptr) <= 0):
            raise ValueError(
                f"ptr must be [M + 1] = [{m + 1}] offsets rising strictly from 0 to A = {z.shape[0]} "
                "(every molecule has at least one atom)"
            )
        if len(smiles) != m:
            raise ValueError(f"smiles must have M = {m} entries, got {len(smiles)}")
        check_array(targets, "targets", shape=(m, len(names)), hint="M, T: one row per molecule, one column per target")
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
    missing = [c for c in (*ID_COLUMNS, *QM9_TARGETS) if c not in getattr(table, "columns", ())]
    if missing:
        raise ValueError(f"table must be a DataFrame from load_qm9_table(); it lacks column(s) {missing}")
    try:
        # optional heavy dependency: the 'chem' extra
        from rdkit import Chem, RDLogger
        from rdkit.Chem import AllChem
    except ImportError as err:
        raise ImportError(
            "build_conformers needs RDKit (the 'chem' extra): pip install rdkit; "
            f"the prebuilt subset in {DEFAULT_QM9_DIR} loads without it"
        ) from err
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

    ``counts`` come from ``conformers.info`` (``requested``, ``skipped``, ``skipped_molecules``, ``embedded`` for
    RDKit builds; ``included`` is ``len(conformers)``); ``geometry_note`` defaults to :data:`MMFF_GEOMETRY_NOTE`;
    ``manifest_extra`` adds or overrides top-level keys. The npz is written with fixed zip timestamps, so equal
    data give byte-identical files (and equal sha256).
    """
    if not isinstance(conformers, ConformerSet):
        raise TypeError(f"conformers must be a ConformerSet, got {type(conformers).__name__}")
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
            "included": len(conformers),
            **({"embedded": int(info["embedded"])} if "embedded" in info else {}),
            "skipped": int(info.get("skipped", 0)),
            "atoms": int(conformers.z.shape[0]),
        },
        "skipped_molecules": dict(info.get("skipped_molecules", {})),
        "seed": info.get("seed"),
        "geometry_note": MMFF_GEOMETRY_NOTE,
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
    how = ("build the subset with workbench.data.qm9.build_qm9_subset(out_dir) (`workbench build-data qm9`: DFT "
           "geometries from the 'qm9' extra or the original QM9 .xyz files; RDKit MMFF94 from SMILES with "
           "geometry='mmff') or pass the folder that holds it")
    manifest, arrays, entry = read_verified_npz(folder, _NPZ, how, "rebuild with build_qm9_subset()", verify)
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

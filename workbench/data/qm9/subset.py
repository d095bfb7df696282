"""The shipped QM9 subset and conformer caches: :func:`build_qm9_subset` (the ``workbench build-data qm9`` hook) and
:func:`cached_qm9_conformers`.

Selection rule (the same for every geometry source, so a seed gives the same ``mol_id`` s): the label table
(``qm9_small.csv``, de-duplicated by ``mol_id``) is permuted with ``numpy.random.default_rng(seed)`` and its first
``n`` rows are kept in that order. Geometries:

- ``geometry="dft"`` (default): the B3LYP/6-31G(2df,p) relaxed geometries of the QM9 release, from qm9pack (the
  ``qm9`` extra, :func:`~workbench.data.qm9.load_qm9_dft`) or from the release's own ``.xyz`` files (``xyz=``,
  :func:`~workbench.data.qm9.load_qm9_xyz`); labels come from the same source as the coordinates. A molecule the
  source lacks is skipped and listed (qm9pack leaves out 3,054 of QM9's 133,885 molecules).
- ``geometry="mmff"``: RDKit ETKDGv3 + MMFF94 conformers from the table's SMILES (the ``chem`` extra,
  :func:`~workbench.data.qm9.build_conformers`), for SMILES-only data; labels from the table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.manifest import MANIFEST_NAME, sha256_file
from workbench.data.qm9.conformers import build_conformers, load_conformers, save_conformers
from workbench.data.qm9.dft import QM9_DFT_METHOD, load_qm9_dft, qm9pack_files
from workbench.data.qm9.paths import DEFAULT_QM9_DIR, find_qm9_csv
from workbench.data.qm9.table import load_qm9_table
from workbench.data.qm9.xyz import load_qm9_xyz, qm9_xyz_name

__all__ = ["QM9_GEOMETRIES", "DFT_GEOMETRY_NOTE", "build_qm9_subset", "cached_qm9_conformers", "cached_qm9_full"]

#: The geometry sources :func:`build_qm9_subset` accepts.
QM9_GEOMETRIES: tuple[str, ...] = ("dft", "mmff")

#: The ``geometry_note`` of a folder built from the QM9 release's own coordinates.
DFT_GEOMETRY_NOTE: str = (
    f"Geometries are the DFT {QM9_DFT_METHOD} relaxed geometries of the QM9 release (Ramakrishnan et al., Sci. Data "
    "1, 140022, 2014), the ones the labels were computed for; each molecule is translated so that its atom centroid "
    "is at the origin."
)
_LABELS = "QM9 (Ramakrishnan et al., Sci. Data 1, 140022, 2014; CC0), B3LYP/6-31G(2df,p)"


def _xyz_source_digest(path: Path, mol_ids: tuple[str, ...]) -> dict[str, Any]:
    if path.is_file():
        return {"geometries": "qm9 xyz archive", "file": path.name, "sha256": sha256_file(path)}
    digest = hashlib.sha256()
    for mol_id in mol_ids:
        name = qm9_xyz_name(int(mol_id[4:]))
        digest.update(f"{name} {sha256_file(path / name)}\n".encode())
    return {"geometries": "qm9 xyz folder", "folder": path.name, "files_sha256": digest.hexdigest(),
            "files_sha256_rule": "sha256 of the lines '<file name> <sha256 of the file>' of the files used, in the "
                                 "order of mol_id"}


def build_qm9_subset(
    out_dir: str | Path | None = None, seed: int = 0, n: int | None = 1000, csv_path: str | Path | None = None, *,
    geometry: str = "dft", xyz: str | os.PathLike[str] | None = None, progress: bool = True,
) -> dict[str, Any]:
    """Build the shipped QM9 subset: ``n`` rows of the label table drawn with ``seed``, their geometries, npz +
    manifest (format: :mod:`workbench.data.qm9.conformers`). This is the ``workbench build-data qm9`` hook.

    Args:
        out_dir: target folder (default :data:`DEFAULT_QM9_DIR`).
        seed: seed of the row draw (and of ETKDG for ``geometry="mmff"``).
        n: number of molecules requested (``1 <= n <= rows``; ``None``: every row of the table).
        csv_path: the QM9 label table that defines the selection (default: ``$WORKBENCH_QM9_CSV``, else
            ``shared/data/qm9_small.csv`` searched upwards).
        geometry: ``"dft"`` (the release's coordinates and labels; default) or ``"mmff"`` (RDKit conformers from
            the table's SMILES, for SMILES-only data).
        xyz: with ``geometry="dft"``, a folder or ``.tar.bz2`` of the original ``dsgdb9nsd_NNNNNN.xyz`` files to
            read instead of qm9pack.
        progress: show ``tqdm.auto`` progress bars.

    Returns:
        The manifest written to ``<out_dir>/manifest.json``: builder, versions, seed, method, ``source`` (the
        table and its sha256; the geometry source with its version and sha256), ``geometry``, ``geometry_note``,
        counts (requested / included / skipped) and the skipped molecules with reasons.

    Raises:
        ImportError: qm9pack (``qm9`` extra, for ``geometry="dft"`` without ``xyz``) or RDKit (``chem`` extra, for
            ``"mmff"``) is missing.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if geometry not in QM9_GEOMETRIES:
        raise ValueError(f"geometry must be one of {list(QM9_GEOMETRIES)}, got {geometry!r}")
    if xyz is not None and geometry != "dft":
        raise ValueError("xyz (the original QM9 files) gives DFT geometries: use it with geometry='dft'")
    if geometry == "dft" and xyz is None:
        qm9pack_files()  # fail early, before reading the table, with the error that names the 'qm9' extra
    table = load_qm9_table(csv_path)
    n = len(table) if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(table):
        raise ValueError(f"n must be an int in [1, {len(table)}], got {n!r}")
    order = np.random.default_rng(seed).permutation(len(table))[:n]
    rows = table.iloc[order].reset_index(drop=True)
    draw = f"rows: numpy.random.default_rng({seed}).permutation of the mol_id-deduplicated table, first {n}"
    source: dict[str, Any] = {
        "table": Path(table.attrs["source"]).name,
        "table_sha256": sha256_file(Path(table.attrs["source"])),
        "table_rows": len(table),
        "duplicates_dropped": int(table.attrs["n_duplicates_dropped"]),
        "labels": _LABELS,
    }
    if geometry == "mmff":
        import rdkit  # noqa: F401  (the chem extra; build_conformers raises the ImportError that names it)

        conformers = build_conformers(rows, seed=seed, progress=progress)
        extra = {
            "geometry": "mmff",
            "rdkit_version": rdkit.__version__,
            "method": (
                f"{draw}; RDKit AddHs, EmbedMolecule(ETKDGv3, randomSeed={seed}; on failure again with "
                "useRandomCoords=True), MMFFOptimizeMolecule(MMFF94, maxIters=2000); failures skipped and counted; "
                "positions centred on the atom centroid"
            ),
            "source": source,
        }
        return save_conformers(conformers, out_dir if out_dir is not None else DEFAULT_QM9_DIR, extra)
    ids = tuple(rows["mol_id"])
    if xyz is None:
        loaded = load_qm9_dft(ids, progress=progress)
        version, paths = qm9pack_files()
        source.update({"geometries": "qm9pack", "qm9pack_version": version,
                       "files_sha256": {name: sha256_file(p) for name, p in paths.items()}})
        reader = f"workbench.data.qm9.load_qm9_dft (qm9pack {version}: XYZ_Ang coordinates, labels, SMILES)"
    else:
        loaded = load_qm9_xyz(xyz, ids, progress=progress)
        source.update(_xyz_source_digest(Path(xyz).expanduser(), loaded.mol_id))
        reader = "workbench.data.qm9.load_qm9_xyz (the release's dsgdb9nsd_NNNNNN.xyz files)"
    missing = dict(loaded.info["missing"])
    conformers = dataclasses.replace(loaded, info={"requested": n, "skipped": len(missing),
                                                   "skipped_molecules": missing, "seed": seed})
    extra = {
        "geometry": "dft",
        "geometry_note": DFT_GEOMETRY_NOTE,
        "method": (f"{draw}; coordinates and labels of those molecules from {reader}; *_atom labels derived with "
                   "the release's free-atom energies (workbench.data.qm9.atomization); molecules the source lacks "
                   "skipped and listed; positions translated to the atom centroid"),
        "source": source,
    }
    return save_conformers(conformers, out_dir if out_dir is not None else DEFAULT_QM9_DIR, extra)


def _cached_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a conformer folder built earlier, if its data file verifies; None when absent or broken."""
    if not (folder / MANIFEST_NAME).is_file():
        return None
    try:
        return load_conformers(folder, verify=True).info["manifest"]
    except (ValueError, FileNotFoundError, KeyError):
        return None


def cached_qm9_full(cache_dir: str | Path, *, progress: bool = True) -> Path:
    """The whole QM9 release in qm9pack (130,831 molecules, DFT geometries, all labels) as a conformer folder in
    ``cache_dir``, built once (about 10 s and 1 GB of memory, then ~30 MB on disk) and reused while its manifest
    verifies and names the same qm9pack version and source files (by sha256). Pass the result to
    :class:`QM9Dataset`; ``run_qm9(data_path="qm9pack")`` does.

    Raises:
        ImportError: qm9pack is missing (names the ``qm9`` extra).
    """
    folder = Path(cache_dir)
    version, paths = qm9pack_files()
    digests = {name: sha256_file(p) for name, p in paths.items()}
    source = (_cached_manifest(folder) or {}).get("source", {})
    if source.get("qm9pack_version") == version and source.get("files_sha256") == digests:
        return folder
    loaded = load_qm9_dft(progress=progress)
    missing = dict(loaded.info["missing"])
    conformers = dataclasses.replace(loaded, info={"requested": len(loaded), "skipped": len(missing),
                                                   "skipped_molecules": missing, "seed": None})
    save_conformers(conformers, folder, {
        "builder": "workbench.data.qm9.cached_qm9_full",
        "geometry": "dft",
        "geometry_note": DFT_GEOMETRY_NOTE,
        "method": f"every molecule of qm9pack {version} (XYZ_Ang coordinates, labels, SMILES) through "
                  "workbench.data.qm9.load_qm9_dft; *_atom labels derived with the release's free-atom energies; "
                  "positions translated to the atom centroid",
        "source": {"labels": _LABELS, "geometries": "qm9pack", "qm9pack_version": version, "files_sha256": digests},
    })
    return folder


def cached_qm9_conformers(
    cache_dir: str | Path, seed: int = 0, n: int | None = None, csv_path: str | Path | None = None
) -> Path:
    """Build RDKit MMFF94 conformers of a SMILES table into ``cache_dir`` once and reuse them; returns ``cache_dir``.

    The route for SMILES-only tables (:func:`build_qm9_subset` with ``geometry="mmff"``). The folder is reused when
    its manifest verifies and records the same ``seed``, the same number of requested molecules and the same CSV
    (by sha256; ``csv_path`` is resolved by :func:`find_qm9_csv`); otherwise it is rebuilt (needs RDKit; about
    16 s per 1,000 molecules on one CPU core, measured with RDKit 2026.09). Pass the result to :class:`QM9Dataset`.
    """
    folder = Path(cache_dir)
    table_path = find_qm9_csv(csv_path)
    manifest = _cached_manifest(folder)
    if manifest is not None:
        want_n = manifest.get("source", {}).get("table_rows") if n is None else n
        if (
            manifest.get("seed") == seed
            and manifest.get("counts", {}).get("requested") == want_n
            and manifest.get("source", {}).get("table_sha256") == sha256_file(table_path)
        ):
            return folder
    build_qm9_subset(folder, seed=seed, n=n, csv_path=table_path, geometry="mmff")
    return folder

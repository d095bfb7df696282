"""QM9 for the workbench: the label table, RDKit conformers, a verified on-disk format and target scaling.

One module per concern; every public name is importable from ``workbench.data.qm9``:

- :mod:`~workbench.data.qm9.units`: :data:`QM9_TARGETS` (name -> unit, description), Hartree conversions,
  :func:`validate_target_names`;
- :mod:`~workbench.data.qm9.paths`: where the CSV is (:func:`find_qm9_csv`) and the shipped subset
  (:data:`DEFAULT_QM9_DIR`);
- :mod:`~workbench.data.qm9.table`: :func:`load_qm9_table`;
- :mod:`~workbench.data.qm9.conformers`: :class:`ConformerSet`, the RDKit MMFF94 builder (SMILES-only data),
  save/load with a manifest;
- :mod:`~workbench.data.qm9.dft`: :func:`load_qm9_dft`, the whole QM9 with its DFT geometries from qm9pack (the
  ``qm9`` extra);
- :mod:`~workbench.data.qm9.xyz`: :func:`read_qm9_xyz` / :func:`load_qm9_xyz`, the original release's
  ``dsgdb9nsd_NNNNNN.xyz`` files from a folder or its ``.tar.bz2``;
- :mod:`~workbench.data.qm9.atomization`: :data:`QM9_FREE_ATOM_ENERGIES`, :func:`atomization_energies`;
- :mod:`~workbench.data.qm9.subset`: :func:`build_qm9_subset` (the shipped subset, ``workbench build-data qm9``)
  and :func:`cached_qm9_conformers`;
- :mod:`~workbench.data.qm9.dataset`: :class:`QM9Dataset` and its :class:`QM9Item` s (batch them with
  :func:`workbench.data.batch.collate_atoms`);
- :mod:`~workbench.data.qm9.normalization`: :class:`TargetNormalizer`, :class:`AtomReferences`,
  :func:`fit_atom_references`.

Splits (:func:`~workbench.data.splits.fixed_split`) and ASE/PyG conversions (:func:`~workbench.data.interop.to_ase`,
:func:`~workbench.data.interop.to_pyg`) are shared by every dataset and re-exported here.

Where the data come from
    The labels are the QM9 DFT (B3LYP/6-31G(2df,p)) properties of Ramakrishnan et al., Sci. Data 1, 140022 (2014),
    read from a CSV (:func:`load_qm9_table`). The CSV is the ``path`` argument, else the file named by the
    environment variable ``WORKBENCH_QM9_CSV``, else ``shared/data/qm9_small.csv`` found in the current directory
    or the nearest parent that has it (a random subset of 14,862 rows = 14,715 distinct molecules, or any CSV
    with the same columns); a missing file raises an error naming the three ways. Nothing is ever downloaded:
    users who are online can fetch the full QM9 release from :data:`QM9_PUBLIC_URL` themselves. The shipped
    subset ``data/qm9`` (:data:`DEFAULT_QM9_DIR`) loads without the CSV and without RDKit.

Geometries are DFT
    The shipped subset holds the B3LYP/6-31G(2df,p) relaxed geometries of the QM9 release, the ones the labels
    belong to (from qm9pack, or from the original ``.xyz`` files with ``workbench build-data qm9 --xyz DIR``).
    :func:`build_conformers` (``build_qm9_subset(geometry="mmff")``) embeds SMILES with RDKit ETKDGv3 and relaxes
    them with MMFF94, for data that have no coordinates; an MAE reported on such conformers must say so.
"""

from __future__ import annotations

from workbench.data.interop import to_ase, to_pyg
from workbench.data.qm9.atomization import QM9_FREE_ATOM_ENERGIES, atomization_energies
from workbench.data.qm9.conformers import ConformerSet, build_conformers, load_conformers, save_conformers
from workbench.data.qm9.dataset import QM9Dataset, QM9Item
from workbench.data.qm9.dft import QM9PACK_VERSION, load_qm9_dft
from workbench.data.qm9.normalization import AtomReferences, TargetNormalizer, fit_atom_references
from workbench.data.qm9.paths import DEFAULT_QM9_CSV, DEFAULT_QM9_DIR, QM9_CSV_ENV, find_qm9_csv
from workbench.data.qm9.subset import QM9_GEOMETRIES, build_qm9_subset, cached_qm9_conformers, cached_qm9_full
from workbench.data.qm9.table import load_qm9_table
from workbench.data.qm9.units import (
    ELEMENT_SYMBOLS,
    HARTREE_TO_EV,
    HARTREE_TO_KCAL_PER_MOL,
    HARTREE_TO_MEV,
    QM9_ENERGY_TARGETS,
    QM9_PUBLIC_URL,
    QM9_TARGETS,
    hartree_to_mev,
    validate_target_names,
)
from workbench.data.qm9.xyz import QM9XYZRecord, load_qm9_xyz, read_qm9_xyz
from workbench.data.splits import fixed_split

__all__ = [
    "QM9_TARGETS",
    "QM9_ENERGY_TARGETS",
    "QM9_PUBLIC_URL",
    "QM9_CSV_ENV",
    "DEFAULT_QM9_CSV",
    "DEFAULT_QM9_DIR",
    "HARTREE_TO_EV",
    "HARTREE_TO_MEV",
    "HARTREE_TO_KCAL_PER_MOL",
    "ELEMENT_SYMBOLS",
    "QM9_FREE_ATOM_ENERGIES",
    "QM9PACK_VERSION",
    "QM9_GEOMETRIES",
    "QM9XYZRecord",
    "ConformerSet",
    "QM9Item",
    "QM9Dataset",
    "TargetNormalizer",
    "AtomReferences",
    "find_qm9_csv",
    "load_qm9_table",
    "build_conformers",
    "build_qm9_subset",
    "cached_qm9_conformers",
    "cached_qm9_full",
    "save_conformers",
    "load_conformers",
    "load_qm9_dft",
    "read_qm9_xyz",
    "load_qm9_xyz",
    "atomization_energies",
    "fixed_split",
    "fit_atom_references",
    "hartree_to_mev",
    "to_pyg",
    "to_ase",
    "validate_target_names",
]

"""QM9 on its DFT geometries: the whole release from the ``qm9pack`` package (the ``qm9`` extra) as a
:class:`~workbench.data.qm9.ConformerSet`.

``qm9pack==1.0.3`` (MIT; CC0 data, by the QM9 author) ships 130,831 of QM9's 133,885 molecules (the count leaves
out the 3,054 the release lists as failing its consistency check) as three CSVs ``qm9pack/data/qm9_part{1,2,3}.csv``:
one row per molecule with the release's id (``XYZ_file`` = ``dsgdb9nsd_NNNNNN.xyz``, ``Index`` = N), the
B3LYP/6-31G(2df,p) relaxed coordinates (``XYZ_Ang``, Å, JSON), the element symbols (``Elements``) and every label
in the units of the original release (energies in Hartree). The files are located through the installed
distribution's metadata and read with pandas; qm9pack's own loader is not imported (it needs the deprecated
``pkg_resources``). Users with the original release files read them with :func:`~workbench.data.qm9.load_qm9_xyz`.

:func:`load_qm9_dft` parses the coordinate and element columns in one pass over joined strings (no per-molecule
Python loop): the whole set loads in a few seconds and holds about 60 MB of arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from workbench.data.qm9.atomization import ATOMIZATION_TARGETS, atomization_energies
from workbench.data.qm9.conformers import ConformerSet
from workbench.data.qm9.units import ELEMENT_SYMBOLS, QM9_TARGETS

__all__ = ["QM9PACK_VERSION", "QM9PACK_EXTRA_HINT", "QM9_DFT_METHOD", "QM9PACK_COLUMNS", "qm9pack_files",
           "load_qm9_dft", "parse_mol_ids"]

#: The qm9pack release the workbench reads (the ``qm9`` extra pins it).
QM9PACK_VERSION: str = "1.0.3"
#: How to install the source (used in every error about a missing qm9pack).
QM9PACK_EXTRA_HINT: str = ("install the 'qm9' extra: pip install 'equivariant-workbench[qm9]' (qm9pack=="
                           f"{QM9PACK_VERSION}), or read the original QM9 .xyz files with load_qm9_xyz()")
#: Level of theory of the QM9 geometries and labels.
QM9_DFT_METHOD: str = "B3LYP/6-31G(2df,p)"

#: qm9pack column of each directly stored target of :data:`QM9_TARGETS` (the ``*_atom`` ones are derived).
QM9PACK_COLUMNS: dict[str, str] = {
    "A": "RotA_GHz", "B": "RotB_GHz", "C": "RotC_GHz", "mu": "Dipole_debye", "alpha": "Polarizability_bohr3",
    "homo": "HOMO_au", "lumo": "LUMO_au", "gap": "HOMO_LUMO_gap_au", "r2": "R2_bohr2", "zpve": "ZPVE_au",
    "u0": "InternalEnergy_0K_au", "u298": "InternalEnergy_298K_au", "h298": "Enthalphy_298K_au",
    "g298": "GibbsFreeEnergy_298K_au", "cv": "Heatcapacity_Cv_cal_mol_K",
}
_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
_ID_RE = re.compile(r"gdb_([1-9][0-9]*)")
_SYMBOL_TO_Z = {s: z for z, s in ELEMENT_SYMBOLS.items()}


def qm9pack_files() -> tuple[str, dict[str, Path]]:
    """``(version, {file name: path})`` of the installed qm9pack's three data CSVs (nothing is imported or read).

    Raises:
        ImportError: qm9pack is not installed (the message names the ``qm9`` extra).
        FileNotFoundError: it is installed but a data file is missing.
    """
    try:
        dist = distribution("qm9pack")
    except PackageNotFoundError as err:
        raise ImportError(f"the QM9 DFT geometries come from the qm9pack package, which is not installed: "
                          f"{QM9PACK_EXTRA_HINT}") from err
    paths = {name: Path(str(dist.locate_file(f"qm9pack/data/{name}"))) for name in _PARTS}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack {dist.version} is installed but lacks {missing}; reinstall it: "
                                f"{QM9PACK_EXTRA_HINT}")
    return dist.version, paths


def parse_mol_ids(mol_ids: Sequence[str]) -> np.ndarray:
    """``[K]`` int64 QM9 indices of identifiers ``"gdb_<N>"`` (``N >= 1``, the release's file number).

    Raises:
        ValueError: an identifier has another form, or one repeats.
    """
    if isinstance(mol_ids, str) or not isinstance(mol_ids, Sequence):
        raise TypeError(f"mol_ids must be a sequence of 'gdb_<N>' strings, got {type(mol_ids).__name__}")
    out = np.empty(len(mol_ids), dtype=np.int64)
    for k, mol_id in enumerate(mol_ids):
        match = _ID_RE.fullmatch(str(mol_id))
        if match is None:
            raise ValueError(f"mol_ids[{k}] = {mol_id!r} is not a QM9 identifier of the form 'gdb_<N>' (N >= 1)")
        out[k] = int(match.group(1))
    if np.unique(out).size != out.size:
        raise ValueError("mol_ids must not repeat an identifier")
    return out


def _flat_numbers(cells: Sequence[str], dtype: Any) -> np.ndarray:
    """All numbers of a column of JSON-like lists (``"[[1.0,2.],[3e-6,4]]"``) in order, parsed in one pass."""
    text = ",".join(cells).replace("[", "").replace("]", "")
    return np.array(text.split(","), dtype=dtype)


def assemble_conformers(index: np.ndarray, smiles: Sequence[str], n_atoms: np.ndarray, z: np.ndarray,
                        pos: np.ndarray, labels: Mapping[str, np.ndarray], *, center: bool,
                        info: Mapping[str, Any]) -> ConformerSet:
    """A :class:`ConformerSet` from flat arrays of ``M`` molecules: ``index [M]`` (QM9 numbers), ``smiles [M]``,
    ``n_atoms [M]``, ``z [A]``, ``pos [A, 3]`` (Å) and ``labels`` (every directly stored target of
    :data:`QM9_TARGETS`, ``[M]`` each). The ``*_atom`` targets are derived with :func:`atomization_energies`;
    ``center`` moves each molecule's atom centroid to the origin (the shipped format)."""
    n_atoms = np.asarray(n_atoms, dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(n_atoms)])
    pos = np.asarray(pos, dtype=np.float64)
    mol_of_atom = np.repeat(np.arange(len(n_atoms)), n_atoms)
    if center and len(n_atoms):
        centroid = np.add.reduceat(pos, ptr[:-1], axis=0) / n_atoms[:, None]
        pos = pos - centroid[mol_of_atom]
    counts = np.zeros((len(n_atoms), len(ELEMENT_SYMBOLS)))
    column = np.searchsorted(np.array(sorted(ELEMENT_SYMBOLS)), z)
    np.add.at(counts, (mol_of_atom, column), 1.0)
    columns = {name: np.asarray(labels[name], dtype=np.float64) for name in QM9PACK_COLUMNS}
    for name, total in ATOMIZATION_TARGETS.items():
        columns[name] = atomization_energies(columns[total], counts, total)
    return ConformerSet(
        z=z, pos=pos, ptr=ptr, targets=np.stack([columns[name] for name in QM9_TARGETS], axis=1),
        target_names=tuple(QM9_TARGETS), mol_id=tuple(f"gdb_{i}" for i in np.asarray(index).tolist()),
        smiles=tuple(smiles), info=dict(info),
    )


def load_qm9_dft(mol_ids: Sequence[str] | None = None, *, center: bool = True, progress: bool = True
                 ) -> ConformerSet:
    """QM9 molecules with their DFT (B3LYP/6-31G(2df,p)) geometries and all labels, read from qm9pack.

    Args:
        mol_ids: identifiers ``"gdb_<N>"`` to load, in the order wanted (default: all 130,831, by index);
            identifiers qm9pack does not hold are left out and listed in ``info["missing"]``.
        center: translate each molecule so that its atom centroid is at the origin (the shipped format; the
            release's coordinates are otherwise kept exactly).
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        A :class:`ConformerSet`: ``z [A]``, ``pos [A, 3]`` in Å, ``ptr [M + 1]``, ``targets [M, 19]`` in the order
        and units of :data:`QM9_TARGETS` (``*_atom`` derived with the release's free-atom energies), ``mol_id``
        ``"gdb_<N>"``, ``smiles`` (qm9pack's ``SMILES`` column). ``info`` holds ``source`` (``"qm9pack"``),
        ``version``, ``files`` (name -> path), ``requested`` and ``missing`` ({mol_id: reason}).

    Raises:
        ImportError: qm9pack is not installed (names the ``qm9`` extra).
        ValueError: malformed ``mol_ids``, or a qm9pack row whose atom count disagrees with its coordinates.
    """
    wanted = None if mol_ids is None else parse_mol_ids(mol_ids)
    version, paths = qm9pack_files()
    columns = ["Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", *QM9PACK_COLUMNS.values()]
    bar = tqdm(total=len(paths) + 1, desc="QM9 DFT (qm9pack)", unit="step", disable=not progress)
    frames = []
    for name, path in paths.items():
        frame = pd.read_csv(path, usecols=columns)
        if wanted is not None:
            frame = frame[frame["Index"].isin(wanted)]
        frames.append(frame)
        bar.set_postfix_str(name)
        bar.update()
    table = pd.concat(frames, ignore_index=True)
    missing: dict[str, str] = {}
    if wanted is not None:
        present = set(table["Index"].tolist())
        missing = {f"gdb_{i}": f"not in qm9pack {version} (it ships 130,831 of QM9's 133,885 molecules)"
                   for i in wanted.tolist() if i not in present}
        order = {i: k for k, i in enumerate(wanted.tolist())}
        table = table.iloc[np.argsort(table["Index"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    if len(table) == 0:
        bar.close()
        raise ValueError(f"none of the requested molecules is in qm9pack {version}: {sorted(missing)[:10]}")
    n_atoms = table["N_atoms"].to_numpy(dtype=np.int64)
    pos = _flat_numbers(table["XYZ_Ang"].tolist(), np.float64)
    symbols = _flat_numbers([s.replace("'", "").replace('"', "") for s in table["Elements"].tolist()], np.str_)
    if pos.size != 3 * n_atoms.sum() or symbols.size != n_atoms.sum():
        bar.close()
        raise ValueError(f"qm9pack {version}: coordinates ({pos.size} numbers) and elements ({symbols.size}) do not "
                         f"match N_atoms (sum {int(n_atoms.sum())}); the installed files are damaged")
    unique, inverse = np.unique(symbols, return_inverse=True)
    unknown = [s for s in unique.tolist() if s not in _SYMBOL_TO_Z]
    if unknown:
        bar.close()
        raise ValueError(f"qm9pack {version} holds element symbols {unknown} outside H, C, N, O, F")
    z = np.array([_SYMBOL_TO_Z[s] for s in unique.tolist()], dtype=np.int64)[inverse]
    labels = {name: table[col].to_numpy(dtype=np.float64) for name, col in QM9PACK_COLUMNS.items()}
    info = {"source": "qm9pack", "version": version, "files": {k: str(v) for k, v in paths.items()},
            "requested": len(table) + len(missing), "missing": missing}
    conformers = assemble_conformers(table["Index"].to_numpy(), table["SMILES"].astype(str).tolist(), n_atoms, z,
                                     pos.reshape(-1, 3), labels, center=center, info=info)
    bar.update()
    bar.close()
    return conformers

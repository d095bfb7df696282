"""The original QM9 release's per-molecule files (``dsgdb9nsd_NNNNNN.xyz``), from a folder or the release's
``.tar.bz2``: :func:`read_qm9_xyz` (one file) and :func:`load_qm9_xyz` (many, as a
:class:`~workbench.data.qm9.ConformerSet`).

File format (Ramakrishnan et al., Sci. Data 1, 140022, 2014, Table 2), for a molecule of ``n`` atoms:

======== ==================================================================================================
line 1   ``n``
line 2   ``gdb N A B C mu alpha homo lumo gap r2 zpve U0 U H G Cv`` (17 fields, units of :data:`QM9_TARGETS`)
3..n+2   ``El x y z q``: element symbol, coordinates in Å, Mulliken partial charge in e
n+3      harmonic vibrational frequencies in cm^-1 (3n-6 or 3n-5 values)
n+4      SMILES from GDB-17 and from the B3LYP relaxed geometry
n+5      InChI for GDB-17 and for the relaxed geometry
======== ==================================================================================================

Numbers may carry Mathematica-style exponents (``1.2345*^-6`` = ``1.2345e-6``); fields are separated by tabs or
spaces. The release is a CC0 download (:data:`~workbench.data.qm9.QM9_PUBLIC_URL`); the workbench never fetches it.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from workbench.data.qm9.conformers import ConformerSet
from workbench.data.qm9.dft import QM9PACK_COLUMNS, assemble_conformers, parse_mol_ids
from workbench.data.qm9.units import ELEMENT_SYMBOLS

__all__ = ["QM9XYZRecord", "read_qm9_xyz", "load_qm9_xyz", "qm9_xyz_name"]

#: The 15 labels of line 2, in file order (after ``gdb`` and ``N``).
_LINE2_TARGETS = ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "u0", "u298", "h298", "g298",
                  "cv")
_SYMBOL_TO_Z = {s: z for z, s in ELEMENT_SYMBOLS.items()}
_NAME_RE = re.compile(r"dsgdb9nsd_([0-9]{6})\.xyz")


@dataclass(frozen=True)
class QM9XYZRecord:
    """One molecule of the QM9 release.

    Attributes:
        index: the QM9 number ``N`` (``mol_id`` ``"gdb_<N>"``).
        z: ``[n]`` int64 atomic numbers.
        pos: ``[n, 3]`` float64 B3LYP/6-31G(2df,p) coordinates in Å, as in the file.
        charges: ``[n]`` Mulliken partial charges (e).
        labels: the 15 labels of line 2 (``A`` ... ``cv``) in the units of :data:`QM9_TARGETS`.
        frequencies: harmonic frequencies in cm^-1.
        smiles: GDB-17 SMILES; ``smiles_relaxed``: SMILES of the relaxed geometry.
        inchi: GDB-17 InChI; ``inchi_relaxed``: InChI of the relaxed geometry.
    """

    index: int
    z: np.ndarray
    pos: np.ndarray
    charges: np.ndarray
    labels: dict[str, float]
    frequencies: np.ndarray
    smiles: str
    smiles_relaxed: str
    inchi: str
    inchi_relaxed: str

    @property
    def mol_id(self) -> str:
        return f"gdb_{self.index}"


def qm9_xyz_name(index: int) -> str:
    """The release's file name of molecule ``index``: ``dsgdb9nsd_000001.xyz`` for 1."""
    return f"dsgdb9nsd_{int(index):06d}.xyz"


def _number(token: str, where: str) -> float:
    try:
        return float(token.replace("*^", "e"))
    except ValueError:
        raise ValueError(f"{where}: {token!r} is not a number") from None


def read_qm9_xyz(source: str | os.PathLike[str], *, name: str | None = None) -> QM9XYZRecord:
    """Parse one QM9 release file (format in the module docstring).

    Args:
        source: a path to a ``dsgdb9nsd_NNNNNN.xyz`` file, or the file's text (a ``str`` holding a newline).
        name: the name used in error messages for text input (default ``"<text>"``).

    Raises:
        ValueError: the text is not in the release's format; the message names the file, the line and what
            was expected there.
    """
    if isinstance(source, str) and "\n" in source:
        text, where = source, name or "<text>"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"QM9 xyz file {path} does not exist")
        text, where = path.read_text(encoding="utf-8"), name or str(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip().isdigit() or int(lines[0]) < 1:
        first = lines[0] if lines else ""
        raise ValueError(f"{where} line 1: expected the number of atoms (a positive int), got {first!r}")
    n = int(lines[0])
    if len(lines) < n + 5:
        raise ValueError(f"{where}: a QM9 file of {n} atoms has n + 5 = {n + 5} lines (count, properties, atoms, "
                         f"frequencies, SMILES, InChI), this one has {len(lines)}")
    head = lines[1].split()
    if len(head) != 17 or head[0] != "gdb" or not head[1].isdigit():
        raise ValueError(f"{where} line 2: expected 'gdb N' and the 15 properties {' '.join(_LINE2_TARGETS)} "
                         f"(17 fields), got {len(head)} field(s): {lines[1][:80]!r}")
    labels = {t: _number(tok, f"{where} line 2 ({t})") for t, tok in zip(_LINE2_TARGETS, head[2:])}
    z = np.empty(n, dtype=np.int64)
    pos = np.empty((n, 3), dtype=np.float64)
    charges = np.empty(n, dtype=np.float64)
    for k in range(n):
        fields = lines[2 + k].split()
        line = f"{where} line {3 + k}"
        if len(fields) != 5 or fields[0] not in _SYMBOL_TO_Z:
            raise ValueError(f"{line}: expected 'El x y z q' with El in H, C, N, O, F, got {lines[2 + k][:80]!r}")
        z[k] = _SYMBOL_TO_Z[fields[0]]
        pos[k] = [_number(t, line) for t in fields[1:4]]
        charges[k] = _number(fields[4], line)
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{where}: coordinates must be finite")
    frequencies = np.array([_number(t, f"{where} line {n + 3}") for t in lines[n + 2].split()], dtype=np.float64)
    smiles = lines[n + 3].split()
    inchi = lines[n + 4].split()
    if not smiles or not inchi or not inchi[0].startswith("InChI="):
        raise ValueError(f"{where} lines {n + 4}-{n + 5}: expected the SMILES line and the InChI line, got "
                         f"{lines[n + 3][:60]!r} and {lines[n + 4][:60]!r}")
    return QM9XYZRecord(index=int(head[1]), z=z, pos=pos, charges=charges, labels=labels, frequencies=frequencies,
                        smiles=smiles[0], smiles_relaxed=smiles[-1], inchi=inchi[0], inchi_relaxed=inchi[-1])


def _iter_texts(source: Path, wanted: set[str] | None) -> Iterator[tuple[str, str]]:
    """``(file name, text)`` of the release files in a folder or a tar archive (only ``wanted`` names if given)."""
    if source.is_dir():
        if wanted is not None:
            names = sorted(n for n in wanted if (source / n).is_file())
        else:
            names = sorted(p.name for p in source.glob("dsgdb9nsd_*.xyz"))
        for file_name in names:
            yield file_name, (source / file_name).read_text(encoding="utf-8")
        return
    with tarfile.open(source, "r:*") as archive:
        for member in archive:
            file_name = Path(member.name).name
            if not member.isfile() or not _NAME_RE.fullmatch(file_name):
                continue
            if wanted is not None and file_name not in wanted:
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                yield file_name, handle.read().decode("utf-8")


def load_qm9_xyz(source: str | os.PathLike[str], mol_ids: Sequence[str] | None = None, *, center: bool = True,
                 progress: bool = True) -> ConformerSet:
    """QM9 molecules with their DFT geometries and labels from the original release files.

    Args:
        source: a folder of ``dsgdb9nsd_NNNNNN.xyz`` files, or the release's archive (``.tar.bz2``, any tar).
        mol_ids: ``"gdb_<N>"`` identifiers to load, in the order wanted (default: every file, by number); those
            without a file are left out and listed in ``info["missing"]``.
        center: translate each molecule so that its atom centroid is at the origin.
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        A :class:`ConformerSet` laid out like :func:`~workbench.data.qm9.load_qm9_dft`'s (``smiles``: the GDB-17
        SMILES); ``info`` holds ``source`` (``"qm9 xyz"``), ``path``, ``requested`` and ``missing``.

    Raises:
        FileNotFoundError: ``source`` does not exist, or holds no release file.
        ValueError: a file is malformed (file, line and expectation named) or its ``gdb N`` disagrees with its name.
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"QM9 xyz source {path} does not exist; pass a folder of dsgdb9nsd_NNNNNN.xyz files "
                                "or the release's .tar.bz2")
    if not path.is_dir() and not tarfile.is_tarfile(path):
        raise ValueError(f"{path} is neither a folder nor a tar archive of QM9 .xyz files")
    wanted_ids = None if mol_ids is None else parse_mol_ids(mol_ids)
    wanted = None if wanted_ids is None else {qm9_xyz_name(i) for i in wanted_ids.tolist()}
    records: dict[int, QM9XYZRecord] = {}
    total = None if wanted is None else len(wanted)
    for file_name, text in tqdm(_iter_texts(path, wanted), total=total, desc="QM9 xyz", disable=not progress):
        record = read_qm9_xyz(text, name=f"{path}:{file_name}")
        if int(_NAME_RE.fullmatch(file_name).group(1)) != record.index:
            raise ValueError(f"{path}:{file_name} line 2 says 'gdb {record.index}', which disagrees with its name")
        records[record.index] = record
    if not records:
        raise FileNotFoundError(f"{path} holds no QM9 file named dsgdb9nsd_NNNNNN.xyz"
                                + ("" if wanted is None else " among the requested molecules"))
    order = sorted(records) if wanted_ids is None else [i for i in wanted_ids.tolist() if i in records]
    missing = {} if wanted_ids is None else {f"gdb_{i}": f"no {qm9_xyz_name(i)} in {path}"
                                             for i in wanted_ids.tolist() if i not in records}
    chosen = [records[i] for i in order]
    labels = {name: np.array([r.labels[name] for r in chosen]) for name in QM9PACK_COLUMNS}
    info = {"source": "qm9 xyz", "path": str(path), "requested": len(chosen) + len(missing), "missing": missing}
    return assemble_conformers(np.array(order), [r.smiles for r in chosen], np.array([len(r.z) for r in chosen]),
                               np.concatenate([r.z for r in chosen]), np.concatenate([r.pos for r in chosen]),
                               labels, center=center, info=info)

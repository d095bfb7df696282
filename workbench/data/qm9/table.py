"""The QM9 label table: one CSV row per molecule (``mol_id``, ``smiles`` and the columns of :data:`QM9_TARGETS`).

The labels are the QM9 DFT (B3LYP/6-31G(2df,p)) properties of Ramakrishnan et al., Sci. Data 1, 140022 (2014).
Where the CSV is found (argument, ``$WORKBENCH_QM9_CSV``, ``shared/data/qm9_small.csv`` searched upwards):
:mod:`workbench.data.qm9.paths`. The shared ``qm9_small.csv`` is a random subset of 14,862 rows = 14,715
distinct molecules; any CSV with the same columns works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.qm9.paths import find_qm9_csv
from workbench.data.qm9.units import QM9_TARGETS

__all__ = ["ID_COLUMNS", "load_qm9_table"]

#: The identifier columns every QM9 table has besides the targets.
ID_COLUMNS: tuple[str, str] = ("mol_id", "smiles")

def load_qm9_table(path: str | Path | None = None, *, drop_duplicates: bool = True) -> pd.DataFrame:
    """Read the QM9 label table (``mol_id``, ``smiles`` and the columns of :data:`QM9_TARGETS`).

    Args:
        path: a CSV with those columns (an unnamed leading index column is allowed and dropped); default
            ``$WORKBENCH_QM9_CSV``, else :data:`DEFAULT_QM9_CSV` searched upwards (:func:`find_qm9_csv`).
        drop_duplicates: drop repeated ``mol_id`` rows, keeping the first. The shared subset lists 147 molecules
            twice; keeping both copies would let one molecule sit in the training and the test split at once.

    Returns:
        A ``pandas.DataFrame`` with a fresh ``0..M-1`` index, ``mol_id`` and ``smiles`` (str) and float64
        targets. ``df.attrs`` holds ``source`` (the path) and ``n_duplicates_dropped``.

    Raises:
        FileNotFoundError: the file is missing; the message names the expected path, the three ways to give it,
            the shipped subset and the public QM9 URL.
        ValueError: columns are missing, a target is not numeric or not finite, or the table is empty.
    """
    csv = find_qm9_csv(path)
    table = pd.read_csv(csv)
    unnamed = [c for c in table.columns if str(c).startswith("Unnamed")]
    table = table.drop(columns=unnamed)
    missing = [c for c in (*ID_COLUMNS, *QM9_TARGETS) if c not in table.columns]
    if missing:
        raise ValueError(f"{csv} lacks column(s) {missing}; expected mol_id, smiles, {', '.join(QM9_TARGETS)}")
    table = table[[*ID_COLUMNS, *QM9_TARGETS]].copy()
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

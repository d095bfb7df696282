"""Where the QM9 files are: the label CSV (argument, environment variable or a search upwards) and the shipped
conformer folder.

The QM9 CSV is found, in this order (:func:`find_qm9_csv`):

1. the ``path`` argument of the function that reads it (``load_qm9_table(path)``, ``build_qm9_subset(csv_path=)``,
   ``run_qm9(data_path=)``);
2. the environment variable ``WORKBENCH_QM9_CSV`` (:data:`QM9_CSV_ENV`);
3. ``shared/data/qm9_small.csv`` (:data:`DEFAULT_QM9_CSV`) in the current working directory or the nearest of its
   parents that has it, the way git finds ``.git``: run from a checkout next to ``shared/`` (or inside it) and
   ``../shared/data/qm9_small.csv`` is found.

A missing file raises FileNotFoundError naming all three ways. Nothing is ever downloaded.

The shipped subset (:data:`DEFAULT_QM9_DIR`) is ``data/qm9`` of the source tree this package belongs to.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.data.qm9.units import QM9_PUBLIC_URL, QM9_TARGETS

__all__ = ["DEFAULT_QM9_CSV", "DEFAULT_QM9_DIR", "QM9_CSV_ENV", "find_qm9_csv"]

#: Environment variable naming the QM9 CSV when no path is passed.
QM9_CSV_ENV: str = "WORKBENCH_QM9_CSV"

#: Relative path searched from the current directory upwards when neither a path nor :data:`QM9_CSV_ENV` is given.
DEFAULT_QM9_CSV: Path = Path("shared") / "data" / "qm9_small.csv"

#: The subset shipped with the workbench: ``data/qm9`` of the source tree (``workbench/`` sits beside ``data/``).
DEFAULT_QM9_DIR: Path = Path(__file__).resolve().parents[3] / "data" / "qm9"


def find_qm9_csv(path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None) -> Path:
    """The QM9 CSV to read: ``path`` if given, else ``$WORKBENCH_QM9_CSV``, else :data:`DEFAULT_QM9_CSV` searched
    in ``start`` (default: the current directory) and its parents.

    Returns:
        The path of an existing file (``path`` and the environment variable are returned as given, ``~`` expanded).

    Raises:
        FileNotFoundError: the file is missing; the message names the three ways to give it, the shipped subset
            (which needs no CSV) and the public QM9 URL.
    """
    env = os.environ.get(QM9_CSV_ENV, "")
    if path is not None and str(path):
        csv, how = Path(path).expanduser(), "the path argument"
    elif env:
        csv, how = Path(env).expanduser(), f"${QM9_CSV_ENV}"
    else:
        here = Path(start) if start is not None else Path.cwd()
        here = here.resolve()
        for folder in (here, *here.parents):
            if (folder / DEFAULT_QM9_CSV).is_file():
                return folder / DEFAULT_QM9_CSV
        csv, how = here / DEFAULT_QM9_CSV, f"a search for {DEFAULT_QM9_CSV} from {here} upwards"
    if csv.is_file():
        return csv
    raise FileNotFoundError(
        f"QM9 table not found at {csv} (from {how}; expected a CSV with columns mol_id, smiles, "
        f"{', '.join(QM9_TARGETS)}). Give it in one of three ways: pass path=<your qm9 csv>; or set the environment "
        f"variable {QM9_CSV_ENV}=<your qm9 csv>; or place it at {DEFAULT_QM9_CSV} in the working directory or one of "
        f"its parents. Or use the subset shipped with the workbench in {DEFAULT_QM9_DIR} (QM9Dataset() loads it "
        f"without RDKit). Users who are online can download QM9 from {QM9_PUBLIC_URL}; the workbench never "
        "downloads it by itself."
    )

"""Disk cache for Clebsch-Gordan tables (numpy ``.npz``), written atomically.

Location: ``$WORKBENCH_CACHE/cg/`` when the environment variable is set, else
``~/.cache/equivariant-workbench/cg/``.  Setting ``WORKBENCH_CACHE`` to ``off`` (or ``0``, ``none``,
``disabled``) disables the disk cache.  The key of a table is its group name, its irrep labels and
``__version__``; the file name is a hash of the key and the key is stored inside the file and
checked on load, so a version change never reads an old table.  An unreadable or corrupted file is ignored
(the table is recomputed and the file rewritten).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from workbench import version

__all__ = ["cache_directory", "cache_key", "cache_root", "load_array", "save_array"]

_DISABLED = {"off", "0", "none", "disable", "disabled", "false", "no"}


def cache_root() -> Path | None:
    """Root of every workbench disk cache: ``$WORKBENCH_CACHE`` when set, else ``~/.cache/equivariant-workbench``;
    None when disabled (``WORKBENCH_CACHE=off``). Clebsch-Gordan tables go to ``<root>/cg``, QM9 conformers built
    from a CSV to ``<root>/qm9``."""
    env = os.environ.get("WORKBENCH_CACHE")
    if env is not None:
        if env.strip().lower() in _DISABLED or not env.strip():
            return None
        return Path(env).expanduser()
    return Path.home() / ".cache" / "equivariant-workbench"


def cache_directory() -> Path | None:
    """Directory of the Clebsch-Gordan disk cache (``<cache_root()>/cg``), or None when disabled."""
    root = cache_root()
    return None if root is None else root / "cg"


def cache_key(*parts: str) -> str:
    """Key string ``part|part|...|workbench-<version>``."""
    return "|".join([*parts, f"workbench-{version.__version__}"])


def _path_for(key: str, directory: Path) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return directory / f"{digest}.npz"


def load_array(key: str) -> np.ndarray | None:
    """The array stored under ``key``, or None (cache disabled, missing, other key, corrupted)."""
    directory = cache_directory()
    if directory is None:
        return None
    path = _path_for(key, directory)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return np.array(data["value"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def save_array(key: str, value: np.ndarray) -> Path | None:
    """Store ``value`` under ``key`` (atomic rename); returns the file path, or None when disabled/failed."""
    directory = cache_directory()
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = _path_for(key, directory)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, key=np.array(key), value=value)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path
    except OSError:
        return None

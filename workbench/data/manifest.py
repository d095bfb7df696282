"""Dataset manifests: ``manifest.json`` beside the files a builder wrote, with each file's sha256.

Every shipped dataset under ``data/`` has one (builder, versions, seed, method, counts, ``files``). Loaders read
files through :func:`read_verified_file`, so a modified or truncated file is refused with a message that says how
to rebuild it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MANIFEST_NAME", "read_manifest", "read_verified_npz", "sha256_bytes", "sha256_file", "read_verified_file",
           "write_npz_reproducible"]

MANIFEST_NAME = "manifest.json"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``folder``; it must hold a ``files`` mapping (name -> entry)."""
    path = Path(folder) / MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{path} has no 'files' mapping")
    return manifest


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    return sha256_bytes(Path(path).read_bytes())


def write_npz_reproducible(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``numpy.savez_compressed`` (no pickles) but with a fixed timestamp per member, so equal arrays give
    byte-identical files (and equal sha256 in the manifest)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def read_verified_file(folder: str | Path, entry: dict[str, Any], rebuild_hint: str, verify: bool = True) -> bytes:
    """Bytes of the manifest ``entry`` (``{"file": ..., "sha256": ...}``) in ``folder``, checked against its sha256.

    ``rebuild_hint`` completes the error messages (e.g. ``"rebuild with build_molecules()"``).
    """
    path = Path(folder) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is listed in the manifest but missing; {rebuild_hint}")
    data = path.read_bytes()
    if verify:
        digest = sha256_bytes(data)
        if digest != entry["sha256"]:
            raise ValueError(
                f"{path} does not match its manifest sha256 (expected {entry['sha256']}, got {digest}); "
                f"the file was modified: restore it or {rebuild_hint}"
            )
    return data


def read_verified_npz(folder: str | Path, name: str, missing_hint: str, rebuild_hint: str, verify: bool = True
                      ) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
    """``(manifest, arrays, entry)`` of the npz ``name`` listed in ``folder/manifest.json``, checked against its sha256.

    ``missing_hint`` completes the error for a folder without a manifest (where the data come from), ``rebuild_hint``
    the errors about the file itself. Raises FileNotFoundError (no manifest or no file) or ValueError (not listed,
    modified file).
    """
    folder = Path(folder)
    if not (folder / MANIFEST_NAME).is_file():
        raise FileNotFoundError(f"no {MANIFEST_NAME} in {folder}; {missing_hint}")
    manifest = read_manifest(folder)
    entry = manifest["files"].get(name)
    if entry is None:
        raise ValueError(f"{folder / MANIFEST_NAME} does not list {name}")
    data = read_verified_file(folder, entry, rebuild_hint, verify)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return manifest, arrays, entry

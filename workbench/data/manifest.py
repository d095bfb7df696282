"""Dataset manifests: ``manifest.json`` beside the files a builder wrote, with each file's sha256.

Every shipped dataset under ``data/`` has one (builder, versions, seed, method, counts, ``files``). Loaders read
files through :func:`read_verified_file`, so a modified or truncated file is refused with a message that says how
to rebuild it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "read_manifest", "sha256_bytes", "read_verified_file"]

MANIFEST_NAME = "manifest.json"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``folder``; it must hold a ``files`` mapping (name -> entry)."""
    path = Path(folder) / MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{path} has no 'files' mapping")
    return manifest


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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

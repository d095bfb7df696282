"""Fixed train/val/test splits of ``range(n)``, optionally saved to JSON so a run never sees another split.

:func:`fixed_split` is dataset-agnostic: QM9, shapes or any indexed dataset call it with their length.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["fixed_split", "check_split"]


def fixed_split(
    n: int,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    path: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """A train/val/test split of ``range(n)``, optionally saved to and reloaded from JSON so it never drifts.

    The indices are ``numpy.random.default_rng(seed).permutation(n)`` cut at ``floor(cumsum(fractions) * n)``
    (the test part takes the rest). With ``path``: if the file exists, it is loaded and must have been made with
    the same ``n``, ``seed`` and ``fractions`` (else ValueError); otherwise the split is computed and written.

    Returns:
        ``{"train": [n_train], "val": [n_val], "test": [n_test]}`` sorted int64 index arrays (disjoint, covering
        ``range(n)``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 3:
        raise ValueError(f"n must be an int >= 3, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    fr = [float(f) for f in fractions]
    if len(fr) != 3 or any(not math.isfinite(f) or f <= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers (train, val, test) summing to 1, got {fractions}")
    record = {"n": n, "seed": seed, "fractions": fr}
    if path is not None and Path(path).is_file():
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in record} != record:
            raise ValueError(
                f"split file {path} was made with {({k: saved.get(k) for k in record})}, not {record}; "
                "delete it or pass another path"
            )
        split = {k: np.asarray(saved[k], dtype=np.int64) for k in ("train", "val", "test")}
        check_split(split, n, str(path))
        return split
    perm = np.random.default_rng(seed).permutation(n)
    cut1 = int(math.floor(fr[0] * n))
    cut2 = int(math.floor((fr[0] + fr[1]) * n))
    split = {"train": np.sort(perm[:cut1]), "val": np.sort(perm[cut1:cut2]), "test": np.sort(perm[cut2:])}
    empty = [k for k, v in split.items() if v.size == 0]
    if empty:
        raise ValueError(f"fractions {fr} leave the {empty} part(s) of n = {n} molecules empty")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        payload = {**record, **{k: v.tolist() for k, v in split.items()}}
        Path(path).write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return split


def check_split(split: Mapping[str, np.ndarray], n: int, where: str = "split") -> None:
    """Raise ValueError unless ``split["train"], split["val"], split["test"]`` partition ``range(n)``;
    ``where`` names the split's origin (e.g. its file) in the message."""
    joined = np.concatenate([split["train"], split["val"], split["test"]])
    if joined.size != n or not np.array_equal(np.sort(joined), np.arange(n)):
        raise ValueError(f"split in {where} is not a partition of range({n})")

"""Integer partitions as irrep labels (Young diagrams) for SO(d), O(d) and Sp(2n)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_partition"]


def as_partition(label: Any) -> tuple[int, ...] | None:
    """``label`` as a partition (non-increasing positive ints, trailing zeros dropped), or ``None`` if it is not a
    sequence of integers. Negative entries or an increasing sequence raise ``ValueError``."""
    if not isinstance(label, (tuple, list)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in label
    ):
        return None
    part = tuple(int(v) for v in label)
    if any(v < 0 for v in part):
        raise ValueError(f"partition entries must be >= 0, got {label!r}")
    part = tuple(v for v in part if v > 0)
    if list(part) != sorted(part, reverse=True):
        raise ValueError(f"a partition must be non-increasing, got {label!r}")
    return part

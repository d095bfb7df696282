"""One checker for tensor arguments: shape, dtype kind and finiteness, with one wording for every error.

Every public function of ``workbench`` that takes tensors validates them through :func:`check_tensor`, so a user
sees the same message everywhere::

    pos must have shape [N, 3], got (5, 2)
    pos must be a floating-point tensor, got torch.int64
    pos must be finite: NaN or inf at index(es) [3]

A shape is a sequence whose entries are an ``int`` (that size exactly), ``None`` or a string (any size; the string
names the axis in the message, e.g. ``"N"``), or ``...`` once (any number of leading/trailing axes).  A string used
twice in one shape must take the same size both times.

This module sits below every other package of ``workbench`` (it imports only torch) so any layer may use it.

Examples:
    >>> import torch
    >>> from workbench.checks import check_tensor
    >>> check_tensor(torch.zeros(4, 3), "pos", shape=("N", 3), dtype="float").shape
    torch.Size([4, 3])
    >>> check_tensor(torch.zeros(4, 2), "pos", shape=("N", 3))
    Traceback (most recent call last):
    ...
    ValueError: pos must have shape [N, 3], got (4, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["check_tensor", "shape_text"]

_KINDS = {
    "float": (torch.Tensor.is_floating_point, "a floating-point tensor"),
    "complex": (torch.Tensor.is_complex, "a complex tensor"),
    "int": (lambda t: not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool), "an integer tensor"),
    "bool": (lambda t: t.dtype == torch.bool, "a boolean tensor"),
    "real_or_complex": (lambda t: t.is_floating_point() or t.is_complex(), "a floating-point or complex tensor"),
}


def shape_text(shape: Sequence[Any]) -> str:
    """The expected shape as written in messages: ``("N", 3)`` -> ``"[N, 3]"``, ``(..., 4)`` -> ``"[..., 4]"``."""
    return "[" + ", ".join("..." if s is Ellipsis else "*" if s is None else str(s) for s in shape) + "]"


def _shape_matches(actual: tuple[int, ...], shape: Sequence[Any]) -> bool:
    if sum(s is Ellipsis for s in shape) > 1:
        raise ValueError(f"shape {shape_text(shape)}: at most one '...'")
    if Ellipsis in shape:
        i = list(shape).index(Ellipsis)
        head, tail = list(shape[:i]), list(shape[i + 1 :])
        if len(actual) < len(head) + len(tail):
            return False
        pairs = list(zip(head, actual[: len(head)])) + list(zip(tail, actual[len(actual) - len(tail) :]))
    else:
        if len(actual) != len(shape):
            return False
        pairs = list(zip(shape, actual))
    named: dict[str, int] = {}
    for want, got in pairs:
        if isinstance(want, bool) or not (want is None or isinstance(want, (int, str))):
            raise TypeError(f"shape entries must be int, str, None or ..., got {want!r}")
        if isinstance(want, int) and want != got:
            return False
        if isinstance(want, str) and named.setdefault(want, got) != got:
            return False
    return True


def check_tensor(
    x: Any,
    name: str,
    *,
    shape: Sequence[Any] | None = None,
    dtype: str | torch.dtype | None = None,
    finite: bool = False,
    hint: str = "",
) -> torch.Tensor:
    """Validate a tensor argument and return it unchanged.

    Args:
        x: the argument; anything but a ``torch.Tensor`` raises ``TypeError``.
        name: the argument's name, used in the message.
        shape: expected shape (see module doc); a mismatch raises ``ValueError`` "NAME must have shape [..]".
        dtype: ``"float"``, ``"complex"``, ``"real_or_complex"``, ``"int"``, ``"bool"`` or an exact
            ``torch.dtype``; a mismatch raises ``TypeError``.
        finite: if True, NaN or inf raises ``ValueError`` naming the first offending indices along axis 0.
        hint: appended to the shape message in parentheses (e.g. the irreps, or the axis meaning).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if shape is not None and not _shape_matches(tuple(x.shape), shape):
        extra = f" ({hint})" if hint else ""
        raise ValueError(f"{name} must have shape {shape_text(shape)}{extra}, got {tuple(x.shape)}")
    if dtype is not None:
        if isinstance(dtype, torch.dtype):
            if x.dtype != dtype:
                raise TypeError(f"{name} must have dtype {dtype}, got {x.dtype}")
        else:
            if dtype not in _KINDS:
                raise ValueError(f"dtype must be one of {sorted(_KINDS)} or a torch.dtype, got {dtype!r}")
            test, words = _KINDS[dtype]
            if not test(x):
                raise TypeError(f"{name} must be {words}, got {x.dtype}")
    if finite and (x.is_floating_point() or x.is_complex()):
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            rows = bad.reshape(bad.shape[0], -1).any(dim=1) if bad.dim() > 0 else bad.reshape(1)
            where = torch.nonzero(rows).flatten()[:10].tolist()
            raise ValueError(f"{name} must be finite: NaN or inf at index(es) {where}")
    return x

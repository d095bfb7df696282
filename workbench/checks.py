"""One checker for tensor arguments: shape, dtype kind and finiteness, with one wording for every error.

Every public function of ``workbench`` that takes tensors validates them through :func:`check_tensor`, so a user
sees the same message everywhere::

    pos must have shape [N, 3], got (5, 2)
    pos must be a floating-point tensor, got torch.int64
    pos must be finite: NaN or inf at index(es) [3]

:func:`check_array` gives the same checks and wording for numpy arrays (data files, tables, group matrices).

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

import numpy as np
import torch

__all__ = ["check_array", "check_tensor", "shape_text"]

_KINDS = {
    "float": (torch.Tensor.is_floating_point, "a floating-point tensor"),
    "complex": (torch.Tensor.is_complex, "a complex tensor"),
    "int": (lambda t: not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool), "an integer tensor"),
    "bool": (lambda t: t.dtype == torch.bool, "a boolean tensor"),
    "real_or_complex": (lambda t: t.is_floating_point() or t.is_complex(), "a floating-point or complex tensor"),
}

_ARRAY_KINDS = {
    "float": (lambda a: np.issubdtype(a.dtype, np.floating), "a floating-point array"),
    "complex": (lambda a: np.issubdtype(a.dtype, np.complexfloating), "a complex array"),
    "int": (lambda a: np.issubdtype(a.dtype, np.integer), "an integer array"),
    "bool": (lambda a: a.dtype == np.bool_, "a boolean array"),
    "real_or_complex": (lambda a: np.issubdtype(a.dtype, np.inexact), "a floating-point or complex array"),
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
        if isinstance(want, bool) or not (want is None or isinstance(want, (int, str, torch.SymInt))):
            raise TypeError(f"shape entries must be int, str, None or ..., got {want!r}")
        if isinstance(want, (int, torch.SymInt)) and want != got:
            return False
        if isinstance(want, str) and named.setdefault(want, got) != got:
            return False
    return True


def _check_shape(actual: tuple[int, ...], name: str, shape: Sequence[Any] | None, hint: object) -> None:
    if shape is not None and not _shape_matches(actual, shape):
        text = "" if hint is None else str(hint)
        extra = f" ({text})" if text else ""
        raise ValueError(f"{name} must have shape {shape_text(shape)}{extra}, got {actual}")


def _dtype_words(dtype: Any) -> str:
    return " or ".join(str(d) for d in dtype) if isinstance(dtype, (tuple, list, set, frozenset)) else str(dtype)


def _check_exact_dtype(actual: Any, name: str, dtype: Any) -> None:
    allowed = tuple(dtype) if isinstance(dtype, (tuple, list, set, frozenset)) else (dtype,)
    if actual not in allowed:
        raise TypeError(f"{name} must have dtype {_dtype_words(dtype)}, got {actual}")


def _check_kind(x: Any, name: str, kind: str, kinds: dict) -> None:
    if kind not in kinds:
        raise ValueError(f"dtype must be one of {sorted(kinds)} or an exact dtype, got {kind!r}")
    test, words = kinds[kind]
    if not test(x):
        raise TypeError(f"{name} must be {words}, got {x.dtype}")


def _raise_not_finite(name: str, bad_rows: list[int]) -> None:
    raise ValueError(f"{name} must be finite: NaN or inf at index(es) {bad_rows[:10]}")


def check_tensor(
    x: Any,
    name: str,
    *,
    shape: Sequence[Any] | None = None,
    dtype: str | torch.dtype | Sequence[torch.dtype] | None = None,
    finite: bool = False,
    hint: object = "",
) -> torch.Tensor:
    """Validate a tensor argument and return it unchanged.

    Args:
        x: the argument; anything but a ``torch.Tensor`` raises ``TypeError``.
        name: the argument's name, used in the message.
        shape: expected shape (see module doc); a mismatch raises ``ValueError`` "NAME must have shape [..]".
        dtype: ``"float"``, ``"complex"``, ``"real_or_complex"``, ``"int"``, ``"bool"``, an exact
            ``torch.dtype`` or a tuple of allowed ``torch.dtype``; a mismatch raises ``TypeError``.
        finite: if True, NaN or inf raises ``ValueError`` naming the first offending indices along axis 0.
        hint: appended to the shape message in parentheses (e.g. the irreps, or the axis meaning); any object,
            turned into text only when the check fails (pass ``irreps`` itself, not ``str(irreps)``, in a
            ``forward`` so that ``torch.compile`` traces nothing but the shape test).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    _check_shape(tuple(x.shape), name, shape, hint)
    if dtype is not None:
        if isinstance(dtype, str):
            _check_kind(x, name, dtype, _KINDS)
        else:
            _check_exact_dtype(x.dtype, name, dtype)
    if finite and (x.is_floating_point() or x.is_complex()):
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            rows = bad.reshape(bad.shape[0], -1).any(dim=1) if bad.dim() > 0 else bad.reshape(1)
            _raise_not_finite(name, torch.nonzero(rows).flatten()[:10].tolist())
    return x


def check_array(
    x: Any,
    name: str,
    *,
    shape: Sequence[Any] | None = None,
    dtype: str | np.dtype | type | Sequence[Any] | None = None,
    finite: bool = False,
    hint: object = "",
) -> np.ndarray:
    """:func:`check_tensor` for a ``numpy.ndarray``: same arguments, same messages ("array" for "tensor").

    Convert first (``np.asarray(value, dtype=...)``) where the caller accepts lists; anything but an ``ndarray``
    raises ``TypeError``.  An exact ``dtype`` is anything ``np.dtype`` accepts (or a tuple of them).

    Examples:
        >>> import numpy as np
        >>> check_array(np.zeros((2, 3)), "positions", shape=("N", 3), finite=True).shape
        (2, 3)
        >>> check_array(np.array([[0.0, np.nan, 0.0]]), "positions", finite=True)
        Traceback (most recent call last):
        ...
        ValueError: positions must be finite: NaN or inf at index(es) [0]
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    _check_shape(tuple(x.shape), name, shape, hint)
    if dtype is not None:
        if isinstance(dtype, str):
            _check_kind(x, name, dtype, _ARRAY_KINDS)
        elif isinstance(dtype, (tuple, list, set, frozenset)):
            _check_exact_dtype(x.dtype, name, tuple(np.dtype(d) for d in dtype))
        else:
            _check_exact_dtype(x.dtype, name, np.dtype(dtype))
    if finite and np.issubdtype(x.dtype, np.inexact):
        bad = ~np.isfinite(x)
        if bad.any():
            rows = bad.reshape(bad.shape[0], -1).any(axis=1) if bad.ndim > 0 else bad.reshape(1)
            _raise_not_finite(name, np.flatnonzero(rows)[:10].tolist())
    return x

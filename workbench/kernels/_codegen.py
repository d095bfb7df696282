"""Turning generated kernel source into Triton kernels, and small helpers for writing that source.

Kernels are specialised per irreps configuration: the Clebsch-Gordan non-zeros and every offset are written into
the source as literals, so the compiler sees straight-line code. The source is registered in ``linecache`` (so
``inspect.getsource`` works, which Triton's JIT and interpreter both need) and executed once; the resulting
function is wrapped with ``triton.jit`` at first use. The cache key includes whether the interpreter is on,
because ``triton.jit`` decides between compiled and interpreted execution when it wraps the function.
"""

from __future__ import annotations

import hashlib
import linecache
from typing import Any

import torch

from .dispatch import interpreter_enabled

_KERNELS: dict[tuple[str, str, bool], Any] = {}


def compile_kernel(source: str, name: str) -> Any:
    """Return the ``triton.jit`` kernel ``name`` defined in ``source`` (cached per source and interpreter mode)."""
    key = (source, name, interpreter_enabled())
    kernel = _KERNELS.get(key)
    if kernel is not None:
        return kernel
    import triton  # imported lazily: the torch backend never needs it

    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    filename = f"<workbench-kernel-{name}-{digest}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), _kernel_globals(), namespace)  # noqa: S102 - our own generated code
    fn = namespace[name]
    fn.__module__ = __name__
    kernel = triton.jit(fn)
    _KERNELS[key] = kernel
    return kernel


def _kernel_globals() -> dict[str, Any]:
    import triton  # optional heavy dependency (the gpu extra); only kernel compilation needs it
    import triton.language as tl  # same reason

    return {"triton": triton, "tl": tl, "__name__": __name__}


def literal(value: float) -> str:
    """A float as a source literal with full float64 precision."""
    return repr(float(value))


def tl_dtype(dtype: Any) -> str:
    """``torch.float32`` -> ``"tl.float32"`` (only float32 and float64 kernels are generated)."""
    if dtype == torch.float32:
        return "tl.float32"
    if dtype == torch.float64:
        return "tl.float64"
    raise TypeError(f"Triton kernels support float32 and float64 tensors, got {dtype}")


def next_power_of_2(n: int) -> int:
    """Smallest power of two >= max(n, 1)."""
    p = 1
    while p < n:
        p *= 2
    return p


class Source:
    """A tiny indented-source builder."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def __call__(self, line: str = "") -> None:
        self.lines.append("    " * self.level + line if line else "")

    def indent(self) -> None:
        self.level += 1

    def dedent(self) -> None:
        self.level -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

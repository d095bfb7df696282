"""Backend selection for the kernels: ``"auto"`` | ``"triton"`` | ``"torch"``.

- ``"torch"``: the pure-torch reference implementation (same maths, any device, fully differentiable).
- ``"triton"``: the Triton kernels. They run on CUDA tensors, or on CPU tensors when Triton's interpreter is
  switched on (environment variable ``TRITON_INTERPRET=1``, which must be set before ``triton`` is first
  imported; this is how the test suite checks the kernels without a GPU). Asking for ``"triton"`` anywhere
  else raises a clear error.
- ``"auto"``: ``"triton"`` on a CUDA device when Triton is importable, ``"torch"`` otherwise (never the slow
  interpreter).

Both backends give the same numbers up to floating-point summation order.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from functools import lru_cache

import torch

BACKENDS = ("auto", "triton", "torch")


@lru_cache(maxsize=1)
def _triton_importable() -> bool:
    return importlib.util.find_spec("triton") is not None


def interpreter_enabled() -> bool:
    """True when ``TRITON_INTERPRET`` is set to a true value (Triton then runs kernels on the CPU, slowly)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


def interpreter_usable() -> bool:
    """True when the interpreter is on and Triton's language library was (or will be) imported in that mode.

    Triton builds its library functions (``tl.sum``, ...) for the interpreter only if ``TRITON_INTERPRET`` is set
    when ``triton.language`` is first imported (other libraries, e.g. e3nn via torch, may import it early).
    """
    if not interpreter_enabled():
        return False
    standard = sys.modules.get("triton.language.standard")
    return standard is None or type(standard.sum).__name__ == "InterpretedFunction"


def _as_device(device: torch.device | str | torch.Tensor) -> torch.device:
    if isinstance(device, torch.Tensor):
        return device.device
    if isinstance(device, (str, torch.device)):
        return torch.device(device)
    raise TypeError(f"device must be a torch.device, a device string or a tensor, got {type(device).__name__}")


def triton_available(device: torch.device | str | torch.Tensor) -> bool:
    """Whether the Triton kernels can run on ``device`` (a device, a device string or a tensor).

    True for a CUDA device when Triton is importable and CUDA is available; true for the CPU only when Triton is
    importable and its interpreter is switched on (``TRITON_INTERPRET=1``).
    """
    dev = _as_device(device)
    if not _triton_importable():
        return False
    if dev.type == "cuda":
        return torch.cuda.is_available()
    if dev.type == "cpu":
        return interpreter_usable()
    return False


def check_backend(backend: object) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else ``ValueError`` (layers call this at construction)."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def resolve_backend(backend: str, device: torch.device | str | torch.Tensor) -> str:
    """Resolve ``backend`` (``"auto"``, ``"triton"`` or ``"torch"``) to ``"triton"`` or ``"torch"`` for ``device``.

    ``"auto"`` picks ``"triton"`` only on CUDA with Triton importable (never the CPU interpreter). ``"triton"``
    raises ``RuntimeError`` where the kernels cannot run (no Triton, or a CPU tensor without ``TRITON_INTERPRET=1``).
    """
    check_backend(backend)
    dev = _as_device(device)
    if backend == "torch":
        return "torch"
    if backend == "auto":
        return "triton" if dev.type == "cuda" and triton_available(dev) else "torch"
    if triton_available(dev):
        return "triton"
    if not _triton_importable():
        raise RuntimeError("backend='triton' needs the 'triton' package (pip install triton); use backend='torch'")
    if dev.type == "cpu":
        raise RuntimeError(
            "backend='triton' on CPU tensors needs Triton's interpreter: set TRITON_INTERPRET=1 before triton is "
            "first imported (slow; meant for tests), move the tensors to CUDA, or use backend='torch'"
        )
    raise RuntimeError(f"backend='triton' cannot run on device {dev} (CUDA not available); use backend='torch'")

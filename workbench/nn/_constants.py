"""Constant tables (Clebsch-Gordan blocks, index maps) kept exact across dtype changes (internal)."""

from __future__ import annotations

import torch

__all__ = ["ConstantList", "ConstantsMixin"]


class ConstantsMixin(torch.nn.Module):
    """Registers constant tensors as non-persistent buffers and keeps a float64/complex128 master copy.

    ``module.float()`` followed by ``module.double()`` would otherwise leave float32-rounded tables in a float64
    module; here every floating buffer is re-derived from its exact master after each ``_apply``
    (``.to``, ``.double``, ``.cuda``...), so a float64 module always sees float64-exact tables.
    """

    def _init_constants(self) -> None:
        self._constant_masters: dict[str, torch.Tensor] = {}

    def register_constant(self, name: str, value: torch.Tensor) -> None:
        """Register ``value`` (any dtype) under ``name``; floating values are stored at the default dtype."""
        value = value.detach()
        self._constant_masters[name] = value
        if value.is_complex():
            dtype = torch.complex128 if torch.get_default_dtype() == torch.float64 else torch.complex64
            stored = value.to(dtype)
        elif value.is_floating_point():
            stored = value.to(torch.get_default_dtype())
        else:
            stored = value
        self.register_buffer(name, stored, persistent=False)

    def _apply(self, fn, recurse=True):  # type: ignore[override]
        masters = getattr(self, "_constant_masters", {})
        # complex tables are taken out of torch's cast (``.to(torch.float64)`` would drop their imaginary part and
        # ``.double()`` would leave them complex64) and re-derived below at the complex dtype matching the new one
        held = {n: self._buffers.pop(n) for n, m in masters.items() if m.is_complex() and n in self._buffers}
        try:
            result = super()._apply(fn, recurse) if recurse is not None else super()._apply(fn)
        finally:
            for name, current in held.items():
                p32 = fn(torch.zeros((), dtype=torch.float32, device=current.device))
                p64 = fn(torch.zeros((), dtype=torch.float64, device=current.device))
                if p32.dtype == torch.float32 and p64.dtype == torch.float64:  # a move, not a cast
                    dtype = current.dtype
                else:
                    dtype = torch.complex128 if p64.dtype == torch.float64 else torch.complex64
                self._buffers[name] = masters[name].to(device=p64.device, dtype=dtype)
        for name, master in masters.items():
            current = getattr(self, name)
            if not master.is_complex() and current.is_floating_point():
                setattr(self, name, master.to(device=current.device, dtype=current.dtype))
        return result


class ConstantList(ConstantsMixin):
    """An indexable list of constant tables (float64/complex128 masters kept exact, as :class:`ConstantsMixin`).

    ``tables[i]`` is the i-th table at the module's current device and dtype; the buffers are named ``"0"``,
    ``"1"``, ... and follow ``.to()``/``.double()`` with their parent module.
    """

    def __init__(self, values: list[torch.Tensor] | tuple[torch.Tensor, ...] = ()) -> None:
        super().__init__()
        self._init_constants()
        self._size = 0
        for value in values:
            self.append(value)

    def append(self, value: torch.Tensor) -> int:
        """Add ``value`` at the end; returns its index."""
        self.register_constant(str(self._size), value)
        self._size += 1
        return self._size - 1

    def master(self, index: int) -> torch.Tensor:
        """The exact (float64/complex128 or integer) master copy of table ``index``."""
        return self._constant_masters[str(index)]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> torch.Tensor:
        if not -self._size <= index < self._size:
            raise IndexError(f"table index {index} out of range for {self._size} tables")
        return self._buffers[str(index % self._size)]

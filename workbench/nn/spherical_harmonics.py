"""``SphericalHarmonics`` module: e3nn-convention real spherical harmonics of edge vectors (O(3))."""

from __future__ import annotations

from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.kernels import resolve_backend, spherical_harmonics
from workbench.kernels.dispatch import check_backend

__all__ = ["SphericalHarmonics"]


class SphericalHarmonics(torch.nn.Module):
    """``x [..., 3] -> Y(x) [..., irreps_out.dim]`` in the e3nn 0.6 basis (``workbench.groups.o3``).

    Args:
        irreps_out: an int ``lmax`` (all l <= lmax, parity (-1)^l), a list of l, or irreps like ``"0e+1o+2e"``.
        normalize: normalize ``x`` to the unit sphere first.
        normalization: ``"component"`` (default, as NequIP/MACE), ``"norm"`` or ``"integral"``.
        backend: ``"auto"`` (Triton kernel on CUDA when Triton is installed, torch otherwise), ``"triton"`` or
            ``"torch"``; same numbers either way (see :mod:`workbench.kernels.dispatch`). The kernel covers l <= 10.
    """

    def __init__(self, irreps_out: Any, normalize: bool = True, normalization: str = "component",
                 backend: str = "auto") -> None:
        super().__init__()
        if normalization not in ("component", "norm", "integral"):
            raise ValueError(f"normalization={normalization!r}; expected 'component', 'norm' or 'integral'")
        if isinstance(irreps_out, int):
            irreps_out = o3.Irreps.spherical_harmonics(irreps_out)
        elif isinstance(irreps_out, (list, tuple)) and all(isinstance(v, int) for v in irreps_out):
            irreps_out = o3.Irreps([(1, (l, (-1) ** l)) for l in irreps_out])
        self.irreps_in = o3.Irreps("1o")  # the edge vector (x, y, z)
        self.irreps_out = o3.Irreps(irreps_out)
        for mul, ir in self.irreps_out:
            if mul != 1 or ir.p != (-1) ** ir.l:
                raise ValueError(f"irreps_out={self.irreps_out}: spherical harmonics are 1x l with parity (-1)^l")
        check_backend(backend)
        if backend == "triton" and self.irreps_out.lmax > 10:
            raise ValueError(f"backend='triton' covers l <= 10, irreps_out={self.irreps_out}")
        self.normalize, self.normalization, self.backend = bool(normalize), normalization, backend
        self._sh = o3.SphericalHarmonics(self.irreps_out, self.normalize, self.normalization)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., 3))
        if x.numel() == 0:
            return x.new_zeros(x.shape[:-1] + (self.irreps_out.dim,))
        if self.backend != "torch" and self.irreps_out.lmax <= 10:
            if resolve_backend(self.backend, x) == "triton":
                check_tensor(x, "x", finite=self.normalize)
                flat = x.reshape(-1, 3)
                out = spherical_harmonics([ir.l for _, ir in self.irreps_out], flat, self.normalize,
                                          self.normalization, backend="triton")
                return out.reshape(x.shape[:-1] + (self.irreps_out.dim,))
        return self._sh(x)

"""``SphericalHarmonics`` module: e3nn-convention real spherical harmonics of edge vectors (O(3))."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["SphericalHarmonics"]


class SphericalHarmonics(torch.nn.Module):
    """``x [..., 3] -> Y(x) [..., irreps_out.dim]`` in the e3nn 0.6 basis (``workbench.groups.o3``).

    Args:
        irreps_out: an int ``lmax`` (all l <= lmax, parity (-1)^l), a list of l, or irreps like ``"0e+1o+2e"``.
        normalize: normalize ``x`` to the unit sphere first.
        normalization: ``"component"`` (default, as NequIP/MACE), ``"norm"`` or ``"integral"``.
    """

    def __init__(self, irreps_out: Any, normalize: bool = True, normalization: str = "component") -> None:
        super().__init__()
        from workbench.groups import o3

        if normalization not in ("component", "norm", "integral"):
            raise ValueError(f"normalization={normalization!r}; expected 'component', 'norm' or 'integral'")
        if isinstance(irreps_out, int):
            irreps_out = o3.Irreps.spherical_harmonics(irreps_out)
        elif isinstance(irreps_out, (list, tuple)) and all(isinstance(v, int) for v in irreps_out):
            irreps_out = o3.Irreps([(1, (l, (-1) ** l)) for l in irreps_out])
        self.irreps_out = o3.Irreps(irreps_out)
        for mul, ir in self.irreps_out:
            if mul != 1 or ir.p != (-1) ** ir.l:
                raise ValueError(f"irreps_out={self.irreps_out}: spherical harmonics are 1x l with parity (-1)^l")
        self.normalize, self.normalization = bool(normalize), normalization
        self._sh = o3.SphericalHarmonics(self.irreps_out, self.normalize, self.normalization)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.shape[-1:] != (3,):
            raise ValueError(f"x must be a tensor of shape [..., 3], got {getattr(x, 'shape', type(x))}")
        if x.numel() == 0:
            return x.new_zeros(x.shape[:-1] + (self.irreps_out.dim,))
        return self._sh(x)

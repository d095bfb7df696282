"""Equivariant point convolution (NequIP/MACE interaction): gather, channelwise tensor product, scatter.

For each edge ``j -> i`` with vector ``r_ij = pos[i] - pos[j] + shift``:

    m_ij = TP_uvu(x_j, Y(r_ij); w = RadialMLP(Bessel(|r_ij|) * cutoff(|r_ij|)))
    out_i = Linear( sum_j m_ij / avg_num_neighbors )

``Y`` are the spherical harmonics up to ``lmax`` (component normalization); the ``uvu`` tensor product keeps
every path ``ir_in x ir_sh -> ir_out`` whose ``ir_out`` occurs in ``irreps_out`` (NequIP's rule). The sum uses
``torch.Tensor.index_add`` (no torch-scatter). An empty edge set gives ``Linear(0)`` (zeros, or the biases).

``backend="triton"`` (or ``"auto"`` on CUDA with Triton installed) replaces gather + spherical harmonics + tensor
product + scatter by one fused kernel (:func:`workbench.kernels.fused_convolution`; ``deterministic=True`` uses the
sorted-receiver variant instead of atomics). Same numbers as the torch path up to summation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from workbench.nn.graph import check_edge_index
from workbench.nn.linear import Linear
from workbench.nn.radial import BesselBasis, PolynomialCutoff, RadialMLP
from workbench.nn.spherical_harmonics import SphericalHarmonics
from workbench.nn.tensor_product import TensorProduct

__all__ = ["EquivariantConvolution", "edge_tensor_product"]


def edge_tensor_product(irreps_in: Any, irreps_sh: Any, irreps_wanted: Any) -> TensorProduct:
    """The channelwise (``uvu``) product ``x_j (x) Y(r_ij)`` of a point convolution, with per-edge weights.

    Keeps every path ``ir_in x ir_sh -> ir`` whose ``ir`` occurs in ``irreps_wanted`` (NequIP's rule), one output
    segment per path (``irreps_out`` of the result; feed it to a :class:`Linear`). Shared by
    :class:`EquivariantConvolution` and the attention blocks of :mod:`workbench.models`.
    Raises ValueError when no path reaches ``irreps_wanted``.
    """
    from workbench.groups import o3

    irreps_in, irreps_sh = o3.Irreps(irreps_in), o3.Irreps(irreps_sh)
    wanted = {ir for _, ir in o3.Irreps(irreps_wanted)}
    mid, instructions = [], []
    for i1, (mul, ir1) in enumerate(irreps_in):
        for i2, (_, ir2) in enumerate(irreps_sh):
            for ir in ir1 * ir2:
                if ir in wanted:
                    instructions.append((i1, i2, len(mid), "uvu", True))
                    mid.append((mul, ir))
    if not instructions:
        raise ValueError(f"no path from {irreps_in} x {irreps_sh} reaches {o3.Irreps(irreps_wanted)}")
    return TensorProduct(irreps_in, irreps_sh, o3.Irreps(mid), instructions, shared_weights=False,
                         internal_weights=False)


class EquivariantConvolution(torch.nn.Module):
    """Equivariant convolution ``x [N, irreps_in.dim] -> [N, irreps_out.dim]`` over a graph (O(3)).

    Args:
        irreps_in, irreps_out: node feature irreps.
        lmax: maximum degree of the edge spherical harmonics.
        r_max: cutoff radius (Bessel basis and polynomial envelope).
        num_basis: number of Bessel functions.
        radial_hidden: hidden widths of the radial MLP.
        avg_num_neighbors: the message sum is divided by this number.
        backend: ``"auto"`` | ``"triton"`` | ``"torch"`` (module docstring).
        deterministic: with the Triton backend, sum messages in receiver order instead of with atomics.
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_out: Any,
        lmax: int = 3,
        r_max: float = 5.0,
        num_basis: int = 8,
        radial_hidden: Sequence[int] = (64,),
        avg_num_neighbors: float = 1.0,
        cutoff_p: int = 6,
        backend: str = "auto",
        deterministic: bool = False,
    ) -> None:
        super().__init__()
        from workbench.groups import o3
        from workbench.kernels.dispatch import check_backend

        check_backend(backend)
        self.backend, self.deterministic = backend, bool(deterministic)

        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.sh = SphericalHarmonics(int(lmax), normalize=True, normalization="component")
        self.irreps_sh = self.sh.irreps_out
        self.tp = edge_tensor_product(self.irreps_in, self.irreps_sh, self.irreps_out)
        self.irreps_mid = self.tp.irreps_out
        self.radial_basis = BesselBasis(r_max, num_basis, normalize=True)
        self.cutoff = PolynomialCutoff(r_max, cutoff_p)
        self.radial = RadialMLP([num_basis, *radial_hidden, self.tp.weight_numel])
        self.linear = Linear(self.irreps_mid, self.irreps_out)
        self.avg_num_neighbors = float(avg_num_neighbors)

    def _fused(self, x: torch.Tensor, vec: torch.Tensor, weights: torch.Tensor, edge_index: torch.Tensor):
        """Gather + spherical harmonics + uvu product + scatter in one Triton kernel, ``[N, irreps_mid.dim]``."""
        from workbench.kernels import fused_convolution

        return fused_convolution(x, vec, weights, edge_index, self.tp.kernel_spec(), normalize=True,
                                 normalization="component", deterministic=self.deterministic, backend="triton")

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor,
        edge_index: torch.Tensor,
        shifts: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x [N, irreps_in.dim]``, ``pos [N, 3]``, ``edge_index [2, E]`` (source -> target), optional
        ``shifts [E, 3]``; returns ``[N, irreps_out.dim]``."""
        if x.dim() != 2 or x.shape[-1] != self.irreps_in.dim:
            raise ValueError(f"x must have shape [N, {self.irreps_in.dim}] ({self.irreps_in}), got {tuple(x.shape)}")
        if pos.shape != (x.shape[0], 3):
            raise ValueError(f"pos must have shape [{x.shape[0]}, 3], got {tuple(pos.shape)}")
        compiling = torch.compiler.is_compiling()
        if not compiling:
            check_edge_index(edge_index, x.shape[0])
        src, dst = edge_index[0], edge_index[1]
        vec = pos.index_select(0, dst) - pos.index_select(0, src)
        if shifts is not None:
            if shifts.shape != vec.shape:
                raise ValueError(f"shifts must have shape {tuple(vec.shape)}, got {tuple(shifts.shape)}")
            vec = vec + shifts.to(vec.dtype)
        r = torch.linalg.norm(vec, dim=-1)
        if not compiling and vec.shape[0] and bool((r == 0).any()):
            raise ValueError("zero-length edge: two connected nodes sit at the same position")
        weights = self.radial(self.radial_basis(r) * self.cutoff(r)[:, None])
        if self.backend != "torch" and vec.shape[0]:
            from workbench.kernels import resolve_backend

            if resolve_backend(self.backend, x) == "triton":
                return self.linear(self._fused(x, vec, weights, edge_index) / self.avg_num_neighbors)
        sh = self.sh(vec)
        messages = self.tp(x.index_select(0, src), sh, weights)
        agg = messages.new_zeros(x.shape[0], messages.shape[1]).index_add(0, dst, messages)
        return self.linear(agg / self.avg_num_neighbors)

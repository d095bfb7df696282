"""Equivariant nonlinearities: :class:`Gate` (NequIP/e3nn) and :class:`NormActivation`.

Both work for O(3) irreps and, with ``group=``, for irreps of any workbench group (they only use the fact
that scalars are invariant and that a scalar times a feature, or a function of an invariant norm times a
feature, is equivariant). For non-compact groups (Lorentz) the Euclidean norm is *not* invariant, so
:class:`NormActivation` requires O(3) or a compact group; :class:`Gate` works for any group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from workbench.groups import Irreps, LieGroup, as_irreps

__all__ = ["Gate", "NormActivation"]

Act = Callable[[torch.Tensor], torch.Tensor]


def _acts(acts: Sequence[Act | None] | Act | None, n: int, name: str) -> list[Act | None]:
    if acts is None or callable(acts):
        return [acts] * n
    acts = list(acts)
    if len(acts) != n:
        raise ValueError(f"{name} has {len(acts)} entries; expected one per segment ({n})")
    return acts


class Gate(torch.nn.Module):
    """Gate nonlinearity: ``[scalars, gates, gated] -> [act(scalars), act_gate(gates) * gated]``.

    Input ``[..., scalars.dim + gates.dim + gated.dim]``; output ``[..., scalars.dim + gated.dim]`` with
    irreps ``irreps_scalars + irreps_gated``. ``irreps_gates`` must hold exactly one trivial scalar per
    gated irrep copy (``gates.num_irreps == gated.num_irreps``); copy ``c`` of the gated features is
    multiplied by gate ``c``. Activations are applied as given (no second-moment normalization).
    """

    def __init__(
        self,
        irreps_scalars: Any,
        act_scalars: Sequence[Act | None] | Act | None,
        irreps_gates: Any,
        act_gates: Sequence[Act | None] | Act | None,
        irreps_gated: Any,
        group: LieGroup | str | None = None,
    ) -> None:
        super().__init__()
        ss, sg, sd = as_irreps(irreps_scalars, group), as_irreps(irreps_gates, group), as_irreps(irreps_gated, group)
        for _, ir in sg:
            if not sg.is_trivial(ir):
                raise ValueError(f"irreps_gates must contain only trivial scalars (0e), got {ir}")
        self.act_scalars = _acts(act_scalars, len(ss), "act_scalars")
        probe = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)
        for (_, ir), act in zip(ss, self.act_scalars):
            if ss.is_trivial(ir):
                continue
            if ir.dim != 1 or getattr(ir, "p", None) != -1:
                raise ValueError(
                    f"irreps_scalars must contain only scalars (0e, or 0o with an odd activation), got {ir}"
                )
            if act is not None and not torch.allclose(act(-probe), -act(probe)):
                raise ValueError(f"irreps_scalars: {ir} (pseudo-scalar) needs an odd activation")
        n_gates = sum(m for m, _ in sg)
        n_gated = sum(m for m, _ in sd)
        if n_gates != n_gated:
            raise ValueError(f"irreps_gates has {n_gates} scalars but irreps_gated has {n_gated} irrep copies")
        self.irreps_scalars, self.irreps_gates, self.irreps_gated = ss, sg, sd
        self.act_gates = _acts(act_gates, len(sg), "act_gates")
        self._scalar_sizes = [m for m, _ in ss]
        self._gate_sizes = [m for m, _ in sg]
        self._gated = [(m, ir.dim) for m, ir in sd]
        self._dims = (ss.dim, sg.dim, sd.dim)
        space_in, space_out = _concat(ss, sg, sd), _concat(ss, sd)
        self.irreps_in = space_in
        self.irreps_out = space_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ds, dg, dd = self._dims
        if x.shape[-1] != ds + dg + dd:
            raise ValueError(f"x has last dimension {x.shape[-1]}; expected {ds + dg + dd} (scalars+gates+gated)")
        scalars, gates, gated = x.split([ds, dg, dd], dim=-1)
        outs = []
        for seg, act in zip(scalars.split(self._scalar_sizes, dim=-1), self.act_scalars):
            outs.append(act(seg) if act is not None else seg)
        gate_vals = [
            act(seg) if act is not None else seg for seg, act in zip(gates.split(self._gate_sizes, -1), self.act_gates)
        ]
        gate_vals = torch.cat(gate_vals, dim=-1) if gate_vals else gates
        offset = 0
        for (m, d), seg in zip(self._gated, gated.split([m * d for m, d in self._gated], dim=-1)):
            g = gate_vals[..., offset : offset + m]
            outs.append((seg.reshape(seg.shape[:-1] + (m, d)) * g[..., None].to(seg.dtype)).reshape(seg.shape))
            offset += m
        return torch.cat(outs, dim=-1) if outs else x[..., :0]


def _concat(*spaces: Any) -> Any:
    segs = [s for space in spaces for s in space]
    return Irreps(spaces[0].group, segs)


class NormActivation(torch.nn.Module):
    """``x_c -> x_c * f(|x_c| + b_c) / |x_c|`` per irrep copy ``c`` (``normalize=True``) or ``x_c * f(|x_c|)``.

    ``|x_c| = sqrt(sum_k x_ck^2 + eps^2)`` (smooth at 0). Input/output ``[..., irreps.dim]``. O(3) or compact
    groups only (the norm must be invariant). ``bias=True`` adds a learnable bias per copy.
    """

    def __init__(
        self,
        irreps: Any,
        scalar_nonlinearity: Act = torch.sigmoid,
        normalize: bool = True,
        epsilon: float = 1e-8,
        bias: bool = False,
        group: LieGroup | str | None = None,
    ) -> None:
        super().__init__()
        space = as_irreps(irreps, group)
        if space.is_complex:
            raise ValueError("NormActivation needs real irreps with an invariant Euclidean norm")
        self.irreps = space
        self.f, self.normalize, self.epsilon = scalar_nonlinearity, bool(normalize), float(epsilon)
        self._segs = [(m, ir.dim) for m, ir in space]
        n = sum(m for m, _ in self._segs)
        self.bias = torch.nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.irreps.dim:
            raise ValueError(f"x has last dimension {x.shape[-1]}; expected irreps.dim = {self.irreps.dim}")
        outs, offset = [], 0
        for (m, d), seg in zip(self._segs, x.split([m * d for m, d in self._segs], dim=-1)):
            v = seg.reshape(seg.shape[:-1] + (m, d))
            norm = torch.sqrt(v.pow(2).sum(-1) + self.epsilon**2)
            arg = norm if self.bias is None else norm + self.bias[offset : offset + m].to(x.dtype)
            scale = self.f(arg)
            if self.normalize:
                scale = scale / norm
            outs.append((v * scale[..., None]).reshape(seg.shape))
            offset += m
        return torch.cat(outs, dim=-1) if outs else x

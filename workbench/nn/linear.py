"""Equivariant linear layer: mixes multiplicities of equal irreps (e3nn 0.6 ``o3.Linear`` compatible).

``out[i_out]_{w k} = sum_{i_in -> i_out} c * sum_u W_{uw} x[i_in]_{u k}`` with ``c = 1/sqrt(fan_in)``
(``path_normalization="element"``: fan_in = total multiplicity feeding ``i_out``; ``"path"``: the multiplicity
of ``i_in`` times the number of paths... exactly e3nn's rule). Weights: one flat vector ``weight`` in
instruction order, each block ``[mul_in, mul_out]`` row-major; biases (scalars only): flat ``bias`` over the
biased output segments. Copying an e3nn ``Linear``'s ``weight`` and ``bias`` gives the same outputs.

For a generic group (``group=``), irreps are matched by label and the intertwiner is the identity (Schur):
the same weight layout; complex irreps need complex features, the weights stay real.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import LieGroup, as_irreps

__all__ = ["Linear"]


class Linear(torch.nn.Module):
    """Equivariant linear map ``[..., irreps_in.dim] -> [..., irreps_out.dim]``.

    Args:
        irreps_in, irreps_out: O(3) irreps (``"16x0e+8x1o"``) or irreps of ``group``.
        biases: ``True`` adds a learnable bias to every trivial (``0e``) output segment; or one bool per output
            segment (only trivial segments may be biased).
        instructions: optional list of ``(i_in, i_out)``; default: every pair with equal irreps.
        path_normalization: ``"element"`` (default) or ``"path"``, as e3nn.
        internal_weights / shared_weights: as e3nn; with ``shared_weights=False`` pass ``weight [..., numel]``.
        group: ``None`` for O(3), or a ``workbench.groups`` group.

    Examples:
        >>> import torch
        >>> from workbench.nn import Linear
        >>> lin = Linear("8x0e+8x1o", "4x0e+2x1o", biases=True)
        >>> lin.irreps_in, lin.irreps_out, lin.weight_numel
        (8x0e+8x1o, 4x0e+2x1o, 48)
        >>> lin(torch.randn(5, 32)).shape
        torch.Size([5, 10])
    """

    def __init__(
        self,
        irreps_in: Any,
        irreps_out: Any,
        biases: bool | Sequence[bool] = False,
        instructions: Sequence[tuple[int, int]] | None = None,
        path_normalization: str = "element",
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        group: LieGroup | str | None = None,
    ) -> None:
        super().__init__()
        if path_normalization not in ("element", "path"):
            raise ValueError(f"path_normalization={path_normalization!r}; expected 'element' or 'path'")
        s_in, s_out = as_irreps(irreps_in, group), as_irreps(irreps_out, group)
        self.irreps_in = s_in
        self.irreps_out = s_out
        if instructions is None:
            instructions = [
                (i, o)
                for i, (_, ir_i) in enumerate(s_in)
                for o, (_, ir_o) in enumerate(s_out)
                if ir_i == ir_o
            ]
        checked = []
        for ins in instructions:
            if not (isinstance(ins, (tuple, list)) and len(ins) == 2):
                raise ValueError(f"instruction {ins!r}: expected (i_in, i_out)")
            i, o = int(ins[0]), int(ins[1])
            if not 0 <= i < len(s_in) or not 0 <= o < len(s_out):
                raise ValueError(f"instruction {ins!r} out of range ({len(s_in)} inputs, {len(s_out)} outputs)")
            if s_in[i][1] != s_out[o][1]:
                raise ValueError(f"instruction {ins!r}: {s_in[i][1]} != {s_out[o][1]}")
            checked.append((i, o))

        def fan_in(i: int, o: int) -> int:
            if path_normalization == "element":
                x = sum(s_in[a][0] for a, b in checked if b == o)
            else:
                x = s_in[i][0] * len([1 for a, b in checked if b == o])
            return 1 if x == 0 else x

        self.instructions = [
            (i, o, s_in[i][0], s_out[o][0], fan_in(i, o) ** -0.5) for i, o in checked
        ]
        self.weight_numel = sum(mi * mo for _, _, mi, mo, _ in self.instructions)

        if isinstance(biases, bool):
            biases = [biases and s_out.is_trivial(ir) for _, ir in s_out]
        biases = list(biases)
        if len(biases) != len(s_out):
            raise ValueError(f"biases has {len(biases)} entries; expected one per output segment ({len(s_out)})")
        for b, (_, ir) in zip(biases, s_out):
            if b and not s_out.is_trivial(ir):
                raise ValueError(f"biases: only trivial (scalar, even) outputs can have a bias, not {ir}")
        self.biases = biases
        self.bias_numel = sum(mul * ir.dim for b, (mul, ir) in zip(biases, s_out) if b)

        if shared_weights is False and internal_weights is None:
            internal_weights = False
        if shared_weights is None:
            shared_weights = True
        if internal_weights is None:
            internal_weights = True
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights=True requires shared_weights=True")
        self.internal_weights, self.shared_weights = bool(internal_weights), bool(shared_weights)
        if self.internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_parameter("weight", None)
        if self.internal_weights and self.bias_numel > 0:
            self.bias = torch.nn.Parameter(torch.zeros(self.bias_numel))
        else:
            self.register_parameter("bias", None)
        self._in_sizes = [mul * ir.dim for mul, ir in s_in]
        self._out = [(mul, ir.dim) for mul, ir in s_out]
        self._dim_in, self._dim_out = s_in.dim, s_out.dim
        self._complex = s_in.is_complex or s_out.is_complex

    def __repr__(self) -> str:
        return (
            f"Linear({self.irreps_in} -> {self.irreps_out} | {self.weight_numel} weights"
            f"{f', {self.bias_numel} biases' if self.bias_numel else ''})"
        )

    def forward(
        self, x: torch.Tensor, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x [..., irreps_in.dim] -> [..., irreps_out.dim]``."""
        check_tensor(x, "x", shape=(..., self._dim_in), dtype="complex" if self._complex else None,
                     hint=self.irreps_in)
        if weight is None:
            if self.weight_numel > 0 and not self.internal_weights:
                raise ValueError(f"weight is required (external weights of size {self.weight_numel})")
            weight = self.weight
        elif self.shared_weights:
            check_tensor(weight, "weight", shape=(self.weight_numel,), hint="shared weights")
        else:
            check_tensor(weight, "weight", shape=(..., "B", self.weight_numel), hint="one weight row per sample")
        if bias is None:
            if self.bias_numel > 0 and not self.internal_weights:
                raise ValueError(f"bias is required (external biases of size {self.bias_numel})")
            bias = self.bias
        else:
            check_tensor(bias, "bias", shape=(..., self.bias_numel))

        batch = x.shape[:-1]
        x = x.reshape(-1, self._dim_in)
        n = x.shape[0]
        if weight is not None:
            weight = weight.to(x.dtype)
            if not self.shared_weights:
                weight = weight.expand(batch + (self.weight_numel,)).reshape(n, self.weight_numel)
        segments = x.split(self._in_sizes, dim=1)
        terms: list[list[torch.Tensor]] = [[] for _ in self._out]
        offset = 0
        for i, o, mi, mo, coef in self.instructions:
            mul_in, d = mi, self._out[o][1]
            xs = segments[i].reshape(n, mul_in, d)
            if self.shared_weights:
                w = weight[offset : offset + mi * mo].reshape(mi, mo) * coef
                y = torch.matmul(xs.transpose(1, 2), w).transpose(1, 2)  # [n, mo, d]
            else:
                w = weight[:, offset : offset + mi * mo].reshape(n, mi, mo) * coef
                y = torch.einsum("zui,zuw->zwi", xs, w)
            offset += mi * mo
            terms[o].append(y)
        outs, boff = [], 0
        for o, ((mul, d), ts) in enumerate(zip(self._out, terms)):
            if mul * d == 0:
                continue
            if ts:
                acc = ts[0]
                for t in ts[1:]:
                    acc = acc + t
                acc = acc.reshape(n, mul * d)
            else:
                acc = x.new_zeros(n, mul * d)
            if self.biases[o]:
                b = bias[..., boff : boff + mul * d].to(x.dtype)
                acc = acc + (b if self.shared_weights or b.dim() == 1 else b.reshape(n, mul * d))
                boff += mul * d
            outs.append(acc)
        if not outs:
            return x.new_zeros(batch + (0,))
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        return out.reshape(batch + (self._dim_out,))
